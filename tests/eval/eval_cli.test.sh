#!/usr/bin/env bash
# eval_cli.test.sh - `tinylm eval` end to end: the reference target scores
# 100% on every built-in suite; an interrupted results file (half the lines
# and a torn last line) resumes with only the missing answers; usage errors
# exit 2; and the graders' JSON Schema validator agrees with ajv (an
# independent implementation) on every case built from the suites' schemas.
set -euo pipefail
: "${TLM_SOURCE_DIR:?}" "${TLM_CLI:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

if ! bwrap --ro-bind / / --unshare-net true 2>/dev/null; then
  echo "skipped: bubblewrap cannot create namespaces here" >&2
  exit 77
fi

data="$TLM_SOURCE_DIR/data"
total=0
for s in basics code json tools math; do
  total=$((total + $(grep -c '^{' "$data/suites/$s.jsonl")))
done

# 1. Reference answers: 100% everywhere.
"$TLM_CLI" eval --suite all --target reference --data-dir "$data" --out "$tmp/r.jsonl" \
  --summary "$tmp/s.json" --quiet > "$tmp/table.txt"
# Answer lines carry a verdict; the one {"record":"target"} line does not.
[ "$(grep -c '"verdict"' "$tmp/r.jsonl")" -eq "$total" ] || fail "expected $total result lines"
[ "$(grep -c '"record":"target"' "$tmp/r.jsonl")" -eq 1 ] || fail "expected one target record"
python3 - "$tmp/s.json" <<'PY' || fail "reference target below 100%"
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s["suites"]) == 5, s
for suite in s["suites"]:
    assert suite["pass_rate"] == 1.0 and suite["passed"] == suite["samples"], suite
print("reference: 5 suites at 100%")
PY
grep -q "^reference *basics *(all) *40 *40 *100.0%" "$tmp/table.txt" || fail "summary table"

# 2. Resume after an interruption: keep half, tear the next line.
keep=$((total / 2))
head -n "$keep" "$tmp/r.jsonl" > "$tmp/part.jsonl"
sed -n "$((keep + 1))p" "$tmp/r.jsonl" | head -c 40 >> "$tmp/part.jsonl"
"$TLM_CLI" eval --suite all --target reference --data-dir "$data" --out "$tmp/part.jsonl" \
  --resume --quiet > /dev/null
[ "$(grep -c '"verdict"' "$tmp/part.jsonl")" -eq "$total" ] || fail "resume did not complete the file"
python3 - "$tmp/part.jsonl" "$total" <<'PY' || fail "resumed file"
import json, sys
rows = [r for r in map(json.loads, open(sys.argv[1])) if "record" not in r]
keys = {(r["suite"], r["task_id"], r["sample"]) for r in rows}
assert len(keys) == int(sys.argv[2]) == len(rows), "duplicates or gaps"
assert all(r["passed"] for r in rows)
print("resume: %d rows, no duplicates" % len(rows))
PY

# 3. Usage errors.
set +e
"$TLM_CLI" eval --suite basics > /dev/null 2>&1; [ $? -eq 2 ] || fail "no target must exit 2"
"$TLM_CLI" eval --target reference > /dev/null 2>&1; [ $? -eq 2 ] || fail "no suite must exit 2"
"$TLM_CLI" eval --suite nosuch --target reference --data-dir "$data" --out "$tmp/x" > /dev/null 2>&1
[ $? -eq 1 ] || fail "unknown suite must exit 1"
set -e

# 4. The JSON Schema validator against ajv.
if command -v node > /dev/null && [ -d "$TLM_SOURCE_DIR/node_modules/ajv" ]; then
  NODE_PATH="$TLM_SOURCE_DIR/node_modules" node "$TLM_SOURCE_DIR/tests/eval/ajv_cases.js" "$data" > "$tmp/cases.jsonl"
  "$TLM_CLI" eval --validate "$tmp/cases.jsonl" > "$tmp/ours.txt"
  python3 - "$tmp/cases.jsonl" "$tmp/ours.txt" <<'PY' || fail "validator disagrees with ajv"
import json, sys
cases = [json.loads(l) for l in open(sys.argv[1])]
ours = [l.split("\t")[0].strip() for l in open(sys.argv[2])]
assert len(cases) == len(ours) > 500, (len(cases), len(ours))
bad = [(c, o) for c, o in zip(cases, ours) if (o == "valid") != c["valid"] or o == "unsupported"]
for c, o in bad[:5]:
    print("ajv", c["valid"], "ours", o, json.dumps(c["value"])[:200])
assert not bad, "%d disagreements" % len(bad)
print("validator: %d cases agree with ajv (%d valid)" % (len(cases), sum(c["valid"] for c in cases)))
PY
else
  echo "note: node/ajv missing, validator cross-check skipped" >&2
fi
echo "eval_cli: all checks passed"
