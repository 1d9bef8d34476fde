/* CPU kernels other than matmul. Each output element's reduction order is fixed (index or
 * position order) and threads split outputs only, so results are bit-identical for any
 * batch size, chunking and thread count. */
#include "backend/cpu/cpu_ops.h"

#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_fp16.h"

/* Below this many elements an op runs on the calling thread: waking the pool costs more
 * than the work. The result is the same either way. */
enum { PARALLEL_MIN_ELEMENTS = 1 << 15 };

static void split_range(int64_t n, int thread_index, int n_threads, int64_t *begin, int64_t *end) {
    *begin = n * thread_index / n_threads;
    *end = n * (thread_index + 1) / n_threads;
}

static core_threadpool *pool_for(core_threadpool *pool, int64_t n_elements) {
    return n_elements >= PARALLEL_MIN_ELEMENTS ? pool : NULL;
}

/* Eight running sums combined in a fixed order: vectorizable, and the same order for
 * every call. */
static float dot_f32(const float *a, const float *b, int64_t n) {
    float lanes[8] = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) lanes[j] += a[i + j] * b[i + j];
    float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

/* ---- RMSNorm ---------------------------------------------------------------------- */

typedef struct rms_task {
    const float *x, *weight;
    float *out;
    int64_t n_rows, width;
    float eps;
} rms_task;

static void rms_norm_rows(void *context, int thread_index, int n_threads) {
    const rms_task *task = context;
    int64_t begin, end;
    split_range(task->n_rows, thread_index, n_threads, &begin, &end);
    for (int64_t r = begin; r < end; r++) {
        const float *x = task->x + r * task->width;
        float *out = task->out + r * task->width;
        double sum = 0.0;
        for (int64_t i = 0; i < task->width; i++) sum += (double)x[i] * (double)x[i];
        float scale = (float)(1.0 / sqrt(sum / (double)task->width + (double)task->eps));
        for (int64_t i = 0; i < task->width; i++) out[i] = x[i] * scale * task->weight[i];
    }
}

void cpu_rms_norm(core_threadpool *pool, const float *x, const float *weight, int64_t n_rows,
                  int64_t width, float eps, float *out) {
    rms_task task = { x, weight, out, n_rows, width, eps };
    core_threadpool_run(pool_for(pool, n_rows * width), rms_norm_rows, &task);
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
    core_threadpool_run(pool_for(pool, n_tokens * n_heads * head_dim), rope_rows, &task);
}

/* ---- paged K/V ------------------------------------------------------------------------ */

/* Element index of (block, layer, kv, head, slot, 0) in the pool. */
static size_t kv_index(const sllm_kv_layout *layout, int64_t block, int64_t layer, int kv, int64_t head,
                       int64_t slot) {
    return (size_t)((((block * layout->n_layers + layer) * 2 + kv) * layout->n_kv_heads + head) *
                        layout->block_size + slot) * (size_t)layout->head_dim;
}

