#!/usr/bin/env bash
# server_disconnect.test.sh - client disconnects cancel generation and free the
# slot; the bounded queue answers 429 (disconnect.mjs); the access log marks
# the cut streams.
. "$(dirname "$0")/lib.sh"
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
start_server disconnect --model "$QWEN" --parallel 1 --queue 1 --ctx 100000 --threads 2
MODEL_ID=$(basename "$QWEN" .gguf) URL="$URL" run_node disconnect.mjs || fail "disconnect checks"
curl -sf "$URL/health" >/dev/null || fail "/health after the checks"
stop_server
grep -q "^POST /v1/chat/completions 200 .*(client gone or stream cut)" "$SRV_LOG" ||
    fail "the access log does not show the cut stream"
grep -q "^POST /v1/chat/completions 429 " "$SRV_LOG" || fail "the access log lacks the 429"
echo "disconnect: ok"
