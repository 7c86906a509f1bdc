// bad_requests.mjs - replays the malformed-request corpus (bad_requests/*.req,
// see its README) and a few generated ones (a body over --max-body, a prompt
// longer than the context), checking each status, the error object's shape
// and the field it names; then checks the server still serves.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { assert, check, done, URL_, getJson, postJson } from "./common.mjs";

const MODEL = process.env.MODEL_ID;
const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "bad_requests");

function checkShape(r, file) {
  const ollama = new URL(URL_ + r.path).pathname.startsWith("/api/");
  assert.ok(r.json, `${file}: the answer is not JSON: ${r.text.slice(0, 200)}`);
  assert.match(r.headers.get("content-type"), /application\/json/);
  if (ollama) {
    assert.equal(typeof r.json.error, "string", `${file}: Ollama error shape`);
    return null;
  }
  const e = r.json.error;
  assert.ok(e && typeof e.message === "string" && e.message.length > 0, `${file}: error.message`);
  assert.equal(typeof e.type, "string");
  assert.ok("param" in e && "code" in e, `${file}: error.param and error.code must be present`);
  return e;
}

const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".req")).sort();
await check(`corpus of ${files.length} malformed requests`, async () => {
  const bad = [];
  for (const f of files) {
    const raw = fs.readFileSync(path.join(DIR, f));
    const nl = raw.indexOf("\n\n");
    const [method, p, status, param] = raw.subarray(0, nl).toString().split(" ");
    const body = Buffer.from(raw.subarray(nl + 2).toString("latin1").replaceAll("MODEL", MODEL), "latin1");
    const res = await fetch(URL_ + p, { method, headers: { "Content-Type": "application/json" },
                                        body: method === "GET" ? undefined : body });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    const r = { status: res.status, headers: res.headers, text, json, path: p };
    try {
      assert.equal(r.status, Number(status), `${f}: status ${r.status}: ${text.slice(0, 300)}`);
      const e = checkShape(r, f);
      if (e && param !== "-") assert.equal(e.param, param, `${f}: param`);
      if (e && param === "-" && r.status === 400) assert.equal(e.param, null, `${f}: param`);
    } catch (err) {
      bad.push(err.message);
    }
    const h = await getJson("/health");
    if (h.status !== 200) bad.push(`${f}: /health answered ${h.status} afterwards`);
  }
  assert.deepEqual(bad, []);
});

await check("a body over --max-body is 413, declared or chunked", async () => {
  const big = JSON.stringify({ messages: [{ role: "user", content: "x".repeat(70000) }] });
  const r = await postJson("/v1/chat/completions", big);
  assert.equal(r.status, 413);
  assert.equal(checkShape({ ...r, path: "/v1/chat/completions" }, "413").type, "invalid_request_error");
  const o = await postJson("/api/chat", big);
  assert.equal(o.status, 413);
  assert.equal(typeof o.json.error, "string");
  // No Content-Length: a streamed (chunked) upload.
  const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(big)); c.close(); } });
  const res = await fetch(URL_ + "/v1/chat/completions", { method: "POST", body: stream, duplex: "half",
                                                           headers: { "Content-Type": "application/json" } });
  assert.equal(res.status, 413);
});

await check("a prompt longer than the context is 400 naming both lengths", async () => {
  const r = await postJson("/v1/chat/completions", { messages: [{ role: "user", content: "tok ".repeat(3000) }] });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.type, "exceed_context_size_error");
  assert.equal(r.json.error.code, "context_length_exceeded");
  const m = r.json.error.message.match(/the prompt has (\d+) tokens but the context holds (\d+)/);
  assert.ok(m, r.json.error.message);
  assert.ok(Number(m[1]) > 3000 && Number(m[2]) === 1024);
  const o = await postJson("/api/generate", { model: MODEL, prompt: "tok ".repeat(3000), stream: false });
  assert.equal(o.status, 400);
  assert.match(o.json.error, /context holds 1024/);
});

await check("the server still serves", async () => {
  assert.equal((await getJson("/health")).status, 200);
  const r = await postJson("/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.object, "chat.completion");
});

done();
