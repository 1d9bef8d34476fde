/* Matrix multiply over weights in their GGUF type: activation quantization, thread split.
 *
 * Batch invariance (ARCHITECTURE.md principle 2). Each output y[t][r] is computed by one
 * fixed sequence of float operations whatever n_tokens is, however the caller chunks
 * tokens, and for any thread count:
 *  - activations are quantized per token (each token's blocks depend on that token only);
 *  - threads split output ROWS, never the reduction axis (columns), claiming chunks of
 *    rows as they go;
 *  - every kernel (cpu_dot.c defines the order; the AVX2/AVX-512 tiles reproduce it lane
 *    by lane) computes each (row, token) pair with the same chain of block-wise float
 *    operations, whether the pair sits in a 1x1 tile (decode) or a many-row x many-token
 *    tile (prefill). Tiling only shares loads between pairs; it never merges sums.
 *  - one kernel table is chosen per machine (cpu_kernels_best). Within a table a kernel
 *    may take a different code path for few tokens (decode) than for many (prefill), but
 *    every path performs the same chain per pair, so results are bit-identical (the tests
 *    compare every path with the scalar table by memcmp).
 * Token chunks of CPU_TOKEN_CHUNK keep one chunk's activations in L2 while a tile of
 * weight rows stays in L1. */
#include "backend/cpu/cpu_matmul.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "backend/cpu/cpu_quant.h"
#include "backend/cpu/cpu_tile.h"

/* CPU_CHUNKS_PER_THREAD: with more tokens than one CPU_TOKEN_CHUNK, a claim takes at most
 * n_units / (threads * CPU_CHUNKS_PER_THREAD) units of a part, so that its rows stay in L2
 * while every token chunk passes over them. */
enum { CPU_ROW_UNIT = 16, CPU_TOKEN_CHUNK = 64, CPU_CHUNKS_PER_THREAD = 8, CPU_ACT_FORMATS = 3 };

/* One weight matrix of a task. */
typedef struct matmul_part {
    cpu_gemm_fn gemm;       /* NULL: tile16 on a table without tile kernels, via row_gemm */
    cpu_gemm_fn row_gemm;
    uint32_t weight_type;
    const uint8_t *w;
    size_t w_row_bytes;
    int64_t n_rows;
    const uint8_t *x;       /* the activations in this weight type's format */
    size_t x_row_bytes;
    float *y;
    int64_t n_units;        /* row units of CPU_ROW_UNIT rows (the last may be short) */
    int64_t max_claim;      /* units one claim may take */
    int64_t first_unit;     /* this part's units are [first_unit, first_unit + n_units) of the task's */
} matmul_part;

/* Several weights against the same activations, in one pass of the thread pool. */
typedef struct matmul_task {
    matmul_part parts[CPU_MATMUL_GROUP_MAX];
    int n_parts;
    int64_t n_cols, n_tokens;
    const float *x_f32;
    const cpu_kernels *kernels;
    uint8_t *act[CPU_ACT_FORMATS];      /* quantized activations per format (or NULL) */
    int64_t n_units;                    /* every part's units, one after another */
    int n_threads;
    atomic_llong next_unit;             /* the first unit no thread has claimed */
} matmul_task;

static void split_range(int64_t n_units, int thread_index, int n_threads, int64_t *begin,
                        int64_t *end) {
    *begin = n_units * thread_index / n_threads;
    *end = n_units * (thread_index + 1) / n_threads;
}

static void quantize_tokens(const matmul_task *task, int64_t t_begin, int64_t t_end) {
    for (int format = CPU_ACT_Q8A; format < CPU_ACT_FORMATS; format++) {
        if (task->act[format] == NULL) continue;
        size_t row_bytes = cpu_act_row_bytes((cpu_act_format)format, task->n_cols);
        for (int64_t t = t_begin; t < t_end; t++) {
            const float *x = task->x_f32 + t * task->n_cols;
            uint8_t *out = task->act[format] + (size_t)t * row_bytes;
            if (format == CPU_ACT_Q8A) task->kernels->quantize_q8a(x, (cpu_block_q8a *)out, task->n_cols);
            else task->kernels->quantize_q8k(x, (cpu_block_q8k *)out, task->n_cols);
        }
    }
}

static void quantize_task(void *context, int thread_index, int n_threads) {
    const matmul_task *task = context;
    int64_t begin, end;
    split_range(task->n_tokens, thread_index, n_threads, &begin, &end);
    quantize_tokens(task, begin, end);
}

