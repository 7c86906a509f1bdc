// ollama_client.mjs - the `ollama` npm client against tinylm serve.  The
// reference for generated text is the OpenAI endpoint of the same server
// with the same settings (and, through openai_client.mjs, `tinylm run`), so
// these checks pin down the translation of Ollama's fields: options,
// num_predict, stop, system, raw, and the nanosecond figures.
import { Ollama } from "ollama";
import { assert, check, done, URL_, postJson, SAMPLED } from "./common.mjs";

const QWEN_ID = process.env.QWEN_ID;
const ollama = new Ollama({ host: URL_ });
const opts = { temperature: SAMPLED.temperature, top_k: 0, top_p: 1, min_p: 0 };

async function openaiChat(messages, seed, max_tokens, extra = {}) {
  const r = await postJson("/v1/chat/completions",
    { model: QWEN_ID, messages, ...SAMPLED, seed, max_tokens, ...extra });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

function checkFinal(r) {
  assert.equal(r.done, true);
  for (const k of ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
                   "eval_count", "eval_duration"])
    assert.ok(Number.isInteger(r[k]) && r[k] >= 0, `${k} = ${r[k]}`);
  assert.ok(r.prompt_eval_count > 0);
  assert.ok(r.total_duration >= r.prompt_eval_duration + r.eval_duration,
            "total_duration is shorter than its parts");
  assert.ok(r.prompt_eval_duration > 0);
  assert.ok(typeof r.timings === "object" && typeof r.tinylm === "object");
}

await check("version, tags and show describe the served models", async () => {
  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+/);
  const tags = await ollama.list();
  const names = tags.models.map((m) => m.name);
  assert.ok(names.includes(QWEN_ID), names.join(","));
  const q = tags.models.find((m) => m.name === QWEN_ID);
  assert.equal(q.details.family, "qwen2");
  assert.equal(q.details.quantization_level, "Q8_0");
  assert.ok(q.size > 1e6);
  const s = await ollama.show({ model: QWEN_ID });
  assert.match(s.template, /im_start/);
  assert.equal(s.model_info["general.architecture"], "qwen2");
  assert.equal(s.model_info["qwen2.context_length"], 4096);
  assert.match(s.parameters, /temperature 0\.8/);
  // Ollama clients add ":latest" to bare names.
  const s2 = await ollama.show({ model: QWEN_ID + ":latest" });
  assert.equal(s2.details.family, "qwen2");
});

await check("chat: same text and counts as the OpenAI endpoint; figures in ns", async () => {
  const messages = [{ role: "user", content: "Describe a cat." }];
  const r = await ollama.chat({ model: QWEN_ID, messages, options: { ...opts, seed: 9, num_predict: 10 } });
  const ref = await openaiChat(messages, 9, 10);
  assert.equal(r.message.role, "assistant");
  assert.equal(r.message.content, ref.choices[0].message.content);
  assert.equal(r.eval_count, ref.usage.completion_tokens);
  assert.equal(r.prompt_eval_count, ref.usage.prompt_tokens);
  assert.equal(r.done_reason, ref.choices[0].finish_reason);
  checkFinal(r);
  assert.equal(r.tinylm.seed, 9);
});

await check("chat stream: NDJSON parts add up to the whole answer", async () => {
  const messages = [{ role: "system", content: "Be short." }, { role: "user", content: "Hi there" }];
  const whole = await ollama.chat({ model: QWEN_ID, messages, options: { ...opts, seed: 2, num_predict: 12 } });
  const parts = [];
  for await (const p of await ollama.chat({ model: QWEN_ID, messages, stream: true,
                                            options: { ...opts, seed: 2, num_predict: 12 } }))
    parts.push(p);
  assert.ok(parts.length >= 2);
  assert.ok(parts.slice(0, -1).every((p) => p.done === false && p.eval_count === undefined));
  assert.equal(parts.map((p) => p.message.content).join(""), whole.message.content);
  const last = parts[parts.length - 1];
  checkFinal(last);
  assert.equal(last.eval_count, whole.eval_count);
});

await check("generate: templated like chat, raw like /v1/completions, system honoured", async () => {
  const g = await ollama.generate({ model: QWEN_ID, prompt: "Name a color", system: "One word.",
                                    options: { ...opts, seed: 5, num_predict: 8 } });
  const ref = await openaiChat([{ role: "system", content: "One word." }, { role: "user", content: "Name a color" }], 5, 8);
  assert.equal(g.response, ref.choices[0].message.content);
  checkFinal(g);
  const raw = await ollama.generate({ model: QWEN_ID, prompt: "Once upon a time", raw: true,
                                      options: { ...opts, seed: 5, num_predict: 8 } });
  const c = await postJson("/v1/completions", { model: QWEN_ID, prompt: "Once upon a time", ...SAMPLED, seed: 5, max_tokens: 8 });
  assert.equal(raw.response, c.json.choices[0].text);
  let streamed = "";
  for await (const p of await ollama.generate({ model: QWEN_ID, prompt: "Once upon a time", raw: true, stream: true,
                                                options: { ...opts, seed: 5, num_predict: 8 } }))
    streamed += p.response;
  assert.equal(streamed, raw.response);
});

await check("stop option and num_predict", async () => {
  const full = await ollama.generate({ model: QWEN_ID, prompt: "abc", raw: true,
                                       options: { ...opts, seed: 31, num_predict: 20 } });
  const cps = [...full.response];
  assert.ok(cps.length >= 6, JSON.stringify(full.response));
  const stop = cps.slice(3, 5).join("");
  const r = await ollama.generate({ model: QWEN_ID, prompt: "abc", raw: true,
                                    options: { ...opts, seed: 31, num_predict: 20, stop: [stop] } });
  assert.equal(r.response, full.response.slice(0, full.response.indexOf(stop)));
  assert.equal(r.done_reason, "stop");
});

await check("empty messages or prompt only load the model", async () => {
  const r = await ollama.chat({ model: QWEN_ID, messages: [] });
  assert.equal(r.done_reason, "load");
  const g = await ollama.generate({ model: QWEN_ID, prompt: "" });
  assert.equal(g.done_reason, "load");
});

await check("errors come back as ResponseError with the right status", async () => {
  const bad = async (fn, status, re) => {
    try {
      await fn();
    } catch (e) {
      assert.equal(e.name, "ResponseError", `${e.name}: ${e.message}`);
      assert.equal(e.status_code, status);
      assert.match(e.error, re);
      return;
    }
    throw new Error("no error raised");
  };
  await bad(() => ollama.chat({ model: "missing", messages: [{ role: "user", content: "x" }] }), 404, /not served/);
  await bad(() => ollama.chat({ model: QWEN_ID, messages: [{ role: "user", content: "x" }], options: { temperature: "warm" } }),
            400, /options\.temperature/);
  await bad(() => ollama.generate({ model: QWEN_ID, prompt: "x", options: { num_ctx: 100000 } }), 400, /num_ctx/);
  await bad(() => ollama.generate({ model: QWEN_ID, prompt: "x", format: "xml" }), 400, /format/);
  await bad(() => ollama.show({ model: "missing" }), 404, /not served/);
  const raw = await postJson("/api/chat", "{not json");
  assert.equal(raw.status, 400);
  assert.equal(typeof raw.json.error, "string");
});

done();
