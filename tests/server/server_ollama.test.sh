#!/usr/bin/env bash
# server_ollama.test.sh - the `ollama` npm client against `tinylm serve`:
# version, tags, show, chat and generate (streamed NDJSON and whole), the
# options mapping, load-only requests, and errors as ResponseError
# (ollama_client.mjs).
. "$(dirname "$0")/lib.sh"
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
start_server ollama --model "$QWEN" --parallel 2 --threads 2
QWEN_ID=$(basename "$QWEN" .gguf) URL="$URL" run_node ollama_client.mjs || fail "ollama client checks"
curl -sf "$URL/health" >/dev/null || fail "/health after the checks"
stop_server
echo "ollama client: ok"
