#!/usr/bin/env bash
# server_concurrency.test.sh - eight concurrent streaming requests on eight slots
# give the same text as each alone with the same seed, and are batched
# (concurrency.mjs).
. "$(dirname "$0")/lib.sh"
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
start_server concurrency --model "$QWEN" --parallel 8 --ctx 512 --threads 2 --quiet
MODEL_ID=$(basename "$QWEN" .gguf) URL="$URL" run_node concurrency.mjs || fail "concurrency checks"
stop_server
echo "concurrency: ok"
