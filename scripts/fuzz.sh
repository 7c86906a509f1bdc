#!/usr/bin/env bash
# fuzz.sh BUILD_DIR SECONDS - runs every libFuzzer target built in BUILD_DIR
# for a share of SECONDS (at least 15 s each), starting from its seed corpus
# in tests/fuzz/corpus/<name>/.  A crash, leak or timeout fails the run and
# leaves the reproducer in out/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
total=${2:-60}
targets=("$build"/fuzz_*)
[ -e "${targets[0]}" ] || { echo "fuzz: no targets in $build"; exit 1; }
each=$(( total / ${#targets[@]} ))
(( each >= 15 )) || each=15
mkdir -p out/fuzz
for t in "${targets[@]}"; do
  name=$(basename "$t"); name=${name#fuzz_}
  work=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
  echo "fuzz: $name for ${each}s"
  if ! "$t" -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="out/fuzz/$name-" "$work" >"out/fuzz/$name.log" 2>&1; then
    tail -40 "out/fuzz/$name.log"
    echo "fuzz: $name FAILED (reproducer in out/fuzz/)"
    exit 1
  fi
  grep -E "^(#[0-9]+\s+DONE|Done)" "out/fuzz/$name.log" | tail -1 || true
  rm -rf "$work"
done
echo "fuzz: all targets passed"
