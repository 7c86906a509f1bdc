#!/usr/bin/env bash
# tinylm against the reference peer (llama.cpp) on this host, back to back
# per model, so the comparison is a ratio measured in one run (the peer's
# published figures come from another machine).  Not part of the tests:
#   scripts/peer_bench.sh TINYLM MODEL_DIR [REPEATS]
# MODEL_DIR holds the synth files named in scripts/bench_ab.sh.  The peer is
# node-llama-cpp's prebuilt llama.cpp (npm), installed once into
# ${XDG_CACHE_HOME:-~/.cache}/tinylm/peer.  It ships one CPU library per
# x86 generation and loads the best this CPU runs; on a CPU with AMX that
# one also routes products through AMX, so the peer runs twice: as shipped,
# and with the AMX library set aside (the next best, plain AVX-512).
# With PEER_NATIVE=1 the peer's own llama-bench also runs (the tool the
# published figures come from), built once from the llama.cpp release
# node-llama-cpp ships as a git bundle (about 10 minutes on 2 cores; no
# network needed) for the published figures' instruction set: AVX-512 with
# VNNI and BF16, no AMX (their machine had none; and here, built with
# -march=native, its AMX products crashed on every quantized file).
set -u
tlm=${1:?tinylm binary}; dir=${2:?model dir}; reps=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
peer=${XDG_CACHE_HOME:-$HOME/.cache}/tinylm/peer
if [ ! -d "$peer/node_modules/node-llama-cpp" ]; then
    mkdir -p "$peer" && (cd "$peer" && npm init -y >/dev/null &&
        npm i -E --no-audit --no-fund node-llama-cpp@3.21.1 >/dev/null) || exit 1
fi
cp "$here/peer_bench.mjs" "$peer/"
bins=$peer/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
amx=$bins/libggml-cpu-sapphirerapids.so
restore() { [ -f "$peer/amx.so" ] && mv "$peer/amx.so" "$amx"; }
trap restore EXIT
run_peer() { (cd "$peer" && node peer_bench.mjs "$1" "$reps" "$2" 2>/dev/null | tail -1); }
native=${XDG_CACHE_HOME:-$HOME/.cache}/tinylm/llama.cpp
if [ "${PEER_NATIVE:-0}" = 1 ] && [ ! -x "$native/build512/bin/llama-bench" ]; then
    rm -rf "$native" && git clone -q "$peer/node_modules/node-llama-cpp/llama/gitRelease.bundle" \
        "$native" && cmake -S "$native" -B "$native/build512" -DGGML_NATIVE=OFF -DGGML_AVX=ON \
        -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON \
        -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX512_VBMI=ON -DLLAMA_CURL=OFF \
        -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=OFF >/dev/null && cmake --build "$native/build512" -j"$(nproc)" \
        --target llama-bench >/dev/null || exit 1
fi
run_native() {
    "$native/build512/bin/llama-bench" -m "$1" -t 2 -p 512 -n "$2" -r "$reps" 2>/dev/null |
        grep -E "pp512|tg$2" | awk -F'|' '{print $(NF-2) ":" $(NF-1)}' | tr -s ' ' | tr '\n' ' '
}
echo "== $(date) $(uptime)"
for m in qwen-q8_0 qwen-q4_0 qwen-q4_k_m qwen-f16 gemma-q4_0 gemma-q4_k_m; do
    f=$dir/$m.gguf
    [ -f "$f" ] || continue
    n=128; case $m in gemma*) n=64 ;; esac # the peer's published Gemma row is tg64
    echo "== $m"
    "$tlm" bench "$f" -t 2 -r "$reps" -n "$n" --no-ttft 2>&1 | grep -E "pp512|tg$n|tg vs"
    echo "peer (as shipped): $(run_peer "$f" "$n")"
    [ -f "$amx" ] && mv "$amx" "$peer/amx.so"
    echo "peer (no AMX):     $(run_peer "$f" "$n")"
    restore
    if [ "${PEER_NATIVE:-0}" = 1 ]; then echo "peer (llama-bench): $(run_native "$f" "$n")"; fi
done
echo "== end $(date)"
