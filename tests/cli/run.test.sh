#!/usr/bin/env bash
# run.test.sh - `tinylm run` on a synth model: stdout carries only the
# model's text (piped prompt == argument prompt), --raw differs from the
# chat template, -n counts tokens, greedy continuations extend each other,
# seeds and thread counts, --stop, pulled names, exit codes and messages,
# Ctrl-C in one-shot mode, and the interactive chat (chat_pty.py).
set -u
CLI=${TLM_CLI:?TLM_CLI is not set}
SRC=${TLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/lib/models.sh"
M=$(model_path qwen2-tiny f16) || exit $?

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. A piped prompt is the same as the argument; notes stay on stderr.
"$CLI" run "$M" "hello there" -n 6 --temp 0 >"$T/arg" 2>"$T/arg.err" || fail "run with an argument"
echo "hello there" | "$CLI" run "$M" -n 6 --temp 0 >"$T/pipe" 2>/dev/null || fail "run with stdin"
cmp -s "$T/arg" "$T/pipe" || fail "piped and argument prompts differ"
grep -q "random weights" "$T/arg.err" || fail "no synth note on stderr"
grep -q "random weights" "$T/arg" && fail "the note leaked into stdout"

# 2. -n counts generated tokens (--verbose reports them on stderr only).
"$CLI" run "$M" --raw "Once upon a time" -n 7 --temp 0 --verbose >"$T/raw7" 2>"$T/raw7.err" ||
    fail "--raw run"
grep -q "^generation: 7 tokens" "$T/raw7.err" || fail "-n 7 not honoured: $(cat "$T/raw7.err")"
grep -q "tokens/s" "$T/raw7" && fail "statistics leaked into stdout"
grep -q "first token after" "$T/raw7.err" || fail "--verbose lacks time to first token"
grep -q "peak .* MB resident" "$T/raw7.err" || fail "--verbose lacks peak memory"

# 3. Greedy decoding: 7 tokens are a prefix of 14; the template changes the text.
"$CLI" run "$M" --raw "Once upon a time" -n 14 --temp 0 >"$T/raw14" 2>/dev/null || fail "-n 14"
[ -s "$T/raw7" ] || fail "no text generated"
case "$(cat "$T/raw14")" in "$(cat "$T/raw7")"*) ;; *) fail "-n 7 is not a prefix of -n 14";; esac
"$CLI" run "$M" "Once upon a time" -n 14 --temp 0 >"$T/chat14" 2>/dev/null || fail "chat run"
cmp -s "$T/raw14" "$T/chat14" && fail "--raw gave the same text as the chat template"

# 4. Same seed, same text, for 1 and 2 threads; another seed differs.
for t in 1 2; do
    "$CLI" run "$M" --raw "The weather" -n 24 --temp 2 --top-k 0 --top-p 1 --min-p 0 \
        --seed 9 -t $t >"$T/seed9.$t" 2>/dev/null || fail "seeded run -t $t"
done
cmp -s "$T/seed9.1" "$T/seed9.2" || fail "1 and 2 threads gave different text"
"$CLI" run "$M" --raw "The weather" -n 24 --temp 2 --top-k 0 --top-p 1 --min-p 0 --seed 10 \
    >"$T/seed10" 2>/dev/null || fail "seed 10"
cmp -s "$T/seed9.1" "$T/seed10" && fail "seeds 9 and 10 gave the same text"

