#!/usr/bin/env bash
# compare.test.sh - the in-process model target and `tinylm compare` (issue
# 9): a synth (random-weight) model scores near zero on a few tasks of
# basics/code/json and still gets its per-item and per-target figures; two
# endpoints behind one target share the work; compare of the reference
# target and the synth model writes report.md, report.html and
# summary.json whose numbers agree with the results files (recounted here
# from the raw lines, independently of the C summary); compare of two
# existing results files works too, and the default directory is a new
# timestamped one under $XDG_CACHE_HOME/tinylm/reports; --json-both adds a
# constrained column for the json suite.
set -euo pipefail
: "${TLM_SOURCE_DIR:?}" "${TLM_CLI:?}" "${TLM_BINARY_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

if ! bwrap --ro-bind / / --unshare-net true 2>/dev/null; then
  echo "skipped: bubblewrap cannot create namespaces here" >&2
  exit 77
fi
. "$TLM_SOURCE_DIR/tests/lib/models.sh"
M=$(model_path qwen2-tiny q8_0) || exit $?
data="$TLM_SOURCE_DIR/data"
common=(--suite basics,code,json --limit 3 --max-tokens 24 --threads 2 --data-dir "$data")

# 1. In process: near zero, with figures per item and per target.
"$TLM_CLI" eval --model "$M" "${common[@]}" --determinism 3 --out "$tmp/synth.jsonl" \
  --summary "$tmp/synth-summary.json" --quiet > "$tmp/table.txt"
python3 - "$tmp/synth.jsonl" "$tmp/synth-summary.json" "$(stat -c %s "$M")" <<'PY' || fail "in-process target"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
items = [r for r in lines if "record" not in r]
info = [r for r in lines if r.get("record") == "target"]
assert len(items) == 9, len(items)
assert sum(r["passed"] for r in items) <= 1, "a random-weight model should score near zero"
for r in items:
    assert r["target"] == "qwen2-tiny-q8_0", r["target"]
    assert r["prompt_tokens"] > 10 and 0 < r["completion_tokens"] <= 24, r
    assert r["ttft_ms"] > 0 and r["total_ms"] >= r["ttft_ms"], r
    assert r["gen_tok_s"] is None or r["gen_tok_s"] > 0
assert len(info) == 1, info
i = info[0]
assert i["kind"] == "model" and i["model_bytes"] == int(sys.argv[3]), i
assert i["load_ms"] > 0 and i["rss_peak"] > 4 << 20, i
assert i["determinism_runs"] == 3 and 1 <= i["determinism_identical"] <= 3, i
s = json.load(open(sys.argv[2]))
t = s["targets"][0]
assert t["target"] == "qwen2-tiny-q8_0" and t["samples"] == 9, t
assert t["ttft_ms_p50"] <= t["ttft_ms_p95"], t
assert t["info"]["model_bytes"] == i["model_bytes"]
print("in-process: %d items, %d passed, ttft p50 %.1f ms, peak %.1f MiB, determinism %d/3" % (
    len(items), sum(r["passed"] for r in items), t["ttft_ms_p50"], i["rss_peak"] / 2**20,
    i["determinism_identical"]))
PY

# 1b. In process with --constrained: a separate target whose answers the
#     schema's grammar shaped (random weights alone start with JSON never).
"$TLM_CLI" eval --model "$M" --suite json --limit 2 --max-tokens 16 --threads 2 --determinism 0 \
  --data-dir "$data" --constrained --out "$tmp/constrained.jsonl" --quiet > /dev/null
python3 - "$tmp/constrained.jsonl" "$tmp/synth.jsonl" <<'PY' || fail "constrained decoding in process"
import json, sys
items = [r for r in map(json.loads, open(sys.argv[1])) if "record" not in r]
plain = [r for r in map(json.loads, open(sys.argv[2])) if "record" not in r and r["suite"] == "json"]
assert len(items) == 2 and all(r["target"] == "qwen2-tiny-q8_0+constrained" for r in items)
js = lambda a: a.lstrip().startswith(("{", "["))
assert all(js(r["answer"]) for r in items), [r["answer"] for r in items]
assert not any(js(r["answer"]) for r in plain), "unconstrained random answers should not look like JSON"
print("constrained: answers start", [r["answer"][:12] for r in items])
PY

# 2. Grammar: an endpoint needs a model name after it; two endpoints then one
#    --model make one target whose work is spread (closed ports: every item a
#    harness error, quickly).
set +e
"$TLM_CLI" eval --suite json --endpoint http://127.0.0.1:9 > /dev/null 2>&1
[ $? -eq 2 ] || fail "--endpoint without --model must exit 2"
set -e
"$TLM_CLI" eval --suite json --limit 4 --jobs 2 --determinism 0 --data-dir "$data" \
  --endpoint http://127.0.0.1:9 --endpoint http://127.0.0.1:19 --model pooled \
  --out "$tmp/pool.jsonl" --quiet > /dev/null
python3 - "$tmp/pool.jsonl" <<'PY' || fail "endpoint pool"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
items = [r for r in lines if "record" not in r]
info = [r for r in lines if r.get("record") == "target"][0]
assert len(items) == 4 and all(r["target"] == "pooled" for r in items)
assert all(r["verdict"] == "harness_error" for r in items)
served = [e["served"] for e in info["endpoints"]]
assert len(served) == 2 and sum(served) == 4 and min(served) >= 1, served
print("pool: 4 items over 2 endpoints", served)
PY

