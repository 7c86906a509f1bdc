#!/usr/bin/env bash
# `tinylm quantize`: help and usage errors, a real conversion of a synth
# qwen2-tiny F16 model (types per the llama.cpp rules, readable output, the
# summary line), --dry-run, and clean failures that leave no file behind.
set -euo pipefail
source "$TLM_SOURCE_DIR/tests/lib/models.sh"
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$TLM_CLI" quantize --help >"$tmp/help" || fail "--help exit status"
grep -q "Q4_K_M" "$tmp/help" || fail "help lists no Q4_K_M"
grep -q "^examples:" "$tmp/help" || fail "help has no examples"
set +e
"$TLM_CLI" quantize 2>/dev/null; [ $? -eq 2 ] || fail "no arguments should exit 2"
"$TLM_CLI" quantize a.gguf b.gguf Q9_9 2>"$tmp/err"; [ $? -eq 2 ] || fail "unknown type should exit 2"
set -e
grep -q "unknown type 'Q9_9'" "$tmp/err" || fail "unknown type message: $(cat "$tmp/err")"

model=$(model_path qwen2-tiny f16)
# Widths: n_embd 128 and n_ff 384 are not multiples of 256, so Q4_K falls
# back to Q5_0 and Q6_K to Q8_0; layer 1 of 2 is a use_more_bits layer.
"$TLM_CLI" quantize --dry-run "$model" - Q4_K_M >"$tmp/plan"
check() { grep -Eq "^$1 +\[[0-9, ]+\] +$2 +-> $3$" "$tmp/plan" || fail "plan: $1 $2 -> $3"; }
check token_embd.weight f16 q8_0
check blk.0.attn_q.weight f16 q5_0
check blk.0.attn_v.weight f16 q5_0
check blk.1.attn_v.weight f16 q8_0
check blk.0.ffn_down.weight f16 q5_0
check blk.1.ffn_down.weight f16 q8_0
check blk.0.attn_q.bias f32 f32
check output_norm.weight f32 f32

"$TLM_CLI" quantize -t 2 "$model" "$tmp/q4km.gguf" Q4_K_M 2>"$tmp/log"
grep -q "converted" "$tmp/log" || fail "no summary: $(cat "$tmp/log")"
"$TLM_CLI" info "$tmp/q4km.gguf" >"$tmp/info" || fail "info cannot read the output"
grep -Eq "general.file_type +15" "$tmp/info" || fail "file_type: $(grep file_type "$tmp/info")"
grep -Eq "^[0-9]+ +blk.1.ffn_down.weight +q8_0 " "$tmp/info" || fail "written types differ from plan"

# Re-quantizing a quantized file works and is quiet with -q.
"$TLM_CLI" quantize -q "$tmp/q4km.gguf" "$tmp/q8.gguf" Q8_0 2>"$tmp/log"
[ ! -s "$tmp/log" ] || fail "-q printed: $(cat "$tmp/log")"
grep -Eq "general.file_type +7" <("$TLM_CLI" info "$tmp/q8.gguf") || fail "Q8_0 file_type"

# Failures: message, exit 1, nothing written.
if "$TLM_CLI" quantize "$tmp/missing.gguf" "$tmp/out.gguf" Q8_0 2>"$tmp/err"; then
  fail "missing input accepted"
fi
grep -q "missing.gguf" "$tmp/err" || fail "missing-input message: $(cat "$tmp/err")"
head -c 4000 "$model" >"$tmp/trunc.gguf"
if "$TLM_CLI" quantize "$tmp/trunc.gguf" "$tmp/out.gguf" Q8_0 2>/dev/null; then
  fail "truncated input accepted"
fi
[ ! -e "$tmp/out.gguf" ] && [ ! -e "$tmp/out.gguf.partial" ] || fail "output left behind"
echo "1 passed, 0 failed"
