/* Portable scalar kernels; they DEFINE the reduction order every SIMD kernel reproduces.
 *
 * Float weights (F32, F16, BF16) against float activations: 16 lane accumulators,
 * element i goes to lane i % 16 with one fused multiply-add, in increasing i; the lanes
 * are then summed pairwise (k with k+8, then k+4, then k+2, then 1) and the n % 16 tail
 * elements are added last, one fmaf each. AVX-512 holds the 16 lanes in one register,
 * AVX2 in two.
 *
 * Quantized weights against int8 activation blocks: per block the integer dot product
 * is exact (any order gives the same int32), then one chain of float operations per
 * block in block order:
 *   32-element types:  acc = fmaf((float)sumi, d_w * d_x, acc)   [+ fmaf(m_w, s_x, acc) for _1]
 *   Q4_K, Q5_K:        acc = fmaf((float)sumi, d_w * d_x, acc); acc = fmaf((float)summ, -(dmin_w * d_x), acc)
 *   Q6_K:              acc = fmaf((float)sumi, d_w * d_x, acc)
 * where sumi includes the per-sub-block integer scales and summ = sum_j min_j * bsum_j.
 * SIMD kernels vectorize across (row, token) pairs, one pair per lane, so each lane
 * performs exactly this chain. */
#include <math.h>
#include <stdbool.h>

#include "backend/cpu/cpu_dot.h"
#include "backend/cpu/cpu_fp16.h"
#include "backend/cpu/cpu_quant.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

float cpu_lanes16_sum(const float *lanes) {
    float v8[8], v4[4];
    for (int k = 0; k < 8; k++) v8[k] = lanes[k] + lanes[k + 8];
    for (int k = 0; k < 4; k++) v4[k] = v8[k] + v8[k + 4];
    return (v4[0] + v4[2]) + (v4[1] + v4[3]);
}

#define DEFINE_FLOAT_DOT(name, type, convert)                                   \
    static float name(const void *w_row, const float *x, int64_t n_cols) {     \
        const type *w = w_row;                                                  \
        float lanes[16] = {0};                                                  \
        int64_t n_main = n_cols - n_cols % 16;                                  \
        for (int64_t i = 0; i < n_main; i++)                                    \
            lanes[i % 16] = fmaf(convert(w[i]), x[i], lanes[i % 16]);           \
        float sum = cpu_lanes16_sum(lanes);                                     \
        for (int64_t i = n_main; i < n_cols; i++) sum = fmaf(convert(w[i]), x[i], sum); \
        return sum;                                                             \
    }

static inline float identity_f32(float value) { return value; }
DEFINE_FLOAT_DOT(dot_f32, float, identity_f32)
DEFINE_FLOAT_DOT(dot_f16, uint16_t, cpu_fp16_to_f32)
DEFINE_FLOAT_DOT(dot_bf16, uint16_t, cpu_bf16_to_f32)

static int dot_i8_32(const int8_t *a, const int8_t *b) {
    int sum = 0;
    for (int i = 0; i < 32; i++) sum += a[i] * b[i];
    return sum;
}

/* Unpacks 32-element weight block `index` to signed levels with the zero point removed
 * (_0 types) or unsigned levels with the block minimum in *min (_1 types). */
typedef void (*unpack32_fn)(const void *row, int64_t index, int8_t *levels, float *d, float *min);

static void unpack_q4_0(const void *row, int64_t index, int8_t *levels, float *d, float *min) {
    const cpu_block_q4_0 *block = (const cpu_block_q4_0 *)row + index;
    for (int j = 0; j < 16; j++) {
        levels[j] = (int8_t)((block->qs[j] & 0x0f) - 8);
        levels[j + 16] = (int8_t)((block->qs[j] >> 4) - 8);
    }
    *d = cpu_fp16_to_f32(block->d);
    *min = 0.0f;
}

static void unpack_q4_1(const void *row, int64_t index, int8_t *levels, float *d, float *min) {
    const cpu_block_q4_1 *block = (const cpu_block_q4_1 *)row + index;
    for (int j = 0; j < 16; j++) {
        levels[j] = (int8_t)(block->qs[j] & 0x0f);
        levels[j + 16] = (int8_t)(block->qs[j] >> 4);
    }
    *d = cpu_fp16_to_f32(block->d);
    *min = cpu_fp16_to_f32(block->m);
}

