#!/usr/bin/env bash
# Old-vs-new speed figures for docs/PERF.md, measured back to back so both
# binaries see the same host (this VM's read bandwidth drifts by a third
# over a day).  Run on a quiet machine:
#   scripts/bench_ab.sh OLD_TINYLM NEW_TINYLM MODEL_DIR
# MODEL_DIR holds synth files named qwen-q8_0.gguf, qwen-q4_0.gguf,
# qwen-q4_k_m.gguf, qwen-f16.gguf, gemma-q4_0.gguf, gemma-q4_k_m.gguf
# (`tinylm synth --preset qwen2.5-0.5b --type q8_0 -o DIR/qwen-q8_0.gguf`,
# Q4_K_M via `tinylm quantize`); missing ones are skipped.
set -u
old=${1:?old tinylm}; new=${2:?new tinylm}; dir=${3:?model dir}
echo "== $(date) $(uptime)"
for b in "$old" "$new"; do
    echo "== kernels $b"
    "$b" bench --kernels -t 2 --types q8_0,q4_0,q5_0,q4_K,q6_K,f16 2>&1 |
        grep -E "896x151936|2048x256000|read bw"
done
for m in qwen-q8_0 qwen-q4_0 qwen-q4_k_m qwen-f16 gemma-q4_0 gemma-q4_k_m; do
    [ -f "$dir/$m.gguf" ] || continue
    for b in "$old" "$new"; do
        echo "== $m $b"
        "$b" bench "$dir/$m.gguf" -t 2 -r 3 --no-ttft 2>&1 | grep -vE '^\s*$'
    done
done
echo "== end $(date)"
