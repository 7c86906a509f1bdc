#!/usr/bin/env bash
# perplexity.test.sh - `tinylm perplexity` on synth models: the printed
# perplexity equals one recomputed from the --save-logits file by an
# independent Python reader of docs/FORMATS.md; a model against its own
# saved logits gives KL 0 and 100% top-1 agreement; a quantized copy gives
# KL > 0; mismatched chunk sizes and short texts are refused clearly.
set -u
CLI=${TLM_CLI:?TLM_CLI is not set}
SRC=${TLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 77; }
. "$SRC/tests/lib/models.sh"
F32=$(model_path qwen2-tiny f32) || exit $?
Q8=$(model_path qwen2-tiny q8_0) || exit $?   # the same weights, quantized

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# English prose, a few hundred tokens: 3 chunks of 48.
for i in $(seq 12); do
    echo "The committee met on day $i to discuss the harbour, the budget and the new library."
done >"$T/text.txt"

# 1. Perplexity + saved logits; an independent reader agrees.
"$CLI" perplexity "$F32" "$T/text.txt" -c 48 --chunks 3 --save-logits "$T/f32.logits" \
    >"$T/out" 2>"$T/err" || fail "perplexity: $(cat "$T/err")"
ppl=$(sed -n 's/^perplexity: \([0-9.]*\) .*/\1/p' "$T/out")
rows=$(sed -n 's/.* over \([0-9]*\) tokens .*/\1/p' "$T/out")
[ -n "$ppl" ] || fail "no perplexity printed: $(cat "$T/out")"
[ "$rows" = $((3 * 23)) ] || fail "scored $rows tokens, expected 3 chunks x 23"
read -r ref_ppl ref_rows < <(python3 "$SRC/tests/cli/perplexity_ref.py" "$T/f32.logits") ||
    fail "the reference reader rejected the file"
[ "$ref_rows" = "$rows" ] || fail "file has $ref_rows rows, tinylm scored $rows"
python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(abs(a-b) > 1e-4*b)" \
    "$ppl" "$ref_ppl" || fail "perplexity $ppl != reference $ref_ppl"

# 2. Against its own logits: KL exactly 0, full agreement.
"$CLI" perplexity "$F32" "$T/text.txt" -c 48 --chunks 3 --kl-base "$T/f32.logits" \
    >"$T/self" 2>/dev/null || fail "--kl-base against itself"
grep -q "KL divergence: mean 0.000000, 99th percentile 0.000000, max 0.000000" "$T/self" ||
    fail "self KL is not 0: $(cat "$T/self")"
grep -q "top-1 agreement: 100.00 %" "$T/self" || fail "self top-1 not 100%"
grep -q "RMS of the change in p(next token): 0.000000" "$T/self" || fail "self RMS not 0"
grep -q "base perplexity: $ppl" "$T/self" || fail "base perplexity differs from the saved run"

# 3. A Q8_0 copy of the same weights: small but non-zero divergence.
"$CLI" perplexity "$Q8" "$T/text.txt" -c 48 --chunks 3 --kl-base "$T/f32.logits" \
    >"$T/q8" 2>/dev/null || fail "--kl-base q8_0"
kl=$(sed -n 's/^KL divergence: mean \([0-9.e-]*\),.*/\1/p' "$T/q8")
python3 -c "import sys; k=float(sys.argv[1]); sys.exit(not (0 < k < 1))" "$kl" ||
    fail "q8_0 KL $kl not in (0, 1)"

# 4. Refusals.
out=$("$CLI" perplexity "$F32" "$T/text.txt" -c 64 --chunks 2 --kl-base "$T/f32.logits" 2>&1) &&
    fail "a different chunk size was accepted"
echo "$out" | grep -q "chunks of 48" || fail "unclear chunk-size error: $out"
echo "too short" >"$T/short.txt"
out=$("$CLI" perplexity "$F32" "$T/short.txt" 2>&1) && fail "a short text was accepted"
echo "$out" | grep -q "fewer than one chunk" || fail "unclear short-text error: $out"
echo "not logits at all, just text" >"$T/bogus.logits"
out=$("$CLI" perplexity "$F32" "$T/text.txt" -c 48 --kl-base "$T/bogus.logits" 2>&1) &&
    fail "a bogus base file was accepted"
echo "$out" | grep -q "not a tinylm logits file" || fail "unclear bogus-file error: $out"
"$CLI" perplexity --help | grep -q "examples:" || fail "--help has no examples"
echo "perplexity: all checks passed"
