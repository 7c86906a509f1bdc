// disconnect.mjs - on a server with one slot and a queue of one: a client
// that disconnects mid-stream (or while waiting for a whole answer) frees
// the slot at once and its generation stops; a request beyond the slot and
// the queue gets 429 with Retry-After, as the openai client's
// RateLimitError; the queued request then runs.
import OpenAI from "openai";
import { assert, check, done, URL_, metric, sleep } from "./common.mjs";

const MODEL = process.env.MODEL_ID;
const client = new OpenAI({ baseURL: URL_ + "/v1", apiKey: "unused", maxRetries: 0, timeout: 60000 });
const endless = { model: MODEL, max_tokens: 1000000, ignore_eos: true,
                  messages: [{ role: "user", content: "Never stop." }] };

async function until(what, fn, ms = 5000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fn()) return Date.now() - t0;
    await sleep(20);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

// Starts an endless stream and returns once `chunks` content chunks arrived.
async function openStream(chunks) {
  const ac = new AbortController();
  const r = await fetch(URL_ + "/v1/chat/completions", {
    method: "POST", signal: ac.signal, headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...endless, stream: true }),
  });
  assert.equal(r.status, 200);
  const reader = r.body.getReader();
  let seen = 0;
  while (seen < chunks) {
    const { value, done: end } = await reader.read();
    if (end) throw new Error("stream ended early");
    seen += (new TextDecoder().decode(value).match(/"content":"/g) || []).length;
  }
  return { ac, reader };
}

await check("a disconnect mid-stream frees the slot and stops generating", async () => {
  const s = await openStream(3);
  assert.equal(await metric("tinylm_requests_active"), 1);
  s.ac.abort();
  const ms = await until("the slot to be free", async () => (await metric("tinylm_requests_active")) === 0);
  console.log(`     slot free ${ms} ms after the disconnect`);
  const g0 = await metric("tinylm_generated_tokens_total");
  await sleep(300);
  assert.equal(await metric("tinylm_generated_tokens_total"), g0, "tokens still being generated");
  const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "next" }], max_tokens: 2 });
  assert.ok(r.timings.queue_ms < 1000, `the next request waited ${r.timings.queue_ms} ms for a slot`);
});

await check("a client waiting for a whole answer that leaves is cancelled too", async () => {
  const ac = new AbortController();
  const p = fetch(URL_ + "/v1/chat/completions", { method: "POST", signal: ac.signal,
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(endless) }).catch(() => null);
  await until("generation to start", async () => (await metric("tinylm_requests_active")) === 1);
  ac.abort();
  await p;
  await until("the slot to be free", async () => (await metric("tinylm_requests_active")) === 0);
});

await check("beyond slot and queue: 429 with Retry-After; the queued request then runs", async () => {
  const s = await openStream(2);
  const queued = client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "wait" }], max_tokens: 3 });
  await until("a queued request", async () => (await metric("tinylm_requests_queued")) === 1);
  const raw = await fetch(URL_ + "/v1/chat/completions", { method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }] }) });
  assert.equal(raw.status, 429);
  assert.ok(Number(raw.headers.get("retry-after")) >= 1);
  assert.equal((await raw.json()).error.type, "rate_limit_error");
  try {
    await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }] });
    throw new Error("no error");
  } catch (e) {
    assert.ok(e instanceof OpenAI.RateLimitError, `${e.constructor.name}: ${e.message}`);
  }
  s.ac.abort();
  const r = await queued;
  assert.ok(r.usage.completion_tokens <= 3);
  assert.ok(r.timings.queue_ms > 0);
});

done();