static void levels_q5(const uint8_t *qh_bytes, const uint8_t *qs, int offset, int8_t *levels) {
    uint32_t qh = (uint32_t)qh_bytes[0] | (uint32_t)qh_bytes[1] << 8 |
                  (uint32_t)qh_bytes[2] << 16 | (uint32_t)qh_bytes[3] << 24;
    for (int j = 0; j < 16; j++) {
        levels[j] = (int8_t)(((qs[j] & 0x0f) | (((qh >> j) & 1u) << 4)) - offset);
        levels[j + 16] = (int8_t)(((qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - offset);
    }
}

static void unpack_q5_0(const void *row, int64_t index, int8_t *levels, float *d, float *min) {
    const cpu_block_q5_0 *block = (const cpu_block_q5_0 *)row + index;
    levels_q5(block->qh, block->qs, 16, levels);
    *d = cpu_fp16_to_f32(block->d);
    *min = 0.0f;
}

static void unpack_q5_1(const void *row, int64_t index, int8_t *levels, float *d, float *min) {
    const cpu_block_q5_1 *block = (const cpu_block_q5_1 *)row + index;
    levels_q5(block->qh, block->qs, 0, levels);
    *d = cpu_fp16_to_f32(block->d);
    *min = cpu_fp16_to_f32(block->m);
}

static void unpack_q8_0(const void *row, int64_t index, int8_t *levels, float *d, float *min) {
    const cpu_block_q8_0 *block = (const cpu_block_q8_0 *)row + index;
    for (int j = 0; j < 32; j++) levels[j] = block->qs[j];
    *d = cpu_fp16_to_f32(block->d);
    *min = 0.0f;
}

static float dot_blocks32(unpack32_fn unpack, bool has_min, const void *w_row, const void *x_row,
                          int64_t n_cols) {
    const cpu_block_q8a *x = x_row;
    int8_t levels[32];
    float acc = 0.0f, d, min;
    for (int64_t b = 0; b < n_cols / 32; b++) {
        unpack(w_row, b, levels, &d, &min);
        acc = fmaf((float)dot_i8_32(levels, x[b].qs), d * x[b].d, acc);
        if (has_min) acc = fmaf(min, x[b].s, acc);
    }
    return acc;
}

#define DEFINE_DOT32(name, unpack, has_min)                                       \
    static float name(const void *w_row, const void *x_row, int64_t n_cols) {    \
        return dot_blocks32(unpack, has_min, w_row, x_row, n_cols);              \
    }
DEFINE_DOT32(dot_q4_0, unpack_q4_0, false)
DEFINE_DOT32(dot_q4_1, unpack_q4_1, true)
DEFINE_DOT32(dot_q5_0, unpack_q5_0, false)
DEFINE_DOT32(dot_q5_1, unpack_q5_1, true)
DEFINE_DOT32(dot_q8_0, unpack_q8_0, false)

/* Q4_K/Q5_K: sumi = sum_j scale_j * dot(levels of sub-block j, x), summ = sum_j min_j * bsum_j. */
static float k_accumulate(float acc, const uint8_t *scales, const int8_t *levels,
                          const cpu_block_q8k *x, float d, float dmin) {
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t scale, min;
        cpu_k_scale_min(j, scales, &scale, &min);
        sumi += scale * dot_i8_32(levels + 32 * j, x->qs + 32 * j);
        summ += min * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
    }
    acc = fmaf((float)sumi, d * x->d, acc);
    return fmaf((float)summ, -(dmin * x->d), acc);
}

static float dot_q4_K(const void *w_row, const void *x_row, int64_t n_cols) {
    const cpu_block_q4_K *w = w_row;
    const cpu_block_q8k *x = x_row;
    int8_t levels[256];
    float acc = 0.0f;
    for (int64_t b = 0; b < n_cols / 256; b++) {
        for (int chunk = 0; chunk < 4; chunk++) {
            for (int l = 0; l < 32; l++) {
                levels[64 * chunk + l] = (int8_t)(w[b].qs[32 * chunk + l] & 0x0f);
                levels[64 * chunk + 32 + l] = (int8_t)(w[b].qs[32 * chunk + l] >> 4);
            }
        }
        acc = k_accumulate(acc, w[b].scales, levels, &x[b], cpu_fp16_to_f32(w[b].d),
                           cpu_fp16_to_f32(w[b].dmin));
    }
    return acc;
}

static float dot_q5_K(const void *w_row, const void *x_row, int64_t n_cols) {
    const cpu_block_q5_K *w = w_row;
    const cpu_block_q8k *x = x_row;
    int8_t levels[256];
    float acc = 0.0f;
    for (int64_t b = 0; b < n_cols / 256; b++) {
        for (int chunk = 0; chunk < 4; chunk++) {
            for (int l = 0; l < 32; l++) {
                int qh = w[b].qh[l];
                levels[64 * chunk + l] =
                    (int8_t)((w[b].qs[32 * chunk + l] & 0x0f) | (((qh >> (2 * chunk)) & 1) << 4));
                levels[64 * chunk + 32 + l] =
                    (int8_t)((w[b].qs[32 * chunk + l] >> 4) | (((qh >> (2 * chunk + 1)) & 1) << 4));
            }
        }
        acc = k_accumulate(acc, w[b].scales, levels, &x[b], cpu_fp16_to_f32(w[b].d),
                           cpu_fp16_to_f32(w[b].dmin));
    }
    return acc;
}

static float dot_q6_K(const void *w_row, const void *x_row, int64_t n_cols) {
    const cpu_block_q6_K *w = w_row;
    const cpu_block_q8k *x = x_row;
    float acc = 0.0f;
    for (int64_t b = 0; b < n_cols / 256; b++) {
        const cpu_block_q6_K *block = &w[b];
        int sumi = 0;
        for (int g = 0; g < 16; g++) {
            int group = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++) {
                int half = i / 128, quarter = (i % 128) / 32, l = i % 32;
                int low = block->ql[64 * half + 32 * (quarter % 2) + l];
                low = quarter >= 2 ? low >> 4 : low & 0x0f;
                int high = (block->qh[32 * half + l] >> (2 * quarter)) & 3;
                group += ((low | (high << 4)) - 32) * x[b].qs[i];
            }
            sumi += block->scales[g] * group;
        }
        acc = fmaf((float)sumi, cpu_fp16_to_f32(block->d) * x[b].d, acc);
    }
    return acc;
}

