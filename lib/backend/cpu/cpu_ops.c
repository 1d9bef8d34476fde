/* CPU kernels other than matmul: the scalar kernel table (the reference sequence of float
 * operations every SIMD table reproduces), run-time choice of a table, and the thread
 * split. Each output element's reduction order is fixed (index or position order) and
 * threads split outputs only, so results are bit-identical for any batch size, chunking,
 * thread count and kernel table. */
#include "backend/cpu/cpu_ops.h"

#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_exp.h"
#include "backend/cpu/cpu_fp16.h"
#include "backend/cpu/cpu_quant.h"
#include "format/ggml_types.h"

/* Below these many elements an op runs on the calling thread: each is about 40-80 us of
 * work on one core (bench_attention), less than a pool wake-up can cost when other
 * processes hold the cores. The result is the same either way. */
enum {
    PARALLEL_MIN_ELEMENTS = 1 << 15,            /* attention (elements of work), rope */
    PARALLEL_MIN_SWIGLU = 1 << 17,
    PARALLEL_MIN_STREAMING = 1 << 19            /* rms_norm, add: a few ops per element */
};

/* Element-wise ops hand each thread a multiple of this many elements, so SIMD tails stay
 * at the end of the array (tails compute the same values anyway). */
enum { ELEMENTWISE_ALIGN = 64 };

static void split_range(int64_t n, int thread_index, int n_threads, int64_t *begin, int64_t *end) {
    *begin = n * thread_index / n_threads;
    *end = n * (thread_index + 1) / n_threads;
}

static void split_aligned(int64_t n, int thread_index, int n_threads, int64_t *begin, int64_t *end) {
    int64_t n_chunks = (n + ELEMENTWISE_ALIGN - 1) / ELEMENTWISE_ALIGN;
    split_range(n_chunks, thread_index, n_threads, begin, end);
    *begin = *begin * ELEMENTWISE_ALIGN;
    *end = *end * ELEMENTWISE_ALIGN < n ? *end * ELEMENTWISE_ALIGN : n;
}

static core_threadpool *pool_for(core_threadpool *pool, int64_t n_elements, int64_t min_elements) {
    return n_elements >= min_elements ? pool : NULL;
}

const cpu_ops_kernels *cpu_ops_kernels_best(void) {
    const cpu_ops_kernels *kernels = cpu_ops_kernels_avx512();
    if (kernels == NULL) kernels = cpu_ops_kernels_avx2();
    return kernels != NULL ? kernels : cpu_ops_kernels_scalar();
}

/* ---- scalar kernels ------------------------------------------------------------------- */

static void scalar_exp(const float *x, int64_t n, float *out) {
    for (int64_t i = 0; i < n; i++) out[i] = cpu_exp(x[i]);
}

static void scalar_swiglu(const float *gate, const float *up, int64_t n, float *out) {
    for (int64_t i = 0; i < n; i++) out[i] = cpu_swiglu_one(gate[i], up[i]);
}

static void scalar_f32_to_f16(const float *src, int64_t n, uint16_t *dst) {
    for (int64_t i = 0; i < n; i++) dst[i] = cpu_f32_to_fp16(src[i]);
}

/* Squares (exact in double) go to lane i % 16 in index order; the lanes are then folded
 * in halves (j += j + 8, j += j + 4, j += j + 2, j += j + 1): the order the SIMD tables
 * follow with 8 or 4 doubles per register. */
static void scalar_rms_norm_row(const float *x, const float *weight, int64_t width, float eps, float *out) {
    double lanes[16] = { 0 };
    for (int64_t i = 0; i < width; i++) lanes[i % 16] += (double)x[i] * (double)x[i];
    for (int half = 8; half >= 1; half /= 2)
        for (int j = 0; j < half; j++) lanes[j] += lanes[j + half];
    float scale = (float)(1.0 / sqrt(lanes[0] / (double)width + (double)eps));
    for (int64_t i = 0; i < width; i++) out[i] = x[i] * scale * weight[i];
}

