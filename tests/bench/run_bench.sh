#!/bin/sh
# Benchmarks (figures, not pass/fail): `make bench` runs every group (tokenize, model, chat,
# kernels); `BENCH=chat make bench` runs one. BENCH_FULL=1 adds the long runs on a
# TinyLlama-shaped model (tens of minutes to hours on a 2-core machine). Each group is a
# section below; add new ones the same way.
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

# Random models with TinyLlama-1.1B's shape (22 layers, 2048 wide, 32/4 heads, feed-forward
# 5632, 32000 tokens), made once under build/bench/ by the project's own writer and
# quantizer. Context 4096, not TinyLlama's 2048: 20 chat turns of ~60 + 64 tokens need ~2700.
tinyllama() {
    type=$1
    f16="$build/bench/tinyllama-shape-f16.gguf"
    out="$build/bench/tinyllama-shape-$(echo "$type" | tr 'A-Z' 'a-z').gguf"
    [ -f "$out" ] && { echo "$out"; return 0; }
    if [ ! -x "$build/tests/tools/make_model" ]; then echo "build it first: make test-tools" >&2; return 1; fi
    mkdir -p "$build/bench"
    if [ ! -f "$f16" ]; then
        "$build/tests/tools/make_model" --tinyllama --ctx 4096 --type F16 "$f16" >&2 || return 1
    fi
    [ "$type" = F16 ] && { echo "$f16"; return 0; }
    "$sllm" quantize "$f16" "$out" "$type" >/dev/null || return 1
    echo "$out"
}
tinyllama_q8() { tinyllama Q8_0; }

# ---- tokenize: one thread, load included and excluded (sllm bench tokenize) ---------------
if want tokenize; then
    echo "== sllm bench tokenize"
    text="$SLLM_TESTDATA/text/war-and-peace.txt"
    if [ -f "$text" ]; then
        for vocab in "$SLLM_TESTDATA/vocab/ggml-vocab-llama-spm.gguf" "$SLLM_TESTDATA/vocab/ggml-vocab-gpt-2.gguf" "$smollm"; do
            [ -f "$vocab" ] && run "$sllm" bench tokenize -m "$vocab" -f "$text"
        done
    else
        echo "SKIP: $text not found"
    fi
fi

# ---- model: prompt and decode speed, bandwidth efficiency (sllm bench) --------------------
if want model; then
    echo "== sllm bench"
    [ -f "$smollm" ] && run "$sllm" bench -m "$smollm" -p 128 -n 64 -t 2
    if [ "$full" = 1 ]; then
        for type in F16 Q8_0 Q4_0 Q4_K_M; do
            if model=$(tinyllama "$type"); then
                run "$sllm" bench -m "$model" -p 128 -n 64 -t 2
            else
                echo "cannot make the TinyLlama-shaped $type model"; status=1
            fi
        done
    fi
fi

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

# ---- kernels: matmul per weight type and table, attention at chat-turn sizes ---------------
if want kernels; then
    echo "== kernels"
    tools="$build/tests/tools"
    if [ -x "$tools/bench_matmul" ] && [ -x "$tools/bench_attention" ]; then
        types="F16 Q8_0 Q4_0 Q4_1 Q5_0 Q4_K Q5_K Q6_K"
        run "$tools/bench_matmul" 2 5 $types
        # the AVX2 table too, on CPUs that also have the AVX-512 one (what AVX2-only CPUs run)
        if grep -q avx512_vnni /proc/cpuinfo 2>/dev/null; then
            run env BENCH_KERNELS=avx2 "$tools/bench_matmul" 2 5 $types
        fi
        for kv in f16 bf16; do run "$tools/bench_attention" 2 15 2700 85 "$kv"; done
    else
        echo "build them first: make test-tools"; status=1
    fi
fi

exit $status