static void store_row(void *pool, sllm_kv_dtype dtype, size_t index, const float *src, int64_t n) {
    if (dtype == SLLM_KV_F32) {
        memcpy((float *)pool + index, src, (size_t)n * sizeof *src);
        return;
    }
    uint16_t *dst = (uint16_t *)pool + index;
    if (dtype == SLLM_KV_BF16)
        for (int64_t i = 0; i < n; i++) dst[i] = cpu_f32_to_bf16(src[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = cpu_f32_to_fp16(src[i]);
}

void cpu_kv_write(void *pool, const sllm_kv_layout *layout, int64_t layer, const int32_t *block_table,
                  int64_t pos0, int64_t n_tokens, const float *k, const float *v) {
    const int64_t row = layout->n_kv_heads * layout->head_dim;
    for (int64_t t = 0; t < n_tokens; t++) {
        int64_t pos = pos0 + t;
        int64_t block = block_table[pos / layout->block_size], slot = pos % layout->block_size;
        for (int64_t h = 0; h < layout->n_kv_heads; h++) {
            store_row(pool, layout->dtype, kv_index(layout, block, layer, 0, h, slot), k + t * row + h * layout->head_dim,
                      layout->head_dim);
            store_row(pool, layout->dtype, kv_index(layout, block, layer, 1, h, slot), v + t * row + h * layout->head_dim,
                      layout->head_dim);
        }
    }
}

/* Row `index` of the pool as floats: a pointer into the pool for F32, else converted
 * into `scratch`. */
static const float *load_row(const void *pool, sllm_kv_dtype dtype, size_t index, int64_t n, float *scratch) {
    if (dtype == SLLM_KV_F32) return (const float *)pool + index;
    const uint16_t *src = (const uint16_t *)pool + index;
    if (dtype == SLLM_KV_BF16)
        for (int64_t i = 0; i < n; i++) scratch[i] = cpu_bf16_to_f32(src[i]);
    else
        for (int64_t i = 0; i < n; i++) scratch[i] = cpu_fp16_to_f32(src[i]);
    return scratch;
}

typedef struct attention_task {
    const float *q;
    const void *kv_pool;
    const sllm_kv_layout *layout;
    int64_t layer;
    const int32_t *block_table;
    int64_t pos0, n_tokens, n_heads;
    float scale;
    float *out;
} attention_task;

/* Query heads [first_head, first_head + group) of token t against KV head kv_head. */
static void attend_group(const attention_task *task, int64_t t, int64_t kv_head) {
    const sllm_kv_layout *layout = task->layout;
    const int64_t head_dim = layout->head_dim, group = task->n_heads / layout->n_kv_heads;
    const int64_t first_head = kv_head * group, n_keys = task->pos0 + t + 1;
    const float *q = task->q + (t * task->n_heads + first_head) * head_dim;
    float k_scratch[CPU_MAX_HEAD_DIM], v_scratch[CPU_MAX_HEAD_DIM];
    float acc[CPU_MAX_ATTN_GROUP_FLOATS];
    float running_max[CPU_MAX_ATTN_GROUP_FLOATS / 16], running_sum[CPU_MAX_ATTN_GROUP_FLOATS / 16];
    memset(acc, 0, (size_t)(group * head_dim) * sizeof *acc);
    for (int64_t g = 0; g < group; g++) {
        running_max[g] = -INFINITY;
        running_sum[g] = 0.0f;
    }
    for (int64_t pos = 0; pos < n_keys; pos++) {
        int64_t block = task->block_table[pos / layout->block_size], slot = pos % layout->block_size;
        const float *k = load_row(task->kv_pool, layout->dtype, kv_index(layout, block, task->layer, 0, kv_head, slot),
                                  head_dim, k_scratch);
        const float *v = load_row(task->kv_pool, layout->dtype, kv_index(layout, block, task->layer, 1, kv_head, slot),
                                  head_dim, v_scratch);
        for (int64_t g = 0; g < group; g++) {
            float score = dot_f32(q + g * head_dim, k, head_dim) * task->scale;
            float *a = acc + g * head_dim;
            if (score > running_max[g]) {
                float correction = expf(running_max[g] - score);
                running_sum[g] *= correction;
                for (int64_t d = 0; d < head_dim; d++) a[d] *= correction;
                running_max[g] = score;
            }
            float weight = expf(score - running_max[g]);
            running_sum[g] += weight;
            for (int64_t d = 0; d < head_dim; d++) a[d] += weight * v[d];
        }
    }
    for (int64_t g = 0; g < group; g++) {
        float *out = task->out + (t * task->n_heads + first_head + g) * head_dim;
        float inv = 1.0f / running_sum[g];
        for (int64_t d = 0; d < head_dim; d++) out[d] = acc[g * head_dim + d] * inv;
    }
}

/* Units are interleaved across threads so that the long causal rows of a prefill spread
 * evenly. */
static void attention_units(void *context, int thread_index, int n_threads) {
    const attention_task *task = context;
    const int64_t n_kv_heads = task->layout->n_kv_heads, n_units = task->n_tokens * n_kv_heads;
    for (int64_t unit = thread_index; unit < n_units; unit += n_threads)
        attend_group(task, unit / n_kv_heads, unit % n_kv_heads);
}

void cpu_attention(core_threadpool *pool, const float *q, const void *kv_pool, const sllm_kv_layout *layout,
                   int64_t layer, const int32_t *block_table, int64_t pos0, int64_t n_tokens,
                   int64_t n_heads, float scale, float *out) {
    attention_task task = { q, kv_pool, layout, layer, block_table, pos0, n_tokens, n_heads, scale, out };
    int64_t work = n_tokens * (pos0 + n_tokens) * n_heads * layout->head_dim;
    core_threadpool_run(pool_for(pool, work), attention_units, &task);
}

/* ---- element-wise ---------------------------------------------------------------------- */

typedef struct elementwise_task {
    const float *a, *b;
    float *out;
    int64_t n_elements;
} elementwise_task;

static void swiglu_range(void *context, int thread_index, int n_threads) {
    const elementwise_task *task = context;
    int64_t begin, end;
    split_range(task->n_elements, thread_index, n_threads, &begin, &end);
    for (int64_t i = begin; i < end; i++) {
        float gate = task->a[i];
        task->out[i] = gate / (1.0f + expf(-gate)) * task->b[i];
    }
}

void cpu_swiglu(core_threadpool *pool, const float *gate, const float *up, int64_t n_elements, float *out) {
    elementwise_task task = { gate, up, out, n_elements };
    core_threadpool_run(pool_for(pool, n_elements), swiglu_range, &task);
}

static void add_range(void *context, int thread_index, int n_threads) {
    const elementwise_task *task = context;
    int64_t begin, end;
    split_range(task->n_elements, thread_index, n_threads, &begin, &end);
    for (int64_t i = begin; i < end; i++) task->out[i] += task->b[i];
}

void cpu_add(core_threadpool *pool, float *x, const float *y, int64_t n_elements) {
    elementwise_task task = { x, y, x, n_elements };
    core_threadpool_run(pool_for(pool, n_elements), add_range, &task);
}