/* Byte offset of the row (block, layer, kv, head, slot) in the pool. */
static size_t kv_offset(const sllm_kv_layout *layout, int64_t block, int64_t layer, int kv, int64_t head,
                        int64_t slot) {
    return (size_t)((((block * layout->n_layers + layer) * 2 + kv) * layout->n_kv_heads + head) *
                        layout->block_size + slot) * sllm_kv_row_bytes(layout);
}

static void load_row(const cpu_attention_args *args, int kv, int64_t kv_head, int64_t pos, float *row) {
    const sllm_kv_layout *layout = args->layout;
    int64_t block = args->block_table[pos / layout->block_size], slot = pos % layout->block_size;
    const unsigned char *src = (const unsigned char *)args->kv_pool +
                               kv_offset(layout, block, args->layer, kv, kv_head, slot);
    cpu_kv_rows_to_f32(layout->dtype, src, layout->head_dim, row);
}

void cpu_kv_rows_to_f32(sllm_kv_dtype dtype, const void *src, int64_t n, float *dst) {
    if (dtype == SLLM_KV_F32) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
    } else if (dtype == SLLM_KV_Q8_0) {
        cpu_dequantize(GGML_TYPE_Q8_0, src, dst, n);
    } else {
        const uint16_t *half = src;
        for (int64_t d = 0; d < n; d++)
            dst[d] = dtype == SLLM_KV_BF16 ? cpu_bf16_to_f32(half[d]) : cpu_fp16_to_f32(half[d]);
    }
}

/* max as x86's maxps computes it (the second operand unless the first is greater). */
static float max_ps(float a, float b) { return a > b ? a : b; }

/* The reference sequence for one query row; every table performs exactly these float
 * operations per row, whatever rows share its vectors:
 *   for each tile of keys (positions [16j, 16j + 16) up to the row's own position):
 *     s_k = (fma chain over d of q[d] * k[d], from 0) * scale, for the tile's keys
 *     m' = max(m, max_k s_k); alpha = exp(m - m'); l = l * alpha; then l += exp(s_k - m')
 *     in key order; acc[d] = acc[d] * alpha, then acc[d] = fma(p_k, v_k[d], acc[d]) in key
 *     order; m = m'
 *   out[d] = acc[d] * (1 / l). */
static void scalar_attend_row(const cpu_attention_args *args, int64_t kv_head, int64_t row) {
    const int64_t head_dim = args->layout->head_dim, group = args->n_heads / args->layout->n_kv_heads;
    const int64_t token = row / group, head = kv_head * group + row % group, last = args->pos0 + token;
    const float *q = args->q + (token * args->n_heads + head) * head_dim;
    float acc[CPU_MAX_HEAD_DIM], key[CPU_MAX_HEAD_DIM], value[CPU_MAX_HEAD_DIM], score[CPU_ATTENTION_TILE];
    float running_max = -INFINITY, running_sum = 0.0f;
    for (int64_t d = 0; d < head_dim; d++) acc[d] = 0.0f;
    for (int64_t start = 0; start <= last; start += CPU_ATTENTION_TILE) {
        int64_t n_keys = last + 1 - start < CPU_ATTENTION_TILE ? last + 1 - start : CPU_ATTENTION_TILE;
        float tile_max = -INFINITY;
        for (int64_t k = 0; k < n_keys; k++) {
            load_row(args, 0, kv_head, start + k, key);
            float dot = 0.0f;
            for (int64_t d = 0; d < head_dim; d++) dot = fmaf(q[d], key[d], dot);
            score[k] = dot * args->scale;
            tile_max = max_ps(tile_max, score[k]);
        }
        float new_max = max_ps(running_max, tile_max);
        float alpha = cpu_exp(running_max - new_max);
        running_sum = running_sum * alpha;
        for (int64_t k = 0; k < n_keys; k++) {
            score[k] = cpu_exp(score[k] - new_max);
            running_sum = running_sum + score[k];
        }
        for (int64_t d = 0; d < head_dim; d++) acc[d] = acc[d] * alpha;
        for (int64_t k = 0; k < n_keys; k++) {
            load_row(args, 1, kv_head, start + k, value);
            for (int64_t d = 0; d < head_dim; d++) acc[d] = fmaf(score[k], value[d], acc[d]);
        }
        running_max = new_max;
    }
    float inv = 1.0f / running_sum;
    float *out = args->out + (token * args->n_heads + head) * head_dim;
    for (int64_t d = 0; d < head_dim; d++) out[d] = acc[d] * inv;
}

