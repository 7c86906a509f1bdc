// main.js - the page's wiring: settings form, model pickers, the list of
// conversations, the composer and its keys (Enter sends, Shift+Enter is a
// new line, Esc stops).  The logic lives in chat.js and compare.js.
import { listModels } from './api.js';
import { generate, isBusy, renderConversation, setBusyListener, stopAll } from './chat.js';
import { compareSides } from './compare.js';
import { lang, t } from './i18n.js';
import { loadReports } from './reports.js';
import { loadConversations, loadSettings, newConversation, saveConversations,
  saveSettings } from './store.js';

const $ = (id) => document.getElementById(id);
const DEFAULTS = { model: '', modelB: '', compare: false, system: '', temperature: '',
  top_p: '', top_k: '', min_p: '', max_tokens: '', seed: '', apiKey: '',
  B: { temperature: '', top_p: '', top_k: '', min_p: '', max_tokens: '', seed: '' } };
const PARAMS = ['temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'seed'];

const S = { convs: loadConversations(), cur: null, models: [], set: loadSettings(DEFAULTS) };
S.cur = S.convs[0] || null;

const ui = {
  save() {
    if (S.cur && !S.convs.includes(S.cur)) S.convs.unshift(S.cur);
    saveConversations(S.convs);
    renderList();
  },
  render() { renderConversation(ui, S.cur, $('messages')); scrollDown(); },
  lastCards() { return [...$('messages').lastElementChild.querySelectorAll('.answer')]; },
  send(text) { send(text); },
  regenerate() {
    const m = S.cur && S.cur.messages;
    if (!m || isBusy() || m[m.length - 1].role !== 'assistant') return;
    m.pop();
    run();
  },
};

function scrollDown() {
  const box = $('messages');
  box.scrollTop = box.scrollHeight;
}

function sides() {
  const s = S.set;
  if (s.compare) return compareSides(S.models, s);
  const m = S.models.find((x) => x.id === s.model) || { id: s.model, synthetic: false };
  const params = Object.fromEntries(PARAMS.map((k) => [k, s[k]]));
  return [{ model: m.id, synthetic: m.synthetic, params }];
}

async function run() {
  await generate(ui, S.cur, sides(), S.set.system, S.set.apiKey);
  scrollDown();
}

function send(text) {
  if (isBusy() || !text.trim()) return;
  if (!S.cur) S.cur = newConversation(S.set.compare ? 'compare' : 'chat');
  if (!S.cur.title) S.cur.title = text.trim().slice(0, 60);
  S.cur.messages.push({ role: 'user', content: text });
  $('input').value = '';
  run();
}

function renderList() {
  const ul = $('conv-list');
  ul.replaceChildren();
  for (const c of S.convs) {
    const li = document.createElement('li');
    li.className = c === S.cur ? 'active' : '';
    const b = document.createElement('button');
    b.className = 'conv-title';
    b.textContent = c.title || t('untitled');
    b.title = new Date(c.created).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en');
    b.addEventListener('click', () => { S.cur = c; renderList(); ui.render(); toggleSidebar(false); });
    const d = document.createElement('button');
    d.className = 'conv-del';
    d.textContent = '×';
    d.title = t('del');
    d.setAttribute('aria-label', t('del'));
    d.addEventListener('click', () => {
      if (isBusy() || !confirm(t('confirmDelete'))) return;
      S.convs = S.convs.filter((x) => x !== c);
      if (S.cur === c) S.cur = S.convs[0] || null;
      ui.save();
      ui.render();
    });
    li.append(b, d);
    ul.append(li);
  }
}

function toggleSidebar(open) {
  document.body.classList.toggle('side-open', open);
}

// The settings form: every input has data-key (a field of S.set, or
// "B.field" for compare side B) and is saved as typed.
function bindSettings() {
  for (const inp of document.querySelectorAll('[data-key]')) {
    const [a, b] = inp.dataset.key.split('.');
    const get = () => (b ? S.set[a][b] : S.set[a]);
    if (inp.type === 'checkbox') inp.checked = !!get();
    else inp.value = get() ?? '';
    inp.addEventListener(inp.tagName === 'SELECT' || inp.type === 'checkbox' ? 'change' : 'input', () => {
      const v = inp.type === 'checkbox' ? inp.checked : inp.value;
      if (b) S.set[a][b] = v; else S.set[a] = v;
      saveSettings(S.set);
      applyMode();
    });
  }
}

function applyMode() {
  document.body.classList.toggle('compare-mode', !!S.set.compare);
  const syn = S.models.filter((m) => m.synthetic).map((m) => m.id);
  const sel = [S.set.model, ...(S.set.compare ? [S.set.modelB] : [])];
  $('synth-note').hidden = !sel.some((id) => syn.includes(id));
}

function fillPicker(sel, current) {
  sel.replaceChildren();
  for (const m of S.models) {
    const o = document.createElement('option');
    o.value = m.id;
    o.textContent = m.synthetic ? `${m.id} (synthetic)` : m.id;
    sel.append(o);
  }
  sel.value = S.models.some((m) => m.id === current) ? current : (S.models[0] || {}).id || '';
  return sel.value;
}

async function loadModels() {
  $('status').textContent = t('loading');
  try {
    S.models = await listModels(S.set.apiKey);
    S.set.model = fillPicker($('model'), S.set.model);
    S.set.modelB = fillPicker($('modelB'), S.set.modelB || (S.models[1] || {}).id);
    $('status').textContent = S.models.length ? '' : t('noModels');
  } catch (e) {
    $('status').textContent = `${t('noModels')} ${e.message}`;
  }
  applyMode();
}

function translate() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll('[data-i18n-ph]')) e.placeholder = t(e.dataset.i18nPh);
  for (const e of document.querySelectorAll('[data-i18n-title]')) e.title = t(e.dataset.i18nTitle);
}

function bindKeys() {
  const input = $('input');
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send(input.value);
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && isBusy()) { e.preventDefault(); stopAll(); }
  });
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); send(input.value); });
  $('stop').addEventListener('click', stopAll);
  $('new-chat').addEventListener('click', () => {
    if (isBusy()) return;
    S.cur = null;
    renderList();
    ui.render();
    toggleSidebar(false);
    input.focus();
  });
  $('menu').addEventListener('click', () => toggleSidebar(!document.body.classList.contains('side-open')));
  $('shade').addEventListener('click', () => toggleSidebar(false));
  $('settings-btn').addEventListener('click', () => { $('settings').hidden = !$('settings').hidden; });
}

setBusyListener(() => {
  const busy = isBusy();
  $('send').hidden = busy;
  $('stop').hidden = !busy;
  document.body.classList.toggle('busy', busy);
});

translate();
bindSettings();
bindKeys();
renderList();
ui.render();
loadModels();
loadReports($('report-list'), S.set.apiKey);
$('reports-refresh').addEventListener('click', () => loadReports($('report-list'), S.set.apiKey));
