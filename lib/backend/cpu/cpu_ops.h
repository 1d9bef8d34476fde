/* CPU kernels of a forward pass other than matmul: norms, RoPE, paged attention, SwiGLU. */
#ifndef SLLM_BACKEND_CPU_OPS_H
#define SLLM_BACKEND_CPU_OPS_H

#include <stdint.h>

#include "core/threadpool.h"
#include "statelessllm_backend.h"

/* Limits of the attention kernel's on-stack accumulators. */
enum { CPU_MAX_HEAD_DIM = 512, CPU_MAX_ATTN_GROUP_FLOATS = 8192 };

/* Each row: sum of squares in double, in index order, then one scale per row. Threads
 * split rows. */
void cpu_rms_norm(core_threadpool *pool, const float *x, const float *weight, int64_t n_rows,
                  int64_t width, float eps, float *out);

/* Angles in double from the closed form (no running products), so a position's
 * rotation never depends on which other positions share the call. */
void cpu_rope(core_threadpool *pool, float *x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
              const int32_t *positions, sllm_rope_mode mode, int64_t n_rot, float freq_base,
              float freq_scale, const float *freq_factors);

/* Writes rows into the pool (layout in statelessllm_backend.h), converting to dtype. */
void cpu_kv_write(void *pool, const sllm_kv_layout *layout, int64_t layer, const int32_t *block_table,
                  int64_t pos0, int64_t n_tokens, const float *k, const float *v);

/* Paged causal attention. One work unit is (query token, KV head) with all query heads of
 * its group; keys are visited in position order with an online softmax, so each output's
 * reduction order depends only on its own position. Threads split the units. */
void cpu_attention(core_threadpool *pool, const float *q, const void *kv_pool, const sllm_kv_layout *layout,
                   int64_t layer, const int32_t *block_table, int64_t pos0, int64_t n_tokens,
                   int64_t n_heads, float scale, float *out);

/* out[i] = gate[i] / (1 + exp(-gate[i])) * up[i]. */
void cpu_swiglu(core_threadpool *pool, const float *gate, const float *up, int64_t n_elements, float *out);

/* x[i] += y[i]. */
void cpu_add(core_threadpool *pool, float *x, const float *y, int64_t n_elements);

#endif
