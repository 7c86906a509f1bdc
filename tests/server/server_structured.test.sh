#!/usr/bin/env bash
# server_structured.test.sh - structured output through the official
# clients: tools (auto/required/named/none, streamed and not), tool results
# flowing back, response_format, the grammar extension, budget steering,
# fail-closed 400s, and Ollama's format and tools, every output judged by
# ajv (structured.mjs).  TLM_TOOL_REQUESTS sets the number of tool requests
# (default 32).  Gemma's template has no tool syntax: the server writes the
# tools into its system prompt, which is checked too.
. "$(dirname "$0")/lib.sh"
[ -d "$SRC/node_modules/ajv" ] && [ -d "$SRC/node_modules/ajv-formats" ] ||
    { echo "skip: npm ajv/ajv-formats missing"; exit 77; }
QWEN=$(model_path qwen2-tiny q8_0) || exit $?
GEMMA=$(model_path gemma-tiny f16) || exit $?
start_server structured --model "$QWEN" --model "$GEMMA" --parallel 4 --ctx 1024 --threads 2
QWEN_ID=$(basename "$QWEN" .gguf) GEMMA_ID=$(basename "$GEMMA" .gguf) URL="$URL" \
    run_node structured.mjs || fail "structured output checks"
curl -sf "$URL/health" >/dev/null || fail "/health after the checks"
stop_server
echo "structured output: ok"
