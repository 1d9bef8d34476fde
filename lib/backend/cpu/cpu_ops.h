/* CPU kernels of a forward pass other than matmul: norms, RoPE, paged attention, SwiGLU. */
#ifndef SLLM_BACKEND_CPU_OPS_H
#define SLLM_BACKEND_CPU_OPS_H

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "backend/cpu/cpu_fp16.h"
#include "core/threadpool.h"
#include "statelessllm_backend.h"

/* Limits of the attention kernel's on-stack scratch. */
enum { CPU_MAX_HEAD_DIM = 512, CPU_MAX_ATTN_GROUP_FLOATS = 8192 };

/* Keys are visited in tiles of this many positions, aligned to absolute positions (tile j
 * holds positions [16j, 16j + 16)): the online softmax rescales once per tile, so the
 * tiling is part of every attention result and never depends on the batch. */
enum { CPU_ATTENTION_TILE = 16 };

/* K/V stored in BF16 or Q8_0 (8 significant bits or fewer) are attended to with bf16
 * products, as vdpbf16ps and GPU flash attention for bf16 models compute them: q, k, the
 * softmax weights and v are rounded to bf16, products accumulate in float, and denormal
 * results flush to zero (the instruction's own rule, kept by every table). F32 and F16
 * K/V keep float products: rounding F16 keys to bf16 moved SmolLM2's logits by ~0.3,
 * 7x what F16 storage itself does, enough to flip a greedy near-tie. */
static inline int cpu_attention_in_bf16(const sllm_kv_layout *layout) {
    return (layout->dtype == SLLM_KV_BF16 || layout->dtype == SLLM_KV_Q8_0) && layout->head_dim % 2 == 0;
}

/* x with a denormal flushed to a zero of its sign. */
static inline float cpu_flush_denormal(float x) { return fabsf(x) < FLT_MIN ? copysignf(0.0f, x) : x; }

/* x flushed, then rounded to bf16 (to nearest even), as a float. */
static inline float cpu_bf16_round(float x) { return cpu_bf16_to_f32(cpu_f32_to_bf16(cpu_flush_denormal(x))); }

/* One paged-attention call (see cpu_attention). */
typedef struct cpu_attention_args {
    const float *q;
    const void *kv_pool;
    const sllm_kv_layout *layout;
    int64_t layer;
    const int32_t *block_table;
    int64_t pos0, n_tokens, n_heads;
    float scale;
    float *out;
    /* NULL, or one KV head's K/V tiles as the table's prepare_tiles left them (every
     * unit of the call reads them instead of converting its own copy). */
    const void *tiles;
} cpu_attention_args;

/* One instruction set's element-wise and attention kernels. All tables compute every
 * output with the same sequence of IEEE float operations (fma where the scalar code says
 * fmaf), so they agree bit for bit and any of them is batch-invariant. */
typedef struct cpu_ops_kernels {
    const char *name;       /* "scalar", "avx2", "avx512" */
    /* Query rows one attention work unit takes (a unit's rows share every K/V load). */
    int64_t attention_rows;
    /* The query rows [row0, row0 + n_rows) of KV head kv_head's group, n_rows <=
     * attention_rows; row r is token r / group, query head kv_head * group + r % group. */
    void (*attend)(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows);
    /* NULL, or: tiles [tile0, tile1) (positions 16 * tile ...) of KV head kv_head, all
     * positions written, converted into `tiles` (cpu_attention_tile_bytes each) as
     * `attend` reads them through args->tiles; for the K/V dtypes whose bits are set in
     * prepared_dtypes (1 << sllm_kv_dtype). */
    void (*prepare_tiles)(const cpu_attention_args *args, int64_t kv_head, int64_t tile0, int64_t tile1, void *tiles);
    unsigned prepared_dtypes;
    /* out[i] = cpu_exp(x[i]) (cpu_exp.h). */
    void (*exp)(const float *x, int64_t n, float *out);
    /* out[i] = cpu_swiglu_one(gate[i], up[i]). */
    void (*swiglu)(const float *gate, const float *up, int64_t n, float *out);
    /* One RMSNorm row (reduction order in cpu_ops.c). */
    void (*rms_norm_row)(const float *x, const float *weight, int64_t width, float eps, float *out);
    /* dst[i] = cpu_f32_to_fp16(src[i]). */
    void (*f32_to_f16)(const float *src, int64_t n, uint16_t *dst);
} cpu_ops_kernels;

const cpu_ops_kernels *cpu_ops_kernels_scalar(void);
/* NULL when this build has no such implementation or this CPU cannot run it (checked
 * through the compiler runtime's feature bits: cheap, no cpuid instruction). */
