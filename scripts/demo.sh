#!/usr/bin/env bash
# demo.sh - the main job (`make demo`).  Until the engine lands it makes
# (once, cached) a shape-faithful Qwen2.5-0.5B with the real tokenizer and
# random weights, and describes it with `tinylm info`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tinylm
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tinylm/synth
model=$cache/qwen2.5-0.5b-f16.gguf
mkdir -p "$cache"
if [ ! -f "$model" ]; then
  echo "demo: synthesising $model (real shapes and tokenizer, random weights: its text is meaningless)"
  "$bin" synth --preset qwen2.5-0.5b --type f16 -o "$model"
fi
"$bin" info "$model"