static void load_row_bf16(const cpu_attention_args *args, int kv, int64_t kv_head, int64_t pos, float *row) {
    load_row(args, kv, kv_head, pos, row);
    for (int64_t d = 0; d < args->layout->head_dim; d++) row[d] = cpu_bf16_round(row[d]);
}

/* The bf16-product sequence (cpu_attention_in_bf16) for one query row. It is the float
 * sequence above with every operand of a product rounded to bf16, every result flushed
 * when denormal (f below), and the products taken in vdpbf16ps's pair order: q.k runs
 * over dimension pairs (2i, 2i+1) as d = 2i+1 then 2i, and the value sum over key pairs
 * (16j + 2i, 16j + 2i + 1) as the odd key then the even one. The weights are rounded to
 * bf16 before they enter both the running sum and the value sum. */
static void scalar_attend_row_bf16(const cpu_attention_args *args, int64_t kv_head, int64_t row) {
#define f cpu_flush_denormal
    const int64_t head_dim = args->layout->head_dim, group = args->n_heads / args->layout->n_kv_heads;
    const int64_t token = row / group, head = kv_head * group + row % group, last = args->pos0 + token;
    const float *q_row = args->q + (token * args->n_heads + head) * head_dim;
    float q[CPU_MAX_HEAD_DIM], acc[CPU_MAX_HEAD_DIM], key[CPU_MAX_HEAD_DIM], value[CPU_MAX_HEAD_DIM];
    float weight[CPU_ATTENTION_TILE];
    float running_max = -INFINITY, running_sum = 0.0f;
    for (int64_t d = 0; d < head_dim; d++) q[d] = cpu_bf16_round(q_row[d]), acc[d] = 0.0f;
    for (int64_t start = 0; start <= last; start += CPU_ATTENTION_TILE) {
        int64_t n_keys = last + 1 - start < CPU_ATTENTION_TILE ? last + 1 - start : CPU_ATTENTION_TILE;
        float tile_max = -INFINITY;
        for (int64_t k = 0; k < n_keys; k++) {
            load_row_bf16(args, 0, kv_head, start + k, key);
            float dot = 0.0f;
            for (int64_t d = 0; d < head_dim; d += 2) {
                dot = f(fmaf(q[d + 1], key[d + 1], dot));
                dot = f(fmaf(q[d], key[d], dot));
            }
            weight[k] = f(dot * args->scale);
            tile_max = max_ps(tile_max, weight[k]);
        }
        float new_max = max_ps(running_max, tile_max);
        float alpha = cpu_exp(f(running_max - new_max));
        running_sum = f(running_sum * alpha);
        for (int64_t k = 0; k < n_keys; k++) {
            weight[k] = cpu_bf16_round(cpu_exp(f(weight[k] - new_max)));
            running_sum = f(running_sum + weight[k]);
        }
        for (int64_t d = 0; d < head_dim; d++) acc[d] = f(acc[d] * alpha);
        for (int64_t pair = 0; pair < n_keys; pair += 2)
            for (int64_t k = pair + 1; k >= pair; k--) {
                if (k >= n_keys) continue;
                load_row_bf16(args, 1, kv_head, start + k, value);
                for (int64_t d = 0; d < head_dim; d++) acc[d] = f(fmaf(weight[k], value[d], acc[d]));
            }
        running_max = new_max;
    }
    float inv = f(1.0f / running_sum);
    float *out = args->out + (token * args->n_heads + head) * head_dim;
    for (int64_t d = 0; d < head_dim; d++) out[d] = f(acc[d] * inv);
#undef f
}

static void scalar_attend(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows) {
    const int bf16 = cpu_attention_in_bf16(args->layout);
    for (int64_t row = row0; row < row0 + n_rows; row++)
        (bf16 ? scalar_attend_row_bf16 : scalar_attend_row)(args, kv_head, row);
}

static const cpu_ops_kernels scalar_kernels = {
    .name = "scalar",
    .attention_rows = 16,
    .attend = scalar_attend,
    .exp = scalar_exp,
    .swiglu = scalar_swiglu,
    .rms_norm_row = scalar_rms_norm_row,
    .f32_to_f16 = scalar_f32_to_f16,
};

