// raw_socket.mjs - what no HTTP client library would send: truncated and
// garbage requests, broken framing, huge headers, abandoned connections,
// pipelining, random bytes.  Each goes over its own TCP connection; the
// server may answer with an error or close, but must never hang the
// others, crash, or stop answering /health.
import net from "node:net";
import { assert, check, done, URL_, getJson, postJson } from "./common.mjs";

const { hostname: HOST, port: PORT } = new URL(URL_);

// Sends the chunks (with pauses), then waits for the server to close or for
// ms; returns what came back.  end: half-close after sending.
function exchange(chunks, { ms = 3000, end = false, pause = 0 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(Number(PORT), HOST);
    const got = [];
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(got).toString("latin1"));
    };
    const timer = setTimeout(finish, ms);
    s.on("data", (d) => got.push(d));
    s.on("close", finish);
    s.on("error", finish);
    s.on("connect", async () => {
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        if (pause) await new Promise((r) => setTimeout(r, pause));
      }
      if (end) s.end();
    });
  });
}

const status = (resp) => Number((resp.match(/^HTTP\/1\.[01] (\d{3})/) || [])[1] || 0);
const healthy = async () => assert.equal((await getJson("/health")).status, 200);

await check("garbage and truncated request lines", async () => {
  const cases = [
    "\x00\x01\x02\xff\xfe garbage\r\n\r\n",
    "POST /v1/chat/completions HTT",
    "GET\r\n\r\n",
    "GET / HTTP/9.9\r\n\r\n",
    "GET /health HTTP/1.1\r\nHost: x\r\nNo-colon-header\r\n\r\n",
    "\r\n\r\n\r\n",
    "BREW /coffee HTCPCP/1.0\r\n\r\n",
  ];
  for (const c of cases) {
    const r = await exchange([c], { ms: 1500, end: true });
    const st = status(r);
    assert.ok(st === 0 || st >= 400, `${JSON.stringify(c)} answered ${st}`);
    await healthy();
  }
});

await check("broken framing: short body, bad Content-Length, bad chunks", async () => {
  const head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  const cases = [
    head + "Content-Length: 100\r\n\r\n{\"messages\":",            // then the client leaves
    head + "Content-Length: abc\r\n\r\n{}",
    head + "Content-Length: -5\r\n\r\n{}",
    head + "Content-Length: 99999999999999999999999\r\n\r\n{}",
    head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    head + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"mes",          // then the client leaves
    head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
  ];
  for (const c of cases) {
    const r = await exchange([c], { ms: 1500, end: true });
    const st = status(r);
    assert.ok(st === 0 || st >= 400, `${JSON.stringify(c.slice(head.length))} answered ${st}`);
    await healthy();
  }
});

await check("a declared oversized body is refused before it is sent", async () => {
  const r = await exchange(["POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"],
                           { ms: 3000 });
  assert.equal(status(r), 413, r.slice(0, 200));
  assert.match(r, /"code":"body_too_large"/);
});

await check("huge headers", async () => {
  const r = await exchange([`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(200000)}\r\n\r\n`], { ms: 3000 });
  const st = status(r);
  assert.ok(st === 0 || st >= 400, `answered ${st}`);
  await healthy();
});

await check("a valid chunked upload works, and pipelined requests all get answers", async () => {
  const body = JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
  const chunked = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n` +
                  `Content-Type: application/json\r\nConnection: close\r\n\r\n` +
                  `${(10).toString(16)}\r\n${body.slice(0, 10)}\r\n${(body.length - 10).toString(16)}\r\n${body.slice(10)}\r\n0\r\n\r\n`;
  const r = await exchange([chunked], { ms: 20000 });
  assert.equal(status(r), 200, r.slice(0, 300));
  assert.match(r, /"object":"chat.completion"/);
  const one = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const p = await exchange([one + one + one.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")], { ms: 5000 });
  assert.equal((p.match(/HTTP\/1\.1 200/g) || []).length, 3, p);
});

await check("abandoned half-open connections do not block others", async () => {
  const socks = [];
  for (let i = 0; i < 40; i++) {
    const s = net.connect(Number(PORT), HOST);
    s.on("error", () => {});
    s.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le");
    socks.push(s);
  }
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  await healthy();
  const r = await postJson("/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
  assert.equal(r.status, 200);
  assert.ok(Date.now() - t0 < 10000);
  for (const s of socks) s.destroy();
});

await check("300 random byte strings", async () => {
  let x = 0x9e3779b9;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const prefixes = ["", "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n",
                    "GET /api/tags HTTP/1.1\r\n", "POST /api/chat HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"];
  const pending = [];
  for (let i = 0; i < 300; i++) {
    const n = 1 + (rnd() * rnd()) % 600;
    const bytes = Buffer.from(Array.from({ length: n }, rnd));
    pending.push(exchange([Buffer.concat([Buffer.from(prefixes[i % 4]), bytes])], { ms: 1000, end: i % 2 === 0 }));
    if (pending.length === 20) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await healthy();
});

await check("the server still generates", async () => {
  const r = await postJson("/v1/chat/completions", { messages: [{ role: "user", content: "still?" }], max_tokens: 3 });
  assert.equal(r.status, 200, r.text);
});

done();
