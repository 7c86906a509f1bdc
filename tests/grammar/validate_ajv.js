#!/usr/bin/env node
// validate_ajv.js - the independent judge of tinylm's grammar outputs: ajv
// (with ajv-formats, full mode) validates each generated document against its
// JSON Schema.  The grammar engine never validates its own output.
//
//   node validate_ajv.js --schema S.json --outputs OUT.jsonl
//       OUT.jsonl holds one JSON string per line (a generated document);
//       exits 1 unless every line parses as JSON and validates.
//   node validate_ajv.js --bench RECORDS.jsonl
//       records from `tinylm grammar --jsonschemabench`; prints, per subset,
//       the share of schemas compiled and of outputs that validate.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "../..");
const need = (m) => require(require.resolve(m, { paths: [root] }));
const addFormats = need("ajv-formats");

// The Ajv class for the schema's draft; $schema is then dropped so ajv does
// not try to fetch or resolve the meta-schema URL.
function compile(schema) {
  const s = typeof schema === "object" && schema !== null ? { ...schema } : schema;
  const draft = (s && typeof s.$schema === "string" && s.$schema) || "";
  let Ajv;
  if (/draft-0[34]/.test(draft)) Ajv = need("ajv-draft-04");
  else if (/2019-09/.test(draft)) Ajv = need("ajv/dist/2019");
  else if (/2020-12/.test(draft)) Ajv = need("ajv/dist/2020");
  else Ajv = need("ajv");
  if (Ajv.default) Ajv = Ajv.default;
  if (s && typeof s === "object") delete s.$schema;
  const ajv = new Ajv({ strict: false, logger: false, validateFormats: true, allowUnionTypes: true });
  addFormats(ajv);
  return ajv.compile(s);
}

function check(validate, text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return "not JSON: " + e.message;
  }
  if (validate(doc)) return null;
  return JSON.stringify(validate.errors.slice(0, 2));
}

function outputsMode(schemaFile, outFile) {
  const validate = compile(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
  const lines = fs.readFileSync(outFile, "utf8").split("\n").filter((l) => l.length);
  let bad = 0;
  for (const line of lines) {
    const text = JSON.parse(line);
    const why = check(validate, text);
    if (why) {
      if (bad++ < 3) console.error(`INVALID ${path.basename(schemaFile)}: ${why}\n  ${text.slice(0, 300)}`);
    }
  }
  console.log(`${path.basename(schemaFile)}: ${lines.length - bad}/${lines.length} valid`);
  return lines.length > 0 && bad === 0;
}

function benchMode(file) {
  const subsets = new Map();
  const get = (n) => {
    if (!subsets.has(n)) subsets.set(n, { schemas: 0, compiled: 0, ajvSkipped: 0, outputs: 0, valid: 0, failedIds: [] });
    return subsets.get(n);
  };
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const r = JSON.parse(line);
    const s = get(r.subset);
    s.schemas++;
    if (!r.compiled) continue;
    s.compiled++;
    let validate;
    try {
      validate = compile(JSON.parse(r.schema));
    } catch (e) {
      s.ajvSkipped++; // ajv itself rejects the schema: nothing to judge against
      continue;
    }
    for (const out of r.outputs) {
      s.outputs++;
      if (out !== null && !check(validate, out)) s.valid++;
      else if (s.failedIds.length < 10 && !s.failedIds.includes(r.id)) s.failedIds.push(r.id);
    }
  }
  console.log("subset            schemas  compiled  compiled%   outputs   valid%   (ajv could not compile)");
  for (const [name, s] of subsets) {
    const pc = (100 * s.compiled) / Math.max(1, s.schemas);
    const pv = (100 * s.valid) / Math.max(1, s.outputs);
    console.log(`${name.padEnd(16)} ${String(s.schemas).padStart(8)} ${String(s.compiled).padStart(9)} ` +
      `${pc.toFixed(1).padStart(9)}% ${String(s.outputs).padStart(9)} ${pv.toFixed(1).padStart(7)}%   (${s.ajvSkipped})`);
    if (s.failedIds.length) console.log(`  invalid outputs in: ${s.failedIds.join(", ")}`);
  }
  return true;
}

const args = process.argv.slice(2);
const opt = (k) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : undefined;
};
let ok;
if (opt("--bench")) ok = benchMode(opt("--bench"));
else if (opt("--schema") && opt("--outputs")) ok = outputsMode(opt("--schema"), opt("--outputs"));
else {
  console.error("usage: validate_ajv.js --schema S.json --outputs OUT.jsonl | --bench RECORDS.jsonl");
  process.exit(2);
}
process.exit(ok ? 0 : 1);
