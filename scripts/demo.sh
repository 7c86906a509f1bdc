#!/usr/bin/env bash
# demo.sh - the main job (`make demo`): serve a model with the chat page.
#
# With no model given (MODEL=path-or-pulled-name), it uses a pulled
# Qwen2.5-0.5B-Instruct if there is one, and otherwise synthesises (once,
# cached) a shape-faithful Qwen2.5-0.5B: the real tokenizer and dimensions
# with random weights, so its text is meaningless; `tinylm pull
# qwen2.5:0.5b-instruct` gets the real model where the network allows.
# It shows one generation with its speed, then starts the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tinylm
port=${PORT:-8080}
model=${MODEL:-}
if [ -z "$model" ]; then
  if "$bin" pull --list 2>/dev/null | grep -q "qwen2.5:0.5b-instruct"; then
    model=qwen2.5:0.5b-instruct
  else
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/tinylm/synth
    model=$cache/qwen2.5-0.5b-q8_0.gguf
    mkdir -p "$cache"
    if [ ! -f "$model" ]; then
      echo "demo: no real model pulled; synthesising $model"
      echo "      (real Qwen2.5-0.5B shapes and tokenizer, random weights: its text is meaningless)"
      "$bin" synth --preset qwen2.5-0.5b --type q8_0 -o "$model"
    fi
  fi
fi
echo "demo: one answer from $model, with its speed:"
"$bin" run --verbose -n 48 "$model" "Write a Python function that reverses a string." || true
echo
echo "demo: chat page and OpenAI/Ollama APIs at http://127.0.0.1:$port/  (Ctrl-C stops)"
exec "$bin" serve --port "$port" --model "$model"
