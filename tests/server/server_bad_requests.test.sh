#!/usr/bin/env bash
# server_bad_requests.test.sh - the malformed-request corpus (bad_requests/), bodies
# over --max-body and prompts over the context: right status, error object
# in the endpoint's shape naming the field, and the server keeps serving
# (bad_requests.mjs).
. "$(dirname "$0")/lib.sh"
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
start_server bad --model "$QWEN" --parallel 2 --ctx 1024 --max-body 65536 --threads 2 --quiet
MODEL_ID=$(basename "$QWEN" .gguf) URL="$URL" run_node bad_requests.mjs || fail "bad request checks"
kill -0 "$SRV_PID" || fail "the server died"
stop_server
echo "bad requests: ok"