# 5. --stop: the text ends right before the stop string, which is not printed.
stop=$(head -c 12 "$T/raw14" | tail -c 3)
[ ${#stop} -eq 3 ] || fail "could not pick a stop string"
"$CLI" run "$M" --raw "Once upon a time" -n 14 --temp 0 --stop "$stop" >"$T/stopped" 2>/dev/null
want=$(python3 -c 'import sys; t=open(sys.argv[1]).read(); print(t[:t.find(sys.argv[2])], end="")' \
    "$T/raw14" "$stop")
[ "$(cat "$T/stopped")" = "$want" ] || fail "--stop output '$(cat "$T/stopped")' != '$want'"

# 6. A pulled name resolves through the cache.
mkdir -p "$T/cache/tinylm/models"
cp "$M" "$T/cache/tinylm/models/tiny-pulled.gguf"
XDG_CACHE_HOME="$T/cache" "$CLI" run tiny-pulled --raw "Once upon a time" -n 7 --temp 0 \
    >"$T/pulled" 2>/dev/null || fail "run by pulled name"
cmp -s "$T/pulled" "$T/raw7" || fail "the pulled name gave other text"

# 7. Exit codes and messages.
out=$("$CLI" run "$T/missing.gguf" "hi" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "missing model: exit $rc"
echo "$out" | grep -q "no model file or pulled model named" || fail "missing model message: $out"
"$CLI" run >/dev/null 2>&1; [ $? -eq 2 ] || fail "no arguments: not a usage error"
out=$("$CLI" run "$M" --temp hot "hi" 2>&1); [ $? -eq 2 ] || fail "bad --temp accepted"
echo "$out" | grep -q -- "--temp expects a number" || fail "bad --temp message: $out"
"$CLI" run "$M" --top-p 2 "hi" >/dev/null 2>&1; [ $? -eq 2 ] || fail "--top-p 2 accepted"
"$CLI" run --help | grep -q "examples:" || fail "--help has no examples"
echo -n "" | "$CLI" run "$M" >/dev/null 2>&1; [ $? -eq 2 ] || fail "empty piped prompt accepted"
out=$("$CLI" run "$M" -c 16 --raw "$(printf 'word %.0s' $(seq 40))" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "an oversize prompt: exit $rc"
echo "$out" | grep -q "context" || fail "oversize prompt message: $out"

# 8. Ctrl-C in one-shot mode stops the answer and exits 130 at once.
"$CLI" run "$M" --raw "Once upon a time" -n 3000 >"$T/long" 2>/dev/null &
pid=$!
for _ in $(seq 300); do [ -s "$T/long" ] && break; sleep 0.1; done
kill -INT $pid
wait $pid; rc=$?
[ $rc -eq 130 ] || fail "SIGINT: exit $rc, expected 130"
[ -s "$T/long" ] || fail "no text before SIGINT"

# 9. Constrained output: --json (any object), --json-schema (validated by
# ajv when installed, else by Python's json), --grammar; bad files and
# unsupported keywords are errors, never unconstrained text.
"$CLI" run "$M" --raw "Data:" --json --samples 5 --seed 3 --temp 1 -n 64 >"$T/json" 2>/dev/null ||
    fail "--json --samples"
[ "$(wc -l <"$T/json")" -eq 5 ] || fail "--samples 5 gave $(wc -l <"$T/json") lines"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    assert isinstance(json.loads(json.loads(line)), dict), line
' "$T/json" || fail "--json output is not JSON objects"
cat >"$T/schema.json" <<'JSON'
{"type":"object","required":["n","tags"],"additionalProperties":false,
 "properties":{"n":{"type":"integer","minimum":3,"maximum":9},
               "tags":{"type":"array","maxItems":2,"items":{"enum":["a","b"]}}}}
JSON
"$CLI" run "$M" --raw "Data:" --json-schema "$T/schema.json" --samples 8 --seed 1 --temp 1 \
    -n 48 >"$T/schema.jsonl" 2>/dev/null || fail "--json-schema"
if [ -d "$SRC/node_modules/ajv" ]; then
    node "$SRC/tests/grammar/validate_ajv.js" --schema "$T/schema.json" --outputs "$T/schema.jsonl" \
        >/dev/null || fail "--json-schema outputs do not validate"
fi
printf 'root ::= "id-" [0-9]{3} ("," [a-c])?\n' >"$T/g.gbnf"
"$CLI" run "$M" --raw "x" --grammar "$T/g.gbnf" --seed 2 --temp 1 -n 20 >"$T/g.out" 2>/dev/null ||
    fail "--grammar"
grep -Eqx 'id-[0-9]{3}(,[a-c])?' "$T/g.out" || fail "--grammar output: $(cat "$T/g.out")"
echo '{"type":"array","uniqueItems":true}' >"$T/bad.json"
out=$("$CLI" run "$M" --raw "x" --json-schema "$T/bad.json" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "unsupported keyword: exit $rc"
echo "$out" | grep -q "uniqueItems" || fail "unsupported keyword message: $out"
"$CLI" run "$M" --raw "x" --json --grammar "$T/g.gbnf" >/dev/null 2>&1; [ $? -eq 2 ] ||
    fail "--json with --grammar accepted"
"$CLI" run --help | grep -q -- "--json-schema" || fail "--help lacks --json-schema"

# 10. The interactive chat, through a pseudo-terminal.
python3 "$SRC/tests/cli/chat_pty.py" "$CLI" "$M" || fail "interactive chat"
echo "run: all checks passed"