const cpu_ops_kernels *cpu_ops_kernels_avx2(void);
const cpu_ops_kernels *cpu_ops_kernels_avx512(void);
/* The fastest table this CPU runs; the functions below without `_with` use it. */
const cpu_ops_kernels *cpu_ops_kernels_best(void);

/* Each row: sum of squares in double over 16 interleaved lanes combined by a fixed tree,
 * then one scale per row. Threads split rows. */
void cpu_rms_norm(core_threadpool *pool, const float *x, const float *weight, int64_t n_rows,
                  int64_t width, float eps, float *out);
void cpu_rms_norm_with(const cpu_ops_kernels *kernels, core_threadpool *pool, const float *x,
                       const float *weight, int64_t n_rows, int64_t width, float eps, float *out);

/* Angles in double from the closed form (no running products), so a position's
 * rotation never depends on which other positions share the call. */
void cpu_rope(core_threadpool *pool, float *x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
              const int32_t *positions, sllm_rope_mode mode, int64_t n_rot, float freq_base,
              float freq_scale, const float *freq_factors);

/* Writes rows into the pool (layout in statelessllm_backend.h), converting to dtype
 * (F16/BF16: round to nearest even; Q8_0: ggml's quantize_row_q8_0 per row, scale
 * amax / 127 stored as fp16, q = roundf(x / scale)). */
void cpu_kv_write(void *pool, const sllm_kv_layout *layout, int64_t layer, const int32_t *block_table,
                  int64_t pos0, int64_t n_tokens, const float *k, const float *v);

/* n values of K/V rows stored in `dtype` (n a multiple of 32 for Q8_0, whose rows are
 * whole blocks) to float: F16/BF16 widen exactly, Q8_0 is (float)q * fp16-scale, one
 * float multiply. Every kernel table reads K/V through exactly these values. */
void cpu_kv_rows_to_f32(sllm_kv_dtype dtype, const void *src, int64_t n, float *dst);

/* Bytes of one prepared tile (K and V of CPU_ATTENTION_TILE positions of one KV head):
 * bf16 words where attention multiplies in bf16, else floats. */
static inline size_t cpu_attention_tile_bytes(const sllm_kv_layout *layout) {
    size_t element = cpu_attention_in_bf16(layout) ? sizeof(uint16_t) : sizeof(float);
    return (size_t)(2 * CPU_ATTENTION_TILE * layout->head_dim) * element;
}

/* Scratch that lets cpu_attention convert each KV head's K/V once per call instead of
 * once per work unit (same results either way): 0 when the call would not use it, or
 * would need more than CPU_ATTENTION_SCRATCH_MAX (one KV head's history of ~32K
 * positions at head_dim 128 in floats; longer ones convert per unit). */
enum { CPU_ATTENTION_SCRATCH_MAX = 32 << 20 };
size_t cpu_attention_scratch_bytes(const cpu_ops_kernels *kernels, const sllm_kv_layout *layout, int64_t pos0,
                                   int64_t n_tokens, int64_t n_heads);

/* Paged causal attention. A work unit is a run of query rows (token, head) of one KV
 * group; each row visits its keys in CPU_ATTENTION_TILE tiles in position order with an
 * online softmax (cpu_ops.c spells out the exact sequence), so each output's reduction
 * order depends only on its own position. Threads split the units, never the keys. */
void cpu_attention(core_threadpool *pool, const float *q, const void *kv_pool, const sllm_kv_layout *layout,
                   int64_t layer, const int32_t *block_table, int64_t pos0, int64_t n_tokens,
                   int64_t n_heads, float scale, float *out, void *scratch, size_t scratch_bytes);
/* scratch: NULL, or at least cpu_attention_scratch_bytes (args->tiles is ignored). */
void cpu_attention_with(const cpu_ops_kernels *kernels, core_threadpool *pool, const cpu_attention_args *args,
                        void *scratch, size_t scratch_bytes);

/* out[i] = gate[i] / (1 + exp(-gate[i])) * up[i], exp from cpu_exp.h. */
void cpu_swiglu(core_threadpool *pool, const float *gate, const float *up, int64_t n_elements, float *out);
void cpu_swiglu_with(const cpu_ops_kernels *kernels, core_threadpool *pool, const float *gate, const float *up,
                     int64_t n_elements, float *out);

/* x[i] += y[i]. */
void cpu_add(core_threadpool *pool, float *x, const float *y, int64_t n_elements);

#endif
