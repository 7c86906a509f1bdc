#!/usr/bin/env bash
# templates.test.sh - renders every chat template in tests/chat/templates
# with every conversation in tests/chat/conversations, with and without
# add_generation_prompt, through `tinylm template` and through Python's
# jinja2 set up the way transformers sets it up (render_ref.py), and
# requires the two outputs to be byte-identical.  When jinja2 raises (a
# template's raise_exception, a misused undefined...), tinylm must fail too.
#
# Each template must also render at least a few conversations successfully,
# so a template that always errors in both cannot pass by accident.
# Skips (77) when python3 or jinja2 is missing.
set -u
: "${TLM_SOURCE_DIR:?}" "${TLM_CLI:?}"
if ! python3 -c "import jinja2" 2>/dev/null; then
    echo "skipped: python3 with jinja2 is not installed"
    exit 77
fi

dir="$TLM_SOURCE_DIR/tests/chat"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ref" "$work/out"
export TZ=UTC
now=1721952000 # 26 Jul 2024, for strftime_now

jobs="$work/jobs.tsv"
for tpl in "$dir"/templates/*.jinja; do
    for conv in "$dir"/conversations/*.json; do
        for agp in 0 1; do
            id="$(basename "$tpl" .jinja)__$(basename "$conv" .json)__$agp"
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$tpl" "$conv" "$agp" "<s>" "</s>" >>"$jobs"
        done
    done
done

python3 "$dir/render_ref.py" --now "$now" --out "$work/ref" "$jobs" || {
    echo "render_ref.py failed"
    exit 1
}

passed=0 failed=0 both_raised=0
declare -A rendered
while IFS=$'\t' read -r id tpl conv agp bos eos; do
    args=(template "$tpl" "$conv" --bos "$bos" --eos "$eos" --now "$now")
    [ "$agp" = 1 ] && args+=(--add-generation-prompt)
    "$TLM_CLI" "${args[@]}" >"$work/out/$id.out" 2>"$work/out/$id.err"
    rc=$?
    name=$(basename "$tpl" .jinja)
    if [ -f "$work/ref/$id.err" ]; then
        if [ $rc -ne 0 ]; then
            passed=$((passed + 1))
            both_raised=$((both_raised + 1))
        else
            failed=$((failed + 1))
            echo "FAIL $id: jinja2 raised ($(head -c 200 "$work/ref/$id.err")) but tinylm rendered"
        fi
        continue
    fi
    if [ $rc -ne 0 ]; then
        failed=$((failed + 1))
        echo "FAIL $id: tinylm failed: $(head -c 300 "$work/out/$id.err")"
    elif cmp -s "$work/ref/$id.out" "$work/out/$id.out"; then
        passed=$((passed + 1))
        rendered[$name]=$((${rendered[$name]:-0} + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $id: output differs (- jinja2, + tinylm)"
        diff <(od -c "$work/ref/$id.out") <(od -c "$work/out/$id.out") | head -20
    fi
done <"$jobs"

for tpl in "$dir"/templates/*.jinja; do
    name=$(basename "$tpl" .jinja)
    if [ "${rendered[$name]:-0}" -lt 4 ]; then
        echo "FAIL $name: only ${rendered[$name]:-0} conversations rendered without error"
        failed=$((failed + 1))
    fi
done

echo "template/conversation pairs: $((passed + failed)) checked, $both_raised raised in both"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