# 3. compare: reference against the synth model.
out="$tmp/cmp"
"$TLM_CLI" compare --target reference --model "$M" "${common[@]}" --determinism 2 \
  --out "$out" > "$tmp/cmp.txt" 2> "$tmp/cmp.err" || { cat "$tmp/cmp.err"; fail "compare"; }
for f in report.md report.html summary.json; do
  [ -s "$out/$f" ] || fail "compare did not write $f"
  grep -qx "$out/$f" "$tmp/cmp.txt" || fail "compare did not print $out/$f"
done
python3 - "$out" <<'PY' || fail "summary.json disagrees with the results files"
import glob, json, sys, collections
out = sys.argv[1]
s = json.load(open(out + "/summary.json"))
count = collections.defaultdict(lambda: [0, 0])
for path in glob.glob(out + "/results-*.jsonl"):
    for r in map(json.loads, open(path)):
        if "record" in r: continue
        for key in ((r["target"],), (r["target"], r["suite"]), (r["target"], r["suite"], r["kind"])):
            count[key][0] += r["passed"]; count[key][1] += 1
names = sorted(t["target"] for t in s["targets"])
assert names == ["qwen2-tiny-q8_0", "reference"], names
for t in s["targets"]:
    p, n = count[(t["target"],)]
    assert (t["passed"], t["samples"]) == (p, n) and abs(t["pass_rate"] - p / n) < 1e-12, t
for su in s["suites"]:
    p, n = count[(su["target"], su["suite"])]
    assert (su["passed"], su["samples"]) == (p, n), su
    for kind, k in su["kinds"].items():
        assert (k["passed"], k["samples"]) == tuple(count[(su["target"], su["suite"], kind)])
rep = s["report"]
assert rep["thresholds"] == {"good": 0.8, "fair": 0.5}, rep["thresholds"]
assert rep["marks"]["reference"]["basics"] == "good" and rep["marks"]["qwen2-tiny-q8_0"]["basics"] == "bad"
assert rep["items_compared"] == 9 and rep["items_differing"] == 9 - count[("qwen2-tiny-q8_0",)][0]
print("summary.json: %d targets, numbers match the results files" % len(names))
PY
md="$out/report.md"
grep -q '^| Suite | Task kind | qwen2-tiny-q8_0 | reference |$' "$md" || fail "report.md table header"
grep -q '^| \*\*basics\*\* | \*\*all\*\* | ❌ 0.0% (0/3) | ✅ 100.0% (3/3) |$' "$md" || fail "report.md ✅/❌ row"
grep -q '^| Determinism (same prompt and seed) | ✅ 2/2 identical | ✅ 2/2 identical |$' "$md" ||
  grep -q '^| Determinism (same prompt and seed) | .* 1/2 identical | ✅ 2/2 identical |$' "$md" ||
  fail "report.md determinism row"
html="$out/report.html"
[ "$(grep -o '<svg class="chart"' "$html" | wc -l)" -eq 5 ] || fail "report.html: 5 charts expected"
! grep -qiE '<script|<link|<img|src="|href="https?:|url\(' "$html" || fail "report.html must be self-contained"
diffs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["report"]["items_differing"])' "$out/summary.json")
[ "$(grep -o '<details class="item"' "$html" | wc -l)" -eq "$diffs" ] || fail "per-item view count"

# 4. compare of existing results files, default directory under the cache.
"$TLM_CLI" eval --target reference "${common[@]}" --out "$tmp/ref.jsonl" --quiet > /dev/null
XDG_CACHE_HOME="$tmp/cache" "$TLM_CLI" compare --results "$tmp/ref.jsonl" \
  --results "$tmp/synth.jsonl" --title "two files" > "$tmp/cmp2.txt" 2>/dev/null
dir=$(dirname "$(head -1 "$tmp/cmp2.txt")")
case "$dir" in "$tmp/cache/tinylm/reports/"2*) ;; *) fail "default directory: $dir" ;; esac
grep -q '^# two files$' "$dir/report.md" || fail "title"
cmp <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print([(t["target"],t["passed"],t["samples"]) for t in s["targets"]])' "$dir/summary.json") \
    <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print([(t["target"],t["passed"],t["samples"]) for t in s["targets"]])' "$out/summary.json") ||
  fail "compare of results files disagrees with compare that ran them"

# 5. --json-both: a second, constrained column on the json suite only.
"$TLM_CLI" compare --model "$M" --suite basics,json --limit 2 --max-tokens 8 --threads 2 \
  --determinism 0 --data-dir "$data" --json-both --out "$tmp/both" > /dev/null 2>&1 || fail "--json-both"
python3 - "$tmp/both/summary.json" <<'PY' || fail "--json-both summary"
import json, sys
s = json.load(open(sys.argv[1]))
suites = sorted((x["target"], x["suite"], x["samples"]) for x in s["suites"])
assert suites == [("qwen2-tiny-q8_0", "basics", 2), ("qwen2-tiny-q8_0", "json", 2),
                  ("qwen2-tiny-q8_0+constrained", "json", 2)], suites
print("json-both:", suites)
PY
grep -q '^| json | extract | ❌ 0.0% (0/2) | ❌ 0.0% (0/2) |$' "$tmp/both/report.md" || fail "--json-both columns"

set +e
"$TLM_CLI" compare > /dev/null 2>&1; [ $? -eq 2 ] || fail "compare without targets must exit 2"
"$TLM_CLI" compare --results "$tmp/none.jsonl" --out "$tmp/x" > /dev/null 2>&1
[ $? -eq 1 ] || fail "a missing results file must exit 1"
set -e
echo "compare: all checks passed"
