// concurrency.mjs - eight streaming requests at once, each with its own
// prompt and seed, must give exactly the text each gave alone; and they
// must really have been batched (the decode steps of the concurrent phase
// hold several tokens each on average).
import OpenAI from "openai";
import { assert, check, done, URL_, metric, SAMPLED } from "./common.mjs";

const MODEL = process.env.MODEL_ID;
const client = new OpenAI({ baseURL: URL_ + "/v1", apiKey: "unused", maxRetries: 0, timeout: 120000 });
const N = 8;
const reqs = Array.from({ length: N }, (_, i) => ({
  model: MODEL, ...SAMPLED, seed: 1000 + i, max_tokens: 16 + 3 * i, ignore_eos: i % 2 === 0,
  messages: [{ role: "user", content: `Request number ${i}: ${"tell me a story ".repeat(1 + i)}` }],
  stream: true, stream_options: { include_usage: true },
}));

async function run(params) {
  let text = "", usage = null;
  for await (const c of await client.chat.completions.create(params)) {
    text += c.choices[0]?.delta?.content ?? "";
    if (c.usage) usage = c.usage;
  }
  return { text, usage };
}

const alone = [];
await check("each request alone", async () => {
  for (const r of reqs) alone.push(await run(r));
  assert.ok(alone.some((a) => a.text.length > 0));
});

await check("eight at once: same text as alone, batched decode steps", async () => {
  const steps0 = await metric("tinylm_decode_steps_total"), toks0 = await metric("tinylm_decode_tokens_total");
  const together = await Promise.all(reqs.map(run));
  const steps1 = await metric("tinylm_decode_steps_total"), toks1 = await metric("tinylm_decode_tokens_total");
  for (let i = 0; i < N; i++) {
    assert.equal(together[i].text, alone[i].text, `request ${i} differs`);
    assert.equal(together[i].usage.completion_tokens, alone[i].usage.completion_tokens);
  }
  const mean = (toks1 - toks0) / (steps1 - steps0);
  console.log(`     mean tokens per decode step while concurrent: ${mean.toFixed(2)}`);
  assert.ok(mean > 2.5, `mean batch ${mean} suggests no batching`);
  assert.equal(await metric("tinylm_requests_active"), 0);
});

done();
