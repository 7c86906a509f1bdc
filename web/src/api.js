// api.js - the page's client for tinylm serve's OpenAI-compatible API:
// GET /v1/models and streaming POST /v1/chat/completions (server-sent
// events of chat.completion.chunk objects, ended by "data: [DONE]").
// Every request can be cancelled with an AbortController; the server sees
// the closed connection and stops generating.

function headers(apiKey) {
  const h = { 'Content-Type': 'application/json' };
  if (apiKey) h.Authorization = `Bearer ${apiKey}`;
  return h;
}

async function errorOf(res) {
  let msg = `HTTP ${res.status}`;
  try {
    const j = await res.json();
    if (j && j.error) msg = typeof j.error === 'string' ? j.error : j.error.message || msg;
  } catch {
    // Not JSON: the status line is all we have.
  }
  return new Error(msg);
}

// [{id, synthetic, meta}] in the server's order (the first is its default).
export async function listModels(apiKey) {
  const res = await fetch('v1/models', { headers: headers(apiKey) });
  if (!res.ok) throw await errorOf(res);
  const j = await res.json();
  return (j.data || []).map((m) => ({ id: m.id, synthetic: !!(m.meta && m.meta.synthetic),
    meta: m.meta || {} }));
}

// The request body: only the parameters the user set are sent, so the
// server's defaults apply to the rest.
export function chatBody(model, messages, p) {
  const body = { model, messages, stream: true, stream_options: { include_usage: true } };
  const num = (v) => (v === '' || v === null || v === undefined ? undefined : Number(v));
  const set = { temperature: num(p.temperature), top_p: num(p.top_p), top_k: num(p.top_k), min_p: num(p.min_p),
    max_tokens: num(p.max_tokens), seed: num(p.seed) };
  for (const [k, v] of Object.entries(set)) if (v !== undefined && !Number.isNaN(v)) body[k] = v;
  return body;
}

// Splits an SSE byte stream into the JSON payloads of its data: lines.
async function* sseEvents(body) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = ev.split('\n').filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart()).join('\n');
      if (data) yield data;
    }
  }
}

// Streams one answer.  on.delta(text) per content piece; on.usage(usage,
// timings) when the usage chunk arrives.  Resolves to {finish, aborted};
// rejects on HTTP or stream errors other than an abort.
export async function streamChat({ model, messages, params, apiKey, signal, on }) {
  let res;
  try {
    res = await fetch('v1/chat/completions', { method: 'POST', headers: headers(apiKey),
      body: JSON.stringify(chatBody(model, messages, params)), signal });
  } catch (e) {
    if (signal && signal.aborted) return { finish: 'abort', aborted: true };
    throw e;
  }
  if (!res.ok) throw await errorOf(res);
  let finish = null;
  try {
    for await (const data of sseEvents(res.body)) {
      if (data === '[DONE]') break;
      const c = JSON.parse(data);
      if (c.error) throw new Error(c.error.message || String(c.error));
      const ch = (c.choices || [])[0];
      if (ch && ch.delta && ch.delta.content) on.delta(ch.delta.content);
      if (ch && ch.finish_reason) finish = ch.finish_reason;
      if (c.usage) on.usage(c.usage, c.timings || null);
    }
  } catch (e) {
    if (signal && signal.aborted) return { finish: 'abort', aborted: true };
    throw e;
  }
  return { finish, aborted: false };
}
