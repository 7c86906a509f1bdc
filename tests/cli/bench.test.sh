#!/usr/bin/env bash
# bench.test.sh - `tinylm bench` on a synth model, kept tiny (-p 16 -n 4):
# every requested test appears for every thread count with the requested
# number of samples, medians lie within the samples, the table has the same
# rows, the bandwidth figures are computed from their parts (the read of
# the weights covers the bytes a token reads), --kernels /
# --tokenizer reach their own benchmarks, and --kernels --dram measures a
# matrix larger than any cache.
set -u
CLI=${TLM_CLI:?TLM_CLI is not set}
SRC=${TLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 77; }
. "$SRC/tests/lib/models.sh"
M=$(model_path qwen2-tiny f16) || exit $?
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$CLI" bench "$M" -p 16 -n 4 -r 3 -t 1,2 --no-bw --json >"$T/json" 2>"$T/err" ||
    fail "bench --json: $(cat "$T/err")"
python3 - "$T/json" <<'EOF' || fail "bench JSON is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
tests = {(t["threads"], t["test"]): t for t in d["tests"]}
want = {(th, name) for th in (1, 2) for name in ("pp16", "tg4", "ttft_chat64")}
assert set(tests) == want, sorted(tests)
for t in list(tests.values()) + [d["load_ms"]]:
    s = sorted(t["samples"])
    assert len(s) == 3 and all(x > 0 for x in s), t
    assert t["median"] == s[1] and abs(t["spread"] - (s[2] - s[0]) / 2) < 1e-9, t
assert d["resident_mb"] > 0 and d["size_bytes"] > 0 and d["bytes_per_token"] > 0
assert "bandwidth_pct" not in tests[(1, "tg4")]
EOF

"$CLI" bench "$M" -p 0 -n 4 -r 1 -t 1 --no-ttft >"$T/table" 2>/dev/null || fail "bench table"
grep -q "^| *1 | tg4 " "$T/table" || fail "no tg4 row: $(cat "$T/table")"
grep -q "pp" "$T/table" && fail "-p 0 still measured pp"
# The bandwidth row: tg t/s x bytes per token / bandwidth, all in the table.
python3 - "$T/table" <<'EOF' || fail "the bandwidth percentage does not follow from its parts"
import re, sys
t = open(sys.argv[1]).read()
mb = float(re.search(r"([0-9.]+) MB read per generated token", t).group(1))
tg = float(re.search(r"\| tg4 +\| +([0-9.]+) ±", t).group(1))
pct, bw = map(float, re.search(r"([0-9.]+) % of +([0-9.]+) GB/s", t).groups())
assert bw > 0 and abs(pct - 100 * mb * 1e6 * tg / (bw * 1e9)) <= 0.02 * pct + 0.2, (pct, mb, tg, bw)
assert re.search(r"\| tg vs weights +\| +[0-9.]+ % of +[0-9.]+ GB/s", t), t
EOF
"$CLI" bench "$M" -p 0 -n 4 -r 1 -t 1 --no-ttft --json >"$T/bwjson" 2>/dev/null ||
    fail "bench --json"
python3 - "$T/bwjson" <<'EOF' || fail "the weights-read figures do not follow from their parts"
import json, sys
d = json.load(open(sys.argv[1]))
tg = d["tests"][0]
gbs, ms, pct = tg["weights_read_gbs"], tg["weights_read_ms"], tg["weights_pct"]
# One read of the matrices is about the bytes a token reads (all but the
# norms and one embedding row), and the percentage is its time per token.
bpt = d["bytes_per_token"]
assert 0.9 <= gbs * ms * 1e6 / bpt <= 1.01, (gbs, ms, bpt)
assert abs(pct - tg["median"] * ms / 10) <= 1e-6 * pct, (pct, tg["median"], ms)
assert tg["read_bandwidth_gbs"] > 0 and tg["bandwidth_pct"] > 0, tg
EOF

"$CLI" bench --kernels --help | grep -q "bench --kernels" || fail "--kernels dispatch"
# --dram: one row per type, a matrix no cache holds (>= 1.5 GiB) as wide as
# --cols says, with its GB/s and % of the read bandwidth consistent.
"$CLI" bench --kernels --dram --cols 896 --types q8_0 -t 1 >"$T/dram" 2>&1 ||
    fail "--dram: $(cat "$T/dram")"
python3 - "$T/dram" <<'EOF' || fail "--dram row is wrong: $(cat "$T/dram")"
import re, sys
rows = [l.split() for l in open(sys.argv[1]) if re.match(r"q8_0 +896x", l)]
assert len(rows) == 1, rows
r = rows[0]
cols, n = map(int, r[1].split("x"))
mb, gbs, bw, pct = float(r[2]), float(r[4]), float(r[5]), float(r[6].rstrip("%"))
assert cols == 896 and n % 16 == 0 and mb >= 1.5 * 2**30 / 1e6 - 0.1, r
assert gbs > 0 and bw > 0 and abs(pct - 100 * gbs / bw) <= 1, r
EOF
"$CLI" bench --kernels --dram --cols 7 >/dev/null 2>&1
[ $? -eq 2 ] || fail "--cols 7 is not a usage error"
"$CLI" bench --tokenizer --help | grep -q "bench --tokenizer" || fail "--tokenizer dispatch"
"$CLI" bench >/dev/null 2>&1; [ $? -eq 2 ] || fail "bench without a model is not a usage error"
out=$("$CLI" bench "$T/none.gguf" 2>&1); [ $? -eq 1 ] || fail "missing model: wrong exit code"
echo "$out" | grep -q "no model file or pulled model named" || fail "missing model message: $out"
echo "bench: all checks passed"
