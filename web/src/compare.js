// compare.js - compare mode: one prompt to two models (or one model with
// two settings) at once.  chat.js streams both answers side by side; this
// module builds the two sides from the settings and the summary row that
// says which was faster to its first token, faster at generating, and
// which answer is longer.
import { t } from './i18n.js';
import { fmtMs, fmtNum } from './stats.js';

// The two sides of a compare turn.  Side B's empty fields take A's value,
// so "one model, two temperatures" is just B's temperature filled in.
export function compareSides(models, s) {
  const find = (id) => models.find((m) => m.id === id) || { id, synthetic: false };
  const pa = { temperature: s.temperature, top_p: s.top_p, top_k: s.top_k, min_p: s.min_p,
    max_tokens: s.max_tokens, seed: s.seed };
  const pb = { ...pa };
  for (const [k, v] of Object.entries(s.B || {})) if (v !== '' && v != null) pb[k] = v;
  const a = find(s.model), b = find(s.modelB || s.model);
  const sameModel = a.id === b.id;
  const diff = Object.keys(pb).filter((k) => String(pb[k]) !== String(pa[k]));
  const label = (p) => (sameModel ? diff.map((k) => `${k}=${p[k]}`).join(' ') || 'A' : '');
  return [
    { model: a.id, synthetic: a.synthetic, params: pa, label: label(pa) },
    { model: b.id, synthetic: b.synthetic, params: pb, label: sameModel ? label(pb) || 'B' : '' },
  ];
}

const nameOf = (a, i) => `${'AB'[i]}: ${a.model}${a.label ? ` (${a.label})` : ''}`;

// The summary lines for two finished answers ([] while either runs).
export function summaryLines(answers) {
  const [a, b] = answers;
  if (!a.fig || !b.fig) return [];
  const lines = [];
  const fa = a.fig, fb = b.fig;
  if (fa.ttft != null && fb.ttft != null) {
    const w = fa.ttft <= fb.ttft ? 0 : 1;
    lines.push(t('fasterFirst', nameOf(answers[w], w), fmtMs([fa, fb][w].ttft),
      fmtMs([fa, fb][1 - w].ttft)));
  }
  if (fa.tps != null && fb.tps != null) {
    const w = fa.tps >= fb.tps ? 0 : 1;
    lines.push(t('fasterGen', nameOf(answers[w], w), `${fmtNum([fa, fb][w].tps)} tok/s`,
      `${fmtNum([fa, fb][1 - w].tps)} tok/s`));
  }
  const na = fa.completion ?? 0, nb = fb.completion ?? 0;
  if (na === nb) lines.push(t('sameLength', na));
  else {
    const w = na > nb ? 0 : 1;
    lines.push(t('longer', nameOf(answers[w], w), Math.max(na, nb), Math.min(na, nb)));
  }
  return lines;
}

export function renderSummary(answers) {
  const box = document.createElement('div');
  box.className = 'summary';
  const lines = summaryLines(answers);
  if (!lines.length) return box;
  const h = document.createElement('b');
  h.textContent = `${t('summary')}: `;
  box.append(h);
  for (const l of lines) {
    const s = document.createElement('span');
    s.textContent = l;
    box.append(s);
  }
  return box;
}
