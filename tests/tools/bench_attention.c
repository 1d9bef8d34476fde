/* Times the CPU ops around attention on a TinyLlama-shaped layer (32 query heads, 4 KV
 * heads, head_dim 64, F16 paged K/V in 16-token blocks): paged attention for a chat-turn
 * prefill (60 new tokens over 2,500 cached) and a decode step (1 token over 2,500), plus
 * kv_write, RMSNorm, RoPE and SwiGLU at the same batch sizes, and what they cost per
 * forward pass of the 22-layer model.
 * Usage: bench_attention [threads] [repeats] [context] [new_tokens] [f16|f32|bf16|q8_0]
 * (best of `repeats` runs: other processes share the cores; "cpu" is the process's CPU
 * time per call, all threads together, which other processes do not inflate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "backend/cpu/cpu_ops.h"
#include "core/threadpool.h"

enum { N_HEADS = 32, N_KV_HEADS = 4, HEAD_DIM = 64, BLOCK_SIZE = 16, N_LAYERS = 22, N_EMBD = 2048, N_FF = 5632 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (all threads): unlike wall time it does not grow while
 * other processes hold the cores, so single-thread runs measure the kernels' own cost. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fill_random(float *values, size_t n, uint64_t seed) {
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        values[i] = (float)((double)(state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
}

typedef struct bench_setup {
    core_threadpool *pool;
    sllm_kv_layout layout;
    void *kv_pool;
    int32_t *block_table;
    int32_t *positions;
    float *q, *k, *v, *out, *x, *weight, *gate, *up;
    int64_t context, new_tokens;
    void *attention_scratch;    /* as the CPU backend keeps it: K/V tiles converted once per call */
    size_t attention_scratch_bytes;
} bench_setup;

typedef enum { OP_ATTENTION, OP_KV_WRITE, OP_RMS_NORM, OP_ROPE, OP_SWIGLU } bench_op;

static void run_op(bench_setup *s, bench_op op, int64_t pos0, int64_t n_tokens) {
    switch (op) {
    case OP_ATTENTION:
        cpu_attention(s->pool, s->q, s->kv_pool, &s->layout, 0, s->block_table, pos0, n_tokens, N_HEADS,
                      0.125f, s->out, s->attention_scratch, s->attention_scratch_bytes);
        break;
    case OP_KV_WRITE:
        cpu_kv_write(s->kv_pool, &s->layout, 0, s->block_table, pos0, n_tokens, s->k, s->v);
        break;
    case OP_RMS_NORM:
        cpu_rms_norm(s->pool, s->x, s->weight, n_tokens, N_EMBD, 1e-5f, s->out);
        break;
    case OP_ROPE:
        for (int64_t t = 0; t < n_tokens; t++) s->positions[t] = (int32_t)(pos0 + t);
        cpu_rope(s->pool, s->q, n_tokens, N_HEADS, HEAD_DIM, s->positions, SLLM_ROPE_NORM, HEAD_DIM, 10000.0f,
                 1.0f, NULL);
        break;
    case OP_SWIGLU:
        cpu_swiglu(s->pool, s->gate, s->up, n_tokens * N_FF, s->out);
        break;
    }
}

/* Best wall time and best CPU time of one call, in seconds; calls are repeated until
 * 50 ms have passed (at least once) per sample. */
static void time_op(bench_setup *s, bench_op op, int64_t pos0, int64_t n_tokens, int repeats, double *wall,
                    double *cpu) {
    *wall = *cpu = INFINITY;
    for (int r = 0; r < repeats; r++) {
        int calls = 0;
        double start = now_s(), start_cpu = cpu_s(), elapsed;
        do {
            run_op(s, op, pos0, n_tokens);
            calls++;
            elapsed = now_s() - start;
        } while (elapsed < 0.05);
        double elapsed_cpu = cpu_s() - start_cpu;
        if (elapsed / calls < *wall) *wall = elapsed / calls;
        if (elapsed_cpu / calls < *cpu) *cpu = elapsed_cpu / calls;
    }
}

static void report(bench_setup *s, const char *name, bench_op op, int64_t pos0, int64_t n_tokens, int repeats,
                   int per_forward, double flop) {
    double seconds, cpu_seconds;
    time_op(s, op, pos0, n_tokens, repeats, &seconds, &cpu_seconds);
    printf("  %-10s %8.3f ms/call  %8.2f ms/forward (x%d)  cpu %8.3f ms/call", name, seconds * 1e3,
           seconds * 1e3 * per_forward, per_forward, cpu_seconds * 1e3);
    if (flop > 0) printf("  %6.1f GFLOP/s", flop / seconds * 1e-9);
    printf("\n");
}

