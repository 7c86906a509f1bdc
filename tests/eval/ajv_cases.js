// ajv_cases.js - builds JSON Schema test cases for the graders' validator
// and labels them with ajv, an independent implementation.  Reads the
// built-in suites (JSON task schemas with their reference values, tool
// parameter schemas with their expected arguments), derives valid and
// broken values, and prints one {"schema", "value", "valid"} line each.
// usage: node ajv_cases.js DATA_DIR > cases.jsonl
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

const dir = process.argv[2];
const ajv = new Ajv({ strict: false });
const read = (name) => fs.readFileSync(path.join(dir, 'suites', name + '.jsonl'), 'utf8')
  .split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => JSON.parse(l));

function referenceValue(text) {
  const m = text.match(/```json\n([\s\S]*?)```/);
  return JSON.parse(m ? m[1] : text);
}

function concrete(args) {
  const out = {};
  for (const [k, v] of Object.entries(args || {})) out[k] = v && v.$any ? v.$any[0] : v;
  return out;
}

function otherType(v) {
  if (typeof v === 'string') return 12345;
  if (typeof v === 'number') return 'x';
  if (typeof v === 'boolean') return 'yes';
  if (Array.isArray(v)) return {};
  return [];
}

// The value and a handful of ways to break it.
function variants(v) {
  const out = [v];
  const copy = () => JSON.parse(JSON.stringify(v));
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length) {
      let c = copy(); delete c[keys[0]]; out.push(c);
      c = copy(); c[keys[0]] = otherType(v[keys[0]]); out.push(c);
      c = copy(); c[keys[keys.length - 1]] = otherType(v[keys[keys.length - 1]]); out.push(c);
      for (const k of keys) {
        if (typeof v[k] === 'string') { c = copy(); c[k] = 'zz-not-valid'; out.push(c); break; }
      }
      for (const k of keys) {
        if (typeof v[k] === 'number') { c = copy(); c[k] = v[k] + 0.5; out.push(c); c = copy(); c[k] = -99; out.push(c); break; }
      }
    }
    const c = copy(); c.__extra = 1; out.push(c);
  } else if (Array.isArray(v)) {
    out.push([]);
    if (v.length) {
      let c = copy(); c.push(c[0]); out.push(c);
      c = copy(); c[0] = null; out.push(c);
      for (const sub of variants(v[0]).slice(1)) { c = copy(); c[0] = sub; out.push(c); }
    }
  }
  out.push(null, 'text', 7);
  return out;
}

const cases = [];
for (const suite of ['json', 'basics']) {
  for (const t of read(suite)) {
    if (t.grader !== 'json' || !t.schema) continue;
    for (const value of variants(referenceValue(t.reference))) cases.push([t.schema, value]);
  }
}
for (const t of read('tools')) {
  for (const tool of t.tools) {
    const params = tool.function.parameters;
    const args = t.expected && t.expected.name === tool.function.name ? concrete(t.expected.arguments) : {};
    for (const value of variants(args)) cases.push([params, value]);
  }
}
for (const [schema, value] of cases) {
  const valid = ajv.validate(schema, value);
  process.stdout.write(JSON.stringify({ schema, value, valid }) + '\n');
}
