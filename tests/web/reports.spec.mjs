// reports.spec.mjs - headless Chromium (playwright-core, Debian's chromium)
// renders a comparison report written by `tinylm compare`: the file opened
// from disk shows its tables, five inline SVG charts with bars, and the
// per-item view with both answers, model text escaped (an <img> in an
// answer stays text); then the chat page served by `tinylm serve
// --reports` lists the reports and its link opens one.  The expected
// numbers come from summary.json, which the shell test checked against
// the results files.
//   node reports.spec.mjs REPORT_DIR EVIL_REPORT_DIR BASE_URL SCREENSHOT_DIR
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [dir, evilDir, base, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
let failures = 0;
function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}
const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));

async function reportFromDisk(page) {
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(join(dir, 'report.html')).href);
  check(await page.title() === summary.report.title, 'report title');
  const charts = page.locator('svg.chart');
  check(await charts.count() === 5, 'five SVG charts');
  for (let i = 0; i < 5; i++) {
    const box = await charts.nth(i).boundingBox();
    check(box && box.width > 300 && box.height > 50, `chart ${i + 1} is laid out (${box && box.width}x${box && box.height})`);
  }
  const bars = await page.locator('svg.chart').first().locator('rect.bar').evaluateAll(
    (rs) => rs.map((r) => ({ w: parseFloat(r.getAttribute('width')), t: r.textContent })));
  const ref = bars.filter((b) => b.t.startsWith('reference'));
  check(ref.length > 0 && ref.every((b) => b.w > 400), 'pass-rate bars of the reference are full');
  const cells = await page.locator('#pass td[data-mark]').evaluateAll((tds) => tds.map((t) => t.dataset.mark));
  check(cells.includes('good') && cells.includes('bad'), 'pass table has ✅ and ❌ cells');
  const items = page.locator('details.item');
  check(await items.count() === summary.report.items_differing, `per-item view lists ${summary.report.items_differing} items`);
  const first = items.first();
  check(await first.locator('.answer').count() === 2, 'an item shows both answers');
  check(await first.locator('.answer.pass').count() === 1 && await first.locator('.answer.fail').count() === 1,
    'one answer passed, the other failed');
  check(requests.every((u) => u.startsWith('file:')), 'the report loads nothing from the network');
  await page.screenshot({ path: join(shots, 'compare-report.png'), fullPage: false });
  await first.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'compare-report-items.png') });
}

async function escaping(page) {
  await page.goto(pathToFileURL(join(evilDir, 'report.html')).href);
  check(await page.locator('details.item img').count() === 0, 'an <img> in an answer is not rendered');
  const text = await page.locator('details.item .answer.fail pre.raw').first().textContent();
  check(text.includes('<img src=x onerror=alert(1)>'), 'the answer is shown as text');
  check(await page.locator('details.item summary code').first().textContent() === 't/<1>', 'task id escaped');
}

async function webList(page) {
  await page.goto(base + '/');
  await page.waitForSelector('#report-list li.report', { timeout: 15000 });
  const names = await page.locator('#report-list li.report').evaluateAll((ls) => ls.map((l) => l.dataset.name));
  check(names.length === 2 && names[0] === 'zz-evil' && names[1] === '20260101-000000',
    `Reports view lists both reports, newest name first (${names})`);
  const link = page.locator('#report-list li.report[data-name="20260101-000000"] a');
  check(await link.getAttribute('href') === '/reports/20260101-000000/report.html', 'link to report.html');
  await page.screenshot({ path: join(shots, 'reports-view.png') });
  const [popup] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
  await popup.waitForLoadState();
  check(await popup.title() === summary.report.title, 'the link opens the report');
  check(await popup.locator('svg.chart').count() === 5, 'served report has its charts');
  await popup.close();
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await reportFromDisk(page);
  await escaping(page);
  await webList(page);
  check(errors.length === 0, `no page errors${errors.length ? `: ${errors.join('; ')}` : ''}`);
} finally {
  await browser.close();
}
if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('reports.spec: all checks passed');
