// reports.js - the "Reports" list in the sidebar: the comparison reports
// that `tinylm compare` wrote, as listed by GET /reports (newest first).
// Each entry links to its self-contained report.html, which opens in a new
// tab; the page builds the list with textContent only, since report names
// and titles come from files on the server.
import { t } from './i18n.js';

const pct = (x) => (typeof x === 'number' ? `${(100 * x).toFixed(0)}%` : '–');

function entry(r) {
  const li = document.createElement('li');
  li.className = 'report';
  li.dataset.name = r.name;
  const a = document.createElement('a');
  a.href = r.url;
  a.target = '_blank';
  a.rel = 'noopener';
  a.textContent = r.title && r.title !== 'tinylm model comparison' ? r.title : r.name;
  const meta = document.createElement('small');
  const figs = (r.headline || []).map((h) => `${h.target} ${pct(h.pass_rate)}`).join(' · ');
  meta.textContent = `${(r.date || '').replace('T', ' ').replace('Z', '')} ${figs}`.trim();
  li.append(a, meta);
  return li;
}

// Fills ul with the reports; a server without the route shows the message.
export async function loadReports(ul, apiKey) {
  ul.replaceChildren();
  try {
    const res = await fetch('reports', { headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {} });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const j = await res.json();
    const list = j.reports || [];
    if (!list.length) {
      const li = document.createElement('li');
      li.className = 'note';
      li.textContent = t('noReports');
      ul.append(li);
    }
    for (const r of list) ul.append(entry(r));
  } catch (e) {
    const li = document.createElement('li');
    li.className = 'note';
    li.textContent = t('error', e.message);
    ul.append(li);
  }
}