static void bench_batch(bench_setup *s, const char *title, int64_t pos0, int64_t n_tokens, int repeats) {
    printf("%s: %lld token(s) at positions %lld..%lld\n", title, (long long)n_tokens, (long long)pos0,
           (long long)(pos0 + n_tokens - 1));
    /* q.k and p.v: 2 FLOP per multiply-add, head_dim each, for every (token, head, key). */
    double keys = (double)n_tokens * (double)pos0 + (double)n_tokens * (double)(n_tokens + 1) / 2.0;
    double flop = 4.0 * HEAD_DIM * N_HEADS * keys;
    report(s, "attention", OP_ATTENTION, pos0, n_tokens, repeats, N_LAYERS, flop);
    report(s, "kv_write", OP_KV_WRITE, pos0, n_tokens, repeats, N_LAYERS, 0);
    report(s, "rms_norm", OP_RMS_NORM, pos0, n_tokens, repeats, 2 * N_LAYERS + 1, 0);
    report(s, "rope", OP_ROPE, pos0, n_tokens, repeats, 2 * N_LAYERS, 0); /* q; k is 8x smaller */
    report(s, "swiglu", OP_SWIGLU, pos0, n_tokens, repeats, N_LAYERS, 0);
}

int main(int argc, char **argv) {
    int n_threads = argc > 1 ? atoi(argv[1]) : 2;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    int64_t context = argc > 3 ? atoll(argv[3]) : 2500;
    int64_t new_tokens = argc > 4 ? atoll(argv[4]) : 60;
    const char *dtype_name = argc > 5 ? argv[5] : "f16";
    sllm_kv_dtype dtype = strcmp(dtype_name, "f32") == 0    ? SLLM_KV_F32
                          : strcmp(dtype_name, "bf16") == 0 ? SLLM_KV_BF16
                          : strcmp(dtype_name, "q8_0") == 0 ? SLLM_KV_Q8_0
                                                            : SLLM_KV_F16;
    if (n_threads < 1 || repeats < 1 || context < 0 || new_tokens < 1) {
        fprintf(stderr, "usage: bench_attention [threads] [repeats] [context] [new_tokens] [f16|f32|bf16|q8_0]\n");
        return 2;
    }
    bench_setup s = { .context = context, .new_tokens = new_tokens };
    s.layout = (sllm_kv_layout){ .n_layers = 1, .n_kv_heads = N_KV_HEADS, .head_dim = HEAD_DIM,
                                 .block_size = BLOCK_SIZE, .dtype = dtype };
    int64_t n_positions = context + new_tokens, n_blocks = (n_positions + BLOCK_SIZE - 1) / BLOCK_SIZE;
    int64_t kv_row = N_KV_HEADS * HEAD_DIM, q_row = N_HEADS * HEAD_DIM;
    int64_t act = new_tokens * (N_FF > q_row ? N_FF : q_row);
    s.kv_pool = malloc(sllm_kv_block_bytes(&s.layout) * (size_t)n_blocks);
    s.block_table = malloc((size_t)n_blocks * sizeof *s.block_table);
    s.positions = malloc((size_t)new_tokens * sizeof *s.positions);
    s.q = malloc((size_t)(new_tokens * q_row) * sizeof(float));
    s.k = malloc((size_t)(n_positions * kv_row) * sizeof(float));
    s.v = malloc((size_t)(n_positions * kv_row) * sizeof(float));
    s.out = malloc((size_t)act * sizeof(float));
    s.x = malloc((size_t)act * sizeof(float));
    s.weight = malloc((size_t)N_EMBD * sizeof(float));
    s.gate = malloc((size_t)act * sizeof(float));
    s.up = malloc((size_t)act * sizeof(float));
    s.attention_scratch_bytes = cpu_attention_scratch_bytes(cpu_ops_kernels_best(), &s.layout, context, new_tokens, N_HEADS);
    s.attention_scratch = malloc(s.attention_scratch_bytes + 1);
    if (!s.attention_scratch || !s.kv_pool || !s.block_table || !s.positions || !s.q || !s.k || !s.v || !s.out || !s.x || !s.weight ||
        !s.gate || !s.up || core_threadpool_create(n_threads, &s.pool) != SLLM_OK) {
        fprintf(stderr, "bench_attention: out of memory\n");
        return 1;
    }
    /* Blocks in reverse order, as a pool that has been recycled hands them out. */
    for (int64_t b = 0; b < n_blocks; b++) s.block_table[b] = (int32_t)(n_blocks - 1 - b);
    fill_random(s.q, (size_t)(new_tokens * q_row), 1);
    fill_random(s.k, (size_t)(n_positions * kv_row), 2);
    fill_random(s.v, (size_t)(n_positions * kv_row), 3);
    fill_random(s.x, (size_t)act, 4);
    fill_random(s.weight, N_EMBD, 5);
    fill_random(s.gate, (size_t)act, 6);
    fill_random(s.up, (size_t)act, 7);
    cpu_kv_write(s.kv_pool, &s.layout, 0, s.block_table, 0, n_positions, s.k, s.v);

    printf("TinyLlama-shaped layer: %d heads, %d KV heads, head_dim %d, %s K/V in blocks of %d; %d threads, best of %d\n",
           N_HEADS, N_KV_HEADS, HEAD_DIM, dtype_name, BLOCK_SIZE, n_threads, repeats);
    bench_batch(&s, "prefill", context, new_tokens, repeats);
    bench_batch(&s, "decode", context, 1, repeats);

    core_threadpool_free(s.pool);
    free(s.kv_pool);
    free(s.block_table);
    free(s.positions);
    free(s.q);
    free(s.k);
    free(s.v);
    free(s.out);
    free(s.x);
    free(s.weight);
    free(s.gate);
    free(s.up);
    free(s.attention_scratch);
    return 0;
}
