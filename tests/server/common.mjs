// common.mjs - helpers shared by the server test scripts: named checks that
// report and count failures, the server URL from the environment, the CLI
// as a reference generator, and raw HTTP with fetch.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

export { assert };
export const URL_ = process.env.URL;
export const CLI = process.env.TLM_CLI;
if (!URL_) throw new Error("URL is not set");

let failures = 0;
let count = 0;

// Runs fn (sync or async); a thrown error is one failed check, reported with
// its name, and the script goes on so one run shows every failure.
export async function check(name, fn) {
  count++;
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

export function done() {
  console.log(`${count - failures} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

// Text that `tinylm run` prints for the same request: the engine's own
// generation loop (tlm_generate), a reference independent of the server's
// scheduler.  Sampled with every truncation off (SAMPLED below), so the
// text varies even on a random-weight model and any difference in prompt,
// logits or sampler state shows.
export const SAMPLED = { temperature: 1.5, top_k: 0, top_p: 1, min_p: 0 };
export function cliRun(model, prompt, n, { raw = false, system = null, seed = 1 } = {}) {
  const args = ["run", model, "--temp", String(SAMPLED.temperature), "--top-k", "0", "--top-p", "1",
                "--min-p", "0", "--seed", String(seed), "-n", String(n), "-t", "1"];
  if (raw) args.push("--raw");
  if (system) args.push("--system", system);
  args.push(prompt);
  return execFileSync(CLI, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

export async function postJson(path, body, headers = {}) {
  const r = await fetch(URL_ + path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

export async function getJson(path, headers = {}) {
  const r = await fetch(URL_ + path, { headers });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

// The value of a Prometheus sample line "name{labels} value", or null.
export async function metric(name, labelPart = "") {
  const r = await fetch(URL_ + "/metrics");
  const text = await r.text();
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    if (labelPart && !line.includes(labelPart)) continue;
    return Number(line.split(" ").pop());
  }
  return null;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Timings and usage must be present, numeric and consistent.
export function checkReport(obj, { maxTokens = null } = {}) {
  const u = obj.usage;
  assert.ok(u, "usage missing");
  for (const k of ["prompt_tokens", "completion_tokens", "total_tokens"])
    assert.equal(typeof u[k], "number", `usage.${k}`);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.equal(typeof u.prompt_tokens_details.cached_tokens, "number");
  assert.ok(u.prompt_tokens_details.cached_tokens <= u.prompt_tokens);
  if (maxTokens !== null) assert.ok(u.completion_tokens <= maxTokens, "more tokens than max_tokens");
  const t = obj.timings;
  assert.ok(t, "timings missing");
  for (const k of ["prompt_n", "prompt_ms", "prompt_per_second", "predicted_n", "predicted_ms",
                   "predicted_per_second", "cache_n"])
    assert.equal(typeof t[k], "number", `timings.${k}`);
  assert.equal(t.predicted_n, u.completion_tokens);
  assert.equal(t.prompt_n + t.cache_n, u.prompt_tokens);
  if (u.completion_tokens > 0) assert.ok(t.ttft_ms > 0, "ttft_ms");
  assert.ok(obj.tinylm && typeof obj.tinylm.seed === "number", "effective settings missing");
}