#define DEFINE_SCALAR_GEMM(name, dot, x_type)                                        \
    static void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows,           \
                     const uint8_t *x, size_t x_row_bytes, int64_t n_tokens,         \
                     int64_t n_cols, float *y, int64_t y_stride) {                   \
        for (int64_t t = 0; t < n_tokens; t++)                                       \
            for (int64_t r = 0; r < n_rows; r++)                                     \
                y[t * y_stride + r] = dot(w + (size_t)r * w_row_bytes,               \
                                          (const x_type *)(x + (size_t)t * x_row_bytes), n_cols); \
    }

DEFINE_SCALAR_GEMM(gemm_f32, dot_f32, float)
DEFINE_SCALAR_GEMM(gemm_f16, dot_f16, float)
DEFINE_SCALAR_GEMM(gemm_bf16, dot_bf16, float)
DEFINE_SCALAR_GEMM(gemm_q4_0, dot_q4_0, void)
DEFINE_SCALAR_GEMM(gemm_q4_1, dot_q4_1, void)
DEFINE_SCALAR_GEMM(gemm_q5_0, dot_q5_0, void)
DEFINE_SCALAR_GEMM(gemm_q5_1, dot_q5_1, void)
DEFINE_SCALAR_GEMM(gemm_q8_0, dot_q8_0, void)
DEFINE_SCALAR_GEMM(gemm_q4_K, dot_q4_K, void)
DEFINE_SCALAR_GEMM(gemm_q5_K, dot_q5_K, void)
DEFINE_SCALAR_GEMM(gemm_q6_K, dot_q6_K, void)

static const cpu_kernels scalar_kernels = {
    .name = "scalar",
    .gemm = {
        [GGML_TYPE_F32] = gemm_f32, [GGML_TYPE_F16] = gemm_f16, [GGML_TYPE_BF16] = gemm_bf16,
        [GGML_TYPE_Q4_0] = gemm_q4_0, [GGML_TYPE_Q4_1] = gemm_q4_1, [GGML_TYPE_Q5_0] = gemm_q5_0,
        [GGML_TYPE_Q5_1] = gemm_q5_1, [GGML_TYPE_Q8_0] = gemm_q8_0, [GGML_TYPE_Q4_K] = gemm_q4_K,
        [GGML_TYPE_Q5_K] = gemm_q5_K, [GGML_TYPE_Q6_K] = gemm_q6_K,
    },
    .quantize_q8a = cpu_quantize_act_q8a,
    .quantize_q8k = cpu_quantize_act_q8k,
};

const cpu_kernels *cpu_kernels_scalar(void) { return &scalar_kernels; }
