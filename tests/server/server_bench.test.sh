#!/usr/bin/env bash
# server_bench.test.sh - `tinylm bench --server URL` against a running
# `tinylm serve`: every level completes, token counts are exact (ignore_eos
# makes each answer --max-tokens long), the figures are present and sane.
# Skipped until `tinylm bench` knows --server.
. "$(dirname "$0")/lib.sh"
"$CLI" bench --help 2>&1 | grep -q -- "--server" ||
    { echo "skip: tinylm bench has no --server option yet"; exit 77; }
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
start_server bench --model "$QWEN" --parallel 4 --threads 2 --quiet
timeout 300 "$CLI" bench --server "$URL" --concurrency 1,3 --max-tokens 8 --requests 2 --json \
    >"$T/bench.json" 2>"$T/bench.err" || fail "bench failed: $(cat "$T/bench.err")"
python3 - "$T/bench.json" <<'PY' || fail "bench output: $(cat "$T/bench.json")"
import json, sys
r = json.load(open(sys.argv[1]))
levels = {l["concurrency"]: l for l in r["levels"]}
assert sorted(levels) == [1, 3], levels
for c, l in levels.items():
    assert l["failed"] == 0 and l["ok"] == 2 * c, l
    assert l["tokens"] == 8 * 2 * c, l          # exact: ignore_eos
    assert 0 < l["ttft_p50_ms"] <= l["ttft_p95_ms"], l
    assert l["aggregate_tokens_per_s"] > 0 and l["stream_tokens_per_s"] > 0, l
assert abs(levels[1]["vs_first"] - 1) < 1e-9
PY
"$CLI" bench --server "$URL" --concurrency 2 --max-tokens 4 --requests 1 >"$T/table" ||
    fail "table output"
grep -q "aggregate_tok/s" "$T/table" || fail "no table header: $(cat "$T/table")"
stop_server
echo "bench --server: ok"
