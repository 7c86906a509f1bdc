#!/usr/bin/env bash
# server_openai.test.sh - the official `openai` npm client against
# `tinylm serve` with two tiny synth models (Qwen2 q8_0, Gemma f16): model
# list, chat and completions, streamed and not, usage and timings, seeds,
# stop strings, logprobs, the prefix cache, Gemma's system folding, and
# errors as the client's own types (openai_client.mjs).
. "$(dirname "$0")/lib.sh"
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
GEMMA=$(model_path gemma-tiny f16) || exit $?
start_server openai --model "$QWEN" --model "$GEMMA" --parallel 4 --ctx 512 --threads 2
QWEN_ID=$(basename "$QWEN" .gguf) GEMMA_ID=$(basename "$GEMMA" .gguf) QWEN="$QWEN" \
    GEMMA="$GEMMA" URL="$URL" run_node openai_client.mjs || fail "openai client checks"
curl -sf "$URL/health" >/dev/null || fail "/health after the checks"
stop_server
grep -q "^POST /v1/chat/completions 200 model=$(basename "$QWEN" .gguf) prompt=[0-9]* gen=[0-9]* " \
    "$SRV_LOG" || fail "no access log line for a chat request"
echo "openai client: ok"
