// chat.js - the conversation view and the generation of answers.
//
// A conversation is a list of messages: {role:'user', content} and
// {role:'assistant', answers:[...]}.  An assistant turn holds one answer in
// chat mode and two in compare mode (see compare.js); side i of later
// turns sees answers[i] of earlier ones as its history, so each model
// continues its own thread.  Answers stream concurrently; stop() aborts
// every running request.
import { streamChat } from './api.js';
import { t } from './i18n.js';
import { liveRenderer, renderMarkdown } from './render.js';
import { figures, meterEnd, meterToken, meterUsage, newMeter, renderStats } from './stats.js';
import { renderSummary } from './compare.js';

const running = new Set();   // AbortControllers of the requests in flight
let onBusyChange = () => {};
export function setBusyListener(fn) { onBusyChange = fn; }
export const isBusy = () => running.size > 0;

export function stopAll() {
  for (const c of running) c.abort();
}

// The messages that side `side` sends: system prompt, then each turn with
// that side's answer (an unfinished or failed answer is left out).
export function historyFor(conv, upto, side, system) {
  const out = system ? [{ role: 'system', content: system }] : [];
  for (const m of conv.messages.slice(0, upto)) {
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    else {
      const a = m.answers[Math.min(side, m.answers.length - 1)];
      if (a && a.content && !a.error) out.push({ role: 'assistant', content: a.content });
    }
  }
  return out;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function answerCard(a) {
  const card = el('div', 'answer');
  const head = el('div', 'answer-head');
  head.append(el('span', 'model-name', a.label ? `${a.model} · ${a.label}` : a.model));
  card.append(head);
  if (a.synthetic) card.append(el('div', 'synth-badge', t('synthetic')));
  const body = el('div', 'body');
  renderMarkdown(body, a.content);
  card.append(body);
  if (a.error) card.append(el('div', 'error', t('error', a.error)));
  if (a.finish === 'abort') card.append(el('div', 'note stopped', t('stopped')));
  const stats = el('div', 'stats');
  const f = a.meter ? figures(a.meter) : a.fig;
  if (f) renderStats(stats, f);
  card.append(stats);
  return card;
}

function userBubble(ui, conv, idx) {
  const m = conv.messages[idx];
  const wrap = el('div', 'msg user');
  const bubble = el('div', 'bubble', m.content);
  const edit = el('button', 'link edit', t('edit'));
  edit.type = 'button';
  edit.disabled = isBusy();
  edit.addEventListener('click', () => {
    const ta = el('textarea', 'edit-box');
    ta.value = m.content;
    const ok = el('button', 'primary', t('resend'));
    const no = el('button', '', t('cancel'));
    wrap.replaceChildren(ta, el('div', 'row', ''));
    wrap.lastChild.append(ok, no);
    ta.focus();
    no.addEventListener('click', () => ui.render());
    ok.addEventListener('click', () => {
      if (!ta.value.trim() || isBusy()) return;
      conv.messages.splice(idx);
      ui.send(ta.value);
    });
  });
  wrap.append(bubble, edit);
  return wrap;
}

function assistantTurn(ui, conv, idx) {
  const m = conv.messages[idx];
  const wrap = el('div', `msg assistant${m.answers.length > 1 ? ' compare' : ''}`);
  const grid = el('div', 'answers');
  m.answers.forEach((a) => grid.append(answerCard(a)));
  wrap.append(grid);
  if (m.answers.length === 2) wrap.append(renderSummary(m.answers));
  if (idx === conv.messages.length - 1 && !isBusy()) {
    const re = el('button', 'link regen', t('regenerate'));
    re.type = 'button';
    re.addEventListener('click', () => ui.regenerate());
    wrap.append(re);
  }
  return wrap;
}

export function renderConversation(ui, conv, box) {
  box.replaceChildren();
  if (!conv || !conv.messages.length) {
    box.append(el('div', 'empty', t('empty')));
    return;
  }
  conv.messages.forEach((m, i) =>
    box.append(m.role === 'user' ? userBubble(ui, conv, i) : assistantTurn(ui, conv, i)));
}

// Streams one answer into its card.  The meter is kept off the saved
// object's JSON (figures are saved as plain numbers at the end).
async function runAnswer(a, card, req, apiKey, ctl) {
  const meter = newMeter();
  Object.defineProperty(a, 'meter', { value: meter, enumerable: false, writable: true });
  const body = card.querySelector('.body');
  const stats = card.querySelector('.stats');
  const draw = liveRenderer(body);
  card.classList.add('streaming');
  try {
    const r = await streamChat({ ...req, apiKey, signal: ctl.signal, on: {
      delta(s) {
        a.content += s;
        meterToken(meter);
        draw(a.content);
        renderStats(stats, figures(meter));
      },
      usage(u, tm) { meterUsage(meter, u, tm); },
    } });
    a.finish = r.finish;
  } catch (e) {
    a.error = e.message || String(e);
  } finally {
    meterEnd(meter);
    a.fig = figures(meter);
    renderStats(stats, a.fig);
    running.delete(ctl);
    card.classList.remove('streaming');
    onBusyChange();
  }
}

// Generates the assistant turn for the conversation's last user message.
// sides: [{model, synthetic, params, label}], one or two.
export async function generate(ui, conv, sides, system, apiKey) {
  const turn = { role: 'assistant', answers: sides.map((s) => ({ model: s.model,
    synthetic: s.synthetic, label: s.label || '', content: '', finish: null, error: null })) };
  const upto = conv.messages.length;
  // Busy before the first render, so that render shows no edit or
  // regenerate buttons for the turn being generated.
  const ctls = sides.map(() => new AbortController());
  for (const c of ctls) running.add(c);
  onBusyChange();
  conv.messages.push(turn);
  ui.save();
  ui.render();
  const cards = ui.lastCards();
  await Promise.all(sides.map((s, i) => runAnswer(turn.answers[i], cards[i], {
    model: s.model, messages: historyFor(conv, upto, i, system), params: s.params }, apiKey,
    ctls[i])));
  ui.save();
  ui.render();
}