const cpu_ops_kernels *cpu_ops_kernels_scalar(void) { return &scalar_kernels; }

/* ---- RMSNorm ---------------------------------------------------------------------- */

typedef struct rms_task {
    const cpu_ops_kernels *kernels;
    const float *x, *weight;
    float *out;
    int64_t n_rows, width;
    float eps;
} rms_task;

static void rms_norm_rows(void *context, int thread_index, int n_threads) {
    const rms_task *task = context;
    int64_t begin, end;
    split_range(task->n_rows, thread_index, n_threads, &begin, &end);
    for (int64_t r = begin; r < end; r++)
        task->kernels->rms_norm_row(task->x + r * task->width, task->weight, task->width, task->eps,
                                    task->out + r * task->width);
}

void cpu_rms_norm_with(const cpu_ops_kernels *kernels, core_threadpool *pool, const float *x,
                       const float *weight, int64_t n_rows, int64_t width, float eps, float *out) {
    rms_task task = { kernels, x, weight, out, n_rows, width, eps };
    core_threadpool_run(pool_for(pool, n_rows * width, PARALLEL_MIN_STREAMING), rms_norm_rows, &task);
}

void cpu_rms_norm(core_threadpool *pool, const float *x, const float *weight, int64_t n_rows,
                  int64_t width, float eps, float *out) {
    cpu_rms_norm_with(cpu_ops_kernels_best(), pool, x, weight, n_rows, width, eps, out);
}

/* ---- RoPE --------------------------------------------------------------------------- */

typedef struct rope_task {
    float *x;
    int64_t n_tokens, n_heads, head_dim, n_rot;
    const int32_t *positions;
    sllm_rope_mode mode;
    const double *inv_freq;     /* n_rot / 2 */
} rope_task;

static void rope_rows(void *context, int thread_index, int n_threads) {
    const rope_task *task = context;
    const int64_t half = task->n_rot / 2;
    float cos_table[CPU_MAX_HEAD_DIM / 2], sin_table[CPU_MAX_HEAD_DIM / 2];
    int64_t begin, end;
    split_range(task->n_tokens, thread_index, n_threads, &begin, &end);
    for (int64_t t = begin; t < end; t++) {
        for (int64_t i = 0; i < half; i++) {
            double theta = (double)task->positions[t] * task->inv_freq[i];
            cos_table[i] = (float)cos(theta);
            sin_table[i] = (float)sin(theta);
        }
        for (int64_t h = 0; h < task->n_heads; h++) {
            float *head = task->x + (t * task->n_heads + h) * task->head_dim;
            /* NORM pairs (2i, 2i+1); NEOX pairs (i, i + half). */
            const int64_t stride = task->mode == SLLM_ROPE_NEOX ? 1 : 2;
            const int64_t partner = task->mode == SLLM_ROPE_NEOX ? half : 1;
            for (int64_t i = 0; i < half; i++) {
                float *a = head + i * stride, *b = a + partner;
                float x0 = *a, x1 = *b;
                *a = x0 * cos_table[i] - x1 * sin_table[i];
                *b = x0 * sin_table[i] + x1 * cos_table[i];
            }
        }
    }
}

void cpu_rope(core_threadpool *pool, float *x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
              const int32_t *positions, sllm_rope_mode mode, int64_t n_rot, float freq_base,
              float freq_scale, const float *freq_factors) {
    double inv_freq[CPU_MAX_HEAD_DIM / 2];
    for (int64_t i = 0; i < n_rot / 2; i++) {
        inv_freq[i] = pow((double)freq_base, -2.0 * (double)i / (double)n_rot) * (double)freq_scale;
        if (freq_factors) inv_freq[i] /= (double)freq_factors[i];
    }
    rope_task task = { x, n_tokens, n_heads, head_dim, n_rot, positions, mode, inv_freq };
    core_threadpool_run(pool_for(pool, n_tokens * n_heads * head_dim, PARALLEL_MIN_ELEMENTS), rope_rows, &task);
}

/* ---- paged K/V ------------------------------------------------------------------------ */

