// proxy.mjs - used by ui.test.sh only while `tinylm serve` does not yet
// answer "/" with the chat page: serves the page web/build.mjs built and
// forwards every other request (the real API) to the server, streaming.
//   node proxy.mjs PAGE_FILE UPSTREAM_URL   -> prints "listening PORT"
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [page, upstream] = process.argv.slice(2);
const up = new URL(upstream);

http.createServer((req, res) => {
  if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(readFileSync(page));
    return;
  }
  const p = http.request({ host: up.hostname, port: up.port, path: req.url, method: req.method,
    headers: req.headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  p.on('error', () => res.destroy());
  res.on('close', () => p.destroy());
  req.pipe(p);
}).listen(0, '127.0.0.1', function () {
  console.log(`listening ${this.address().port}`);
});