/* Rows [row_begin, row_end) of one part against every token of the task. */
static void matmul_rows(const matmul_task *task, const matmul_part *part, int64_t row_begin, int64_t row_end) {
    for (int64_t t = 0; t < task->n_tokens; t += CPU_TOKEN_CHUNK) {
        int64_t n_chunk = task->n_tokens - t < CPU_TOKEN_CHUNK ? task->n_tokens - t : CPU_TOKEN_CHUNK;
        const uint8_t *w = part->w + (size_t)row_begin * part->w_row_bytes;
        const uint8_t *x = part->x + (size_t)t * part->x_row_bytes;
        float *y = part->y + t * part->n_rows + row_begin;
        if (part->gemm != NULL)
            part->gemm(w, part->w_row_bytes, row_end - row_begin, x, part->x_row_bytes, n_chunk, task->n_cols, y,
                       part->n_rows);
        else    /* tile16 on a table without tile kernels (the scalar table, tests) */
            cpu_tile16_gemm_via_rows(part->weight_type, part->row_gemm, w, part->w_row_bytes, row_end - row_begin, x,
                                     part->x_row_bytes, n_chunk, task->n_cols, y, part->n_rows);
    }
}

static const matmul_part *part_of_unit(const matmul_task *task, int64_t unit) {
    int i = task->n_parts - 1;
    while (task->parts[i].first_unit > unit) i--;
    return &task->parts[i];
}

/* Guided self-scheduling: a claim takes 1 / (2 * threads) of the task's unclaimed units,
 * at least one, within one part and at most its max_claim. Chunks shrink towards the
 * end, so the threads finish within one unit of each other, and a thread slowed down (by
 * the other's memory traffic, an interrupt) leaves its rows to the others instead of
 * making them wait; yet a decode step claims ~16 times per matrix, not once per unit:
 * every claim moves the counter's cache line between cores. Returns 0 when all are
 * claimed. */