static void store_row(const cpu_ops_kernels *kernels, void *pool, sllm_kv_dtype dtype, size_t offset,
                      const float *src, int64_t n) {
    void *dst = (unsigned char *)pool + offset;
    if (dtype == SLLM_KV_F32)
        memcpy(dst, src, (size_t)n * sizeof *src);
    else if (dtype == SLLM_KV_Q8_0)
        cpu_quantize(GGML_TYPE_Q8_0, src, dst, n);  /* per row: independent of the batch */
    else if (dtype == SLLM_KV_BF16)
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = cpu_f32_to_bf16(src[i]);
    else
        kernels->f32_to_f16(src, n, dst);
}

void cpu_kv_write(void *pool, const sllm_kv_layout *layout, int64_t layer, const int32_t *block_table,
                  int64_t pos0, int64_t n_tokens, const float *k, const float *v) {
    const cpu_ops_kernels *kernels = cpu_ops_kernels_best();
    const int64_t row = layout->n_kv_heads * layout->head_dim;
    for (int64_t t = 0; t < n_tokens; t++) {
        int64_t pos = pos0 + t;
        int64_t block = block_table[pos / layout->block_size], slot = pos % layout->block_size;
        for (int64_t h = 0; h < layout->n_kv_heads; h++) {
            store_row(kernels, pool, layout->dtype, kv_offset(layout, block, layer, 0, h, slot),
                      k + t * row + h * layout->head_dim, layout->head_dim);
            store_row(kernels, pool, layout->dtype, kv_offset(layout, block, layer, 1, h, slot),
                      v + t * row + h * layout->head_dim, layout->head_dim);
        }
    }
}

typedef struct attention_task {
    const cpu_ops_kernels *kernels;
    const cpu_attention_args *args;
    int64_t rows_per_head;      /* n_tokens * group */
    int64_t kv_head;            /* -1: every head */
    int64_t n_tiles;            /* prepare_tiles: tiles to prepare */
    void *tiles;
} attention_task;

static int64_t attention_chunks(const attention_task *task) {
    const int64_t unit_rows = task->kernels->attention_rows;
    return (task->rows_per_head + unit_rows - 1) / unit_rows;
}

static void attend_unit(const attention_task *task, int64_t kv_head, int64_t chunk) {
    const int64_t unit_rows = task->kernels->attention_rows, row0 = chunk * unit_rows;
    int64_t n_rows = task->rows_per_head - row0 < unit_rows ? task->rows_per_head - row0 : unit_rows;
    task->kernels->attend(task->args, kv_head, row0, n_rows);
}

/* Unit u is chunk u % n_chunks of KV head u / n_chunks: the threads work through one KV
 * head's keys together (they stay in cache), and interleaving the chunks spreads the long
 * causal rows of a prefill evenly. */
static void attention_units(void *context, int thread_index, int n_threads) {
    const attention_task *task = context;
    const int64_t n_chunks = attention_chunks(task);
    if (task->kv_head >= 0) {
        for (int64_t chunk = thread_index; chunk < n_chunks; chunk += n_threads) attend_unit(task, task->kv_head, chunk);
        return;
    }
    for (int64_t unit = thread_index; unit < n_chunks * task->args->layout->n_kv_heads; unit += n_threads)
        attend_unit(task, unit / n_chunks, unit % n_chunks);
}

static void attention_prepare(void *context, int thread_index, int n_threads) {
    const attention_task *task = context;
    int64_t begin, end;
    split_range(task->n_tiles, thread_index, n_threads, &begin, &end);
    if (end > begin)
        task->kernels->prepare_tiles(task->args, task->kv_head, begin, end,
                                     (unsigned char *)task->tiles + (size_t)begin * cpu_attention_tile_bytes(task->args->layout));
}

/* Full tiles (every position written) a call's units can read prepared. */
static int64_t prepared_tiles(int64_t pos0, int64_t n_tokens) { return (pos0 + n_tokens) / CPU_ATTENTION_TILE; }

