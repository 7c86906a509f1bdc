#!/usr/bin/env bash
# `tinylm info` on a synth Qwen2.5-0.5B lists its 290 tensors with the shapes
# of the real model, and `tinylm synth`/`info` fail clearly on bad input.
set -euo pipefail
source "$TLM_SOURCE_DIR/tests/lib/models.sh"
model=$(model_path qwen2.5-0.5b q8_0)
out=$("$TLM_CLI" info "$model")
fail() { echo "FAIL: $*"; exit 1; }
grep -q "^architecture: qwen2$" <<<"$out" || fail "architecture"
grep -q "^290 tensors, 494.03 M parameters" <<<"$out" || fail "tensor count/params: $(grep tensors, <<<"$out")"
check() { grep -Eq "^[0-9]+ +$1 +$2 +$3 " <<<"$out" || fail "tensor $1 $2 $3"; }
check token_embd.weight q8_0 "896 x 151936"
check blk.0.attn_q.weight q8_0 "896 x 896"
check blk.0.attn_q.bias f32 "896"
check blk.23.attn_k.weight q8_0 "896 x 128"
check blk.23.attn_v.bias f32 "128"
check blk.11.ffn_down.weight q8_0 "4864 x 896"
check blk.11.ffn_gate.weight q8_0 "896 x 4864"
check output_norm.weight f32 "896"
grep -q "qwen2.context_length  *32768" <<<"$out" || fail "context length"
grep -q "qwen2.rope.freq_base  *1e+06" <<<"$out" || fail "rope base"
grep -q "tokens  *151936" <<<"$out" || fail "token count"
grep -q "merges  *151387" <<<"$out" || fail "merges"
grep -q "^chat template: yes" <<<"$out" || fail "chat template"
# Bad input: clear messages, non-zero exits, nothing left behind.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
head -c 1000 "$model" >"$tmp/trunc.gguf"
if "$TLM_CLI" info "$tmp/trunc.gguf" 2>"$tmp/err"; then fail "truncated file accepted"; fi
grep -q "trunc.gguf: gguf:" "$tmp/err" || fail "truncation message: $(cat "$tmp/err")"
if "$TLM_CLI" synth --preset nope -o "$tmp/x.gguf" 2>"$tmp/err"; then fail "unknown preset accepted"; fi
grep -q "unknown preset 'nope'" "$tmp/err" || fail "preset message"
[ ! -e "$tmp/x.gguf" ] || fail "file left behind"
echo "1 passed, 0 failed"
