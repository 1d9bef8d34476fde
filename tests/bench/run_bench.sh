#!/bin/sh
# Benchmarks (figures, not pass/fail): `make bench` runs every group; `BENCH=chat make bench`
# runs one. BENCH_FULL=1 adds the long runs on a TinyLlama-shaped model (tens of minutes
# to hours on a 2-core machine). Each group is a section below; add new ones the same way.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/${BUILD:-build}"
sllm="$build/bin/sllm"
models="${SLLM_MODELS_DIR:-models}"
case "$models" in /*) ;; *) models="$root/$models" ;; esac
export SLLM_TESTDATA="${SLLM_TESTDATA:-$root/../shared/testdata}"
smollm="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
only="${BENCH:-all}"
full="${BENCH_FULL:-0}"
status=0

want() { [ "$only" = all ] || [ "$only" = "$1" ]; }
run() { echo "\$ $*"; "$@" || status=1; echo; }

# A random model with TinyLlama-1.1B's shape (22 layers, 2048 wide, 32/4 heads, 32000
# tokens) in Q8_0, made once under build/bench/. Its context is 4096, not TinyLlama's 2048:
# 20 turns of ~60 + 64 tokens need about 2700.
tinyllama_q8() {
    out="$build/bench/tinyllama-shape-q8_0.gguf"
    if [ ! -f "$out" ]; then
        if [ ! -x "$build/tests/tools/make_model" ]; then echo "build it first: make test-tools" >&2; return 1; fi
        mkdir -p "$build/bench"
        "$build/tests/tools/make_model" --tinyllama --ctx 4096 --type F16 "$build/bench/tinyllama-shape-f16.gguf" >&2 &&
            "$sllm" quantize "$build/bench/tinyllama-shape-f16.gguf" "$out" Q8_0 >/dev/null &&
            rm -f "$build/bench/tinyllama-shape-f16.gguf" || return 1
    fi
    echo "$out"
}

# ---- chat: conversations re-sending their whole history (sllm bench chat) ----------------
if want chat; then
    echo "== sllm bench chat"
    if [ -f "$smollm" ]; then
        run "$sllm" bench chat -m "$smollm" -c 4 -T 6 -u 60 -r 64 -t 2
        run "$sllm" bench chat -m "$smollm" -c 4 -T 6 -u 60 -r 64 -t 2 --interleave
    else
        echo "SKIP: $smollm not found (make models)"
    fi
    if [ "$full" = 1 ]; then
        if model=$(tinyllama_q8); then
            run "$sllm" bench chat -m "$model" -c 1 -T 20 -u 60 -r 64 -t 2
            run "$sllm" bench chat -m "$model" -c 32 -T 20 -u 60 -r 64 -t 2 --interleave --no-baseline
        else
            echo "cannot make the TinyLlama-shaped model"; status=1
        fi
    fi
fi

exit $status
