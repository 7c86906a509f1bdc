// stats.js - the live figures beside an answer: time to first token,
// tokens per second, prompt and completion tokens, total time, and a
// sparkline of the time between tokens.  While streaming the figures are
// measured in the page (one SSE delta = one token, which is how the server
// streams); when the usage chunk arrives, the server's own counts and
// timings replace the estimates.
import { t } from './i18n.js';

export function newMeter() {
  return { t0: performance.now(), tFirst: 0, tLast: 0, tEnd: 0, n: 0, gaps: [],
    usage: null, timings: null };
}

export function meterToken(m) {
  const now = performance.now();
  if (!m.tFirst) m.tFirst = now;
  else m.gaps.push(now - m.tLast);
  m.tLast = now;
  m.n++;
}

export function meterUsage(m, usage, timings) {
  m.usage = usage;
  m.timings = timings;
}

export function meterEnd(m) {
  if (!m.tEnd) m.tEnd = performance.now();
}

// The figures as plain numbers (ms, tokens, tokens/s); null = unknown.
export function figures(m) {
  const now = m.tEnd || performance.now();
  const tm = m.timings || {};
  const ttft = tm.ttft_ms ?? (m.tFirst ? m.tFirst - m.t0 : null);
  const genMs = m.tLast && m.tFirst ? m.tLast - m.tFirst : 0;
  let tps = m.n > 1 && genMs > 0 ? ((m.n - 1) * 1000) / genMs : null;
  if (tm.predicted_per_second) tps = tm.predicted_per_second;
  return { ttft, tps, prompt: m.usage ? m.usage.prompt_tokens : null,
    completion: m.usage ? m.usage.completion_tokens : m.n, total: now - m.t0,
    gaps: m.gaps.slice(-200) };
}

const fmtMs = (v) => (v == null ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const fmtNum = (v, d = 1) => (v == null ? '–' : v.toFixed(d));
export { fmtMs, fmtNum };

// An inline SVG polyline of per-token latency; the y axis is scaled to the
// slowest gap so a stall stands out.
export function sparkline(gaps, w = 120, h = 24) {
  const pts = gaps.slice(-200);
  if (pts.length < 2) return `<svg class="spark" width="${w}" height="${h}" aria-hidden="true"></svg>`;
  const max = Math.max(...pts) || 1;
  const step = w / (pts.length - 1);
  const xy = pts.map((g, i) => `${(i * step).toFixed(1)},${(h - 1 - (g / max) * (h - 2)).toFixed(1)}`);
  return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" ` +
    `aria-label="per-token latency, max ${Math.round(max)} ms"><polyline fill="none" ` +
    `stroke="currentColor" stroke-width="1.2" points="${xy.join(' ')}"/></svg>`;
}

// Fills el with figures f (from figures(); called on every token, so it
// only builds a short string).
export function renderStats(el, f) {
  el.innerHTML =
    `<span class="fig" data-k="ttft">${t('ttft')} <b>${fmtMs(f.ttft)}</b></span>` +
    `<span class="fig" data-k="tps"><b>${fmtNum(f.tps)}</b> ${t('tps')}</span>` +
    `<span class="fig" data-k="prompt">${t('prompt')} <b>${f.prompt ?? '–'}</b></span>` +
    `<span class="fig" data-k="completion">${t('completion')} <b>${f.completion ?? '–'}</b></span>` +
    `<span class="fig" data-k="total">${t('total')} <b>${fmtMs(f.total)}</b></span>` +
    sparkline(f.gaps);
}