static int claim_units(matmul_task *task, const matmul_part **part, int64_t *unit_begin, int64_t *n_units) {
    long long next = atomic_load_explicit(&task->next_unit, memory_order_relaxed);   /* atomic_llong's type */
    for (;;) {
        if (next >= task->n_units) return 0;
        const matmul_part *owner = part_of_unit(task, next);
        int64_t size = (task->n_units - next) / (2 * (int64_t)task->n_threads);
        int64_t left_in_part = owner->first_unit + owner->n_units - next;
        if (size > owner->max_claim) size = owner->max_claim;
        if (size > left_in_part) size = left_in_part;
        if (size < 1) size = 1;
        if (atomic_compare_exchange_weak_explicit(&task->next_unit, &next, next + size, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *part = owner;
            *unit_begin = next - owner->first_unit;
            *n_units = size;
            return 1;
        }
    }
}

/* Which thread computes a row never changes its value. */
static void matmul_task_run(void *context, int thread_index, int n_threads) {
    matmul_task *task = context;
    const matmul_part *part;
    int64_t unit_begin, n_units;
    while (claim_units(task, &part, &unit_begin, &n_units)) {
        int64_t row_begin = unit_begin * CPU_ROW_UNIT, row_end = row_begin + n_units * CPU_ROW_UNIT;
        matmul_rows(task, part, row_begin, row_end < part->n_rows ? row_end : part->n_rows);
    }
}

size_t cpu_matmul_scratch_bytes(uint32_t weight_type, int64_t n_cols, int64_t n_tokens) {
    cpu_act_format format = cpu_act_format_of(weight_type);
    if (format == CPU_ACT_F32) return 0;
    return cpu_act_row_bytes(format, n_cols) * (size_t)n_tokens;
}

size_t cpu_matmul_group_scratch_bytes(const cpu_matmul_weight *weights, int n, int64_t n_cols, int64_t n_tokens) {
    size_t per_format[CPU_ACT_FORMATS] = { 0 }, total = 0;
    for (int i = 0; i < n; i++)
        per_format[cpu_act_format_of(weights[i].type)] = cpu_matmul_scratch_bytes(weights[i].type, n_cols, n_tokens);
    for (int f = 0; f < CPU_ACT_FORMATS; f++) total += per_format[f];
    return total;
}

static void init_part(const cpu_kernels *kernels, const cpu_matmul_weight *weight, int64_t n_cols, const matmul_task *task,
                      int n_threads, matmul_part *part) {
    cpu_gemm_fn row_gemm = kernels->gemm[weight->type];
    if (row_gemm == NULL) row_gemm = cpu_kernels_scalar()->gemm[weight->type];
    uint64_t w_row_bytes = 0;
    ggml_row_size(weight->type, n_cols, &w_row_bytes);
    cpu_act_format format = cpu_act_format_of(weight->type);
    int64_t n_units = (weight->n_rows + CPU_ROW_UNIT - 1) / CPU_ROW_UNIT;
    int64_t max_claim = n_units;
    if (task->n_tokens > CPU_TOKEN_CHUNK) max_claim = n_units / ((int64_t)n_threads * CPU_CHUNKS_PER_THREAD);
    *part = (matmul_part){
        .gemm = weight->layout == CPU_LAYOUT_TILE16 ? kernels->gemm_tile16[weight->type] : row_gemm,
        .row_gemm = row_gemm, .weight_type = weight->type, .w = weight->data, .w_row_bytes = (size_t)w_row_bytes,
        .n_rows = weight->n_rows, .x = format == CPU_ACT_F32 ? (const uint8_t *)task->x_f32 : task->act[format],
        .x_row_bytes = cpu_act_row_bytes(format, n_cols), .y = weight->y,
        .n_units = n_units, .max_claim = max_claim < 1 ? 1 : max_claim,
    };
}

void cpu_matmul_group_with(const cpu_kernels *kernels, core_threadpool *pool, const cpu_matmul_weight *weights, int n,
                           int64_t n_cols, const float *x, int64_t n_tokens, void *scratch) {
    if (kernels == NULL) {
        cpu_features features = cpu_features_detect();
        kernels = cpu_kernels_best(&features);
    }
    matmul_task task = { .n_parts = n, .n_cols = n_cols, .n_tokens = n_tokens, .x_f32 = x, .kernels = kernels };
    uint8_t *next = scratch;
    int any_quantized = 0;
    for (int i = 0; i < n; i++) {
        cpu_act_format format = cpu_act_format_of(weights[i].type);
        if (format == CPU_ACT_F32 || task.act[format] != NULL) continue;
        task.act[format] = next;
        next += cpu_matmul_scratch_bytes(weights[i].type, n_cols, n_tokens);
        any_quantized = 1;
    }
    task.n_threads = core_threadpool_size(pool);
    for (int i = 0; i < n; i++) {
        init_part(kernels, &weights[i], n_cols, &task, task.n_threads, &task.parts[i]);
        task.parts[i].first_unit = task.n_units;
        task.n_units += task.parts[i].n_units;
    }
    if (any_quantized) {
        /* One token's quantization is cheap; a thread hand-off only pays for many. */
        if (n_tokens >= 4) core_threadpool_run(pool, quantize_task, &task);
        else quantize_tokens(&task, 0, n_tokens);
    }
    core_threadpool_run(pool, matmul_task_run, &task);
}

void cpu_matmul_with(const cpu_kernels *kernels, core_threadpool *pool, uint32_t weight_type,
                     const void *weight, int64_t n_rows, int64_t n_cols, const float *x,
                     int64_t n_tokens, float *y, void *scratch) {
    cpu_matmul_layout_with(kernels, pool, weight_type, CPU_LAYOUT_ROWS, weight, n_rows, n_cols, x, n_tokens, y,
                           scratch);
}

void cpu_matmul_layout_with(const cpu_kernels *kernels, core_threadpool *pool, uint32_t weight_type,
                            cpu_layout layout, const void *weight, int64_t n_rows, int64_t n_cols, const float *x,
                            int64_t n_tokens, float *y, void *scratch) {
    cpu_matmul_weight one = { weight_type, layout, weight, n_rows, y };
    cpu_matmul_group_with(kernels, pool, &one, 1, n_cols, x, n_tokens, scratch);
}

void cpu_matmul(core_threadpool *pool, uint32_t weight_type, const void *weight,
                int64_t n_rows, int64_t n_cols, const float *x, int64_t n_tokens, float *y) {
    size_t scratch_bytes = cpu_matmul_scratch_bytes(weight_type, n_cols, n_tokens);
    void *scratch = scratch_bytes > 0 ? malloc(scratch_bytes) : NULL;
    if (scratch_bytes > 0 && scratch == NULL) {
        /* Out of memory for the activation copy: go token by token with a smaller one
         * (results are identical, only slower); give NaN if even that fails. */
        void *one = malloc(cpu_matmul_scratch_bytes(weight_type, n_cols, 1));
        for (int64_t t = 0; t < n_tokens; t++) {
            if (one != NULL) {
                cpu_matmul_with(NULL, pool, weight_type, weight, n_rows, n_cols, x + t * n_cols, 1,
                                y + t * n_rows, one);
            } else {
                for (int64_t r = 0; r < n_rows; r++) y[t * n_rows + r] = __builtin_nanf("");
            }
        }
        free(one);
        return;
    }
    cpu_matmul_with(NULL, pool, weight_type, weight, n_rows, n_cols, x, n_tokens, y, scratch);
    free(scratch);
}

void cpu_dequantize_row(uint32_t weight_type, const void *weight, int64_t n_cols, int64_t row,
                        float *out) {
    uint64_t row_bytes = 0;
    ggml_row_size(weight_type, n_cols, &row_bytes);
    cpu_dequantize(weight_type, (const uint8_t *)weight + row * row_bytes, out, n_cols);
}