size_t cpu_attention_scratch_bytes(const cpu_ops_kernels *kernels, const sllm_kv_layout *layout, int64_t pos0,
                                   int64_t n_tokens, int64_t n_heads) {
    const int64_t rows_per_head = n_tokens * (n_heads / layout->n_kv_heads);
    /* One unit per head converts each tile once anyway. */
    if (kernels->prepare_tiles == NULL || !(kernels->prepared_dtypes & (1u << layout->dtype)) ||
        rows_per_head <= kernels->attention_rows)
        return 0;
    size_t bytes = (size_t)prepared_tiles(pos0, n_tokens) * cpu_attention_tile_bytes(layout);
    return bytes <= CPU_ATTENTION_SCRATCH_MAX ? bytes : 0;
}

void cpu_attention_with(const cpu_ops_kernels *kernels, core_threadpool *pool, const cpu_attention_args *args,
                        void *scratch, size_t scratch_bytes) {
    const int64_t group = args->n_heads / args->layout->n_kv_heads;
    cpu_attention_args unit_args = *args;
    unit_args.tiles = NULL;
    attention_task task = { kernels, &unit_args, args->n_tokens * group, -1, 0, NULL };
    int64_t work = args->n_tokens * (args->pos0 + args->n_tokens) * args->n_heads * args->layout->head_dim;
    core_threadpool *workers = pool_for(pool, work, PARALLEL_MIN_ELEMENTS);
    size_t needed = cpu_attention_scratch_bytes(kernels, args->layout, args->pos0, args->n_tokens, args->n_heads);
    if (needed == 0 || scratch == NULL || scratch_bytes < needed) {
        core_threadpool_run(workers, attention_units, &task);
        return;
    }
    /* Head by head: the threads convert its tiles together, then run its units. */
    task.n_tiles = prepared_tiles(args->pos0, args->n_tokens);
    task.tiles = scratch;
    unit_args.tiles = scratch;
    for (task.kv_head = 0; task.kv_head < args->layout->n_kv_heads; task.kv_head++) {
        core_threadpool_run(workers, attention_prepare, &task);
        core_threadpool_run(workers, attention_units, &task);
    }
}

void cpu_attention(core_threadpool *pool, const float *q, const void *kv_pool, const sllm_kv_layout *layout,
                   int64_t layer, const int32_t *block_table, int64_t pos0, int64_t n_tokens,
                   int64_t n_heads, float scale, float *out, void *scratch, size_t scratch_bytes) {
    cpu_attention_args args = { q, kv_pool, layout, layer, block_table, pos0, n_tokens, n_heads, scale, out, NULL };
    cpu_attention_with(cpu_ops_kernels_best(), pool, &args, scratch, scratch_bytes);
}

/* ---- element-wise ---------------------------------------------------------------------- */

typedef struct elementwise_task {
    const cpu_ops_kernels *kernels;
    const float *a, *b;
    float *out;
    int64_t n_elements;
} elementwise_task;

static void swiglu_range(void *context, int thread_index, int n_threads) {
    const elementwise_task *task = context;
    int64_t begin, end;
    split_aligned(task->n_elements, thread_index, n_threads, &begin, &end);
    if (end > begin) task->kernels->swiglu(task->a + begin, task->b + begin, end - begin, task->out + begin);
}

void cpu_swiglu_with(const cpu_ops_kernels *kernels, core_threadpool *pool, const float *gate, const float *up,
                     int64_t n_elements, float *out) {
    elementwise_task task = { kernels, gate, up, out, n_elements };
    core_threadpool_run(pool_for(pool, n_elements, PARALLEL_MIN_SWIGLU), swiglu_range, &task);
}

void cpu_swiglu(core_threadpool *pool, const float *gate, const float *up, int64_t n_elements, float *out) {
    cpu_swiglu_with(cpu_ops_kernels_best(), pool, gate, up, n_elements, out);
}

static void add_range(void *context, int thread_index, int n_threads) {
    const elementwise_task *task = context;
    int64_t begin, end;
    split_range(task->n_elements, thread_index, n_threads, &begin, &end);
    for (int64_t i = begin; i < end; i++) task->out[i] += task->b[i];
}

void cpu_add(core_threadpool *pool, float *x, const float *y, int64_t n_elements) {
    elementwise_task task = { NULL, x, y, x, n_elements };
    core_threadpool_run(pool_for(pool, n_elements, PARALLEL_MIN_STREAMING), add_range, &task);
}
