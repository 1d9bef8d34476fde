/* Row (de)quantization for every weight type, following ggml's reference algorithms. */
#include "backend/cpu/cpu_quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_fp16.h"
#include "format/ggml_types.h"

/* Dequantized values must equal ggml's (and tests/ref/quants.py's) bit for bit, so no
 * multiply-add may be fused behind our back. GCC in ISO C mode already does not fuse. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define CPU_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CPU_MAX(a, b) ((a) > (b) ? (a) : (b))

cpu_act_format cpu_act_format_of(uint32_t weight_type) {
    switch (weight_type) {
    case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1:
    case GGML_TYPE_Q8_0:
        return CPU_ACT_Q8A;
    case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K:
        return CPU_ACT_Q8K;
    default:
        return CPU_ACT_F32;
    }
}

size_t cpu_act_row_bytes(cpu_act_format format, int64_t n_cols) {
    switch (format) {
    case CPU_ACT_Q8A: return (size_t)(n_cols / CPU_QK) * sizeof(cpu_block_q8a);
    case CPU_ACT_Q8K: return (size_t)(n_cols / CPU_QK_K) * sizeof(cpu_block_q8k);
    default: return (size_t)n_cols * sizeof(float);
    }
}

static float quant_abs_max(const float *x, int n) {
    float amax = 0.0f;
    for (int i = 0; i < n; i++) amax = CPU_MAX(amax, fabsf(x[i]));
    return amax;
}

/* nearbyintf(v) for |v| < 2^22 in the default rounding mode (to nearest, ties to even):
 * adding and subtracting 1.5 * 2^23 leaves no fraction bits. Unlike nearbyintf, which
 * baseline x86-64 calls through libm for every element, it compiles to two adds. */
static inline float round_small(float v) {
    const float magic = 12582912.0f;
    return (v + magic) - magic;
}

void cpu_quantize_act_q8a(const float *x, cpu_block_q8a *out, int64_t n_cols) {
    for (int64_t b = 0; b < n_cols / CPU_QK; b++, x += CPU_QK) {
        float d = quant_abs_max(x, CPU_QK) / 127.0f;
        float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int i = 0; i < CPU_QK; i++) {
            int q = (int)round_small(x[i] * inv_d);  /* |x * inv_d| <= 127 */
            out[b].qs[i] = (int8_t)q;
            sum += q;
        }
        out[b].d = d;
        out[b].s = d * (float)sum;
        out[b].sum = sum;
    }
}

void cpu_quantize_act_q8k(const float *x, cpu_block_q8k *out, int64_t n_cols) {
    for (int64_t b = 0; b < n_cols / CPU_QK_K; b++, x += CPU_QK_K) {
        float d = quant_abs_max(x, CPU_QK_K) / 127.0f;
        float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
        for (int g = 0; g < CPU_QK_K / 16; g++) {
            int sum = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++) {
                int q = (int)round_small(x[i] * inv_d);  /* |x * inv_d| <= 127 */
                out[b].qs[i] = (int8_t)q;
                sum += q;
            }
            out[b].bsums[g] = (int16_t)sum;
        }
        out[b].d = d;
    }
}

/* ---- dequantization ------------------------------------------------------------ */

static void dequant_q4_0(const cpu_block_q4_0 *blocks, float *y, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; b++, y += CPU_QK) {
        float d = cpu_fp16_to_f32(blocks[b].d);
        for (int j = 0; j < CPU_QK / 2; j++) {
            y[j] = (float)((blocks[b].qs[j] & 0x0f) - 8) * d;
            y[j + CPU_QK / 2] = (float)((blocks[b].qs[j] >> 4) - 8) * d;
        }
    }
}

static void dequant_q4_1(const cpu_block_q4_1 *blocks, float *y, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; b++, y += CPU_QK) {
        float d = cpu_fp16_to_f32(blocks[b].d), m = cpu_fp16_to_f32(blocks[b].m);
        for (int j = 0; j < CPU_QK / 2; j++) {
            y[j] = (float)(blocks[b].qs[j] & 0x0f) * d + m;
            y[j + CPU_QK / 2] = (float)(blocks[b].qs[j] >> 4) * d + m;
        }
    }
}

static uint32_t load_u32_le(const uint8_t *bytes) {
    return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
           (uint32_t)bytes[3] << 24;
}

/* The five-bit levels of a Q5 block: low nibbles from qs, fifth bit j from qh bit j. */
static void q5_levels(const uint8_t *qh_bytes, const uint8_t *qs, int *levels) {
    uint32_t qh = load_u32_le(qh_bytes);
    for (int j = 0; j < CPU_QK / 2; j++) {
        levels[j] = (int)((qs[j] & 0x0f) | (((qh >> j) & 1u) << 4));
        levels[j + CPU_QK / 2] = (int)((qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
    }
}

static void dequant_q5_0(const cpu_block_q5_0 *blocks, float *y, int64_t n_blocks) {
    int levels[CPU_QK];
    for (int64_t b = 0; b < n_blocks; b++, y += CPU_QK) {
        float d = cpu_fp16_to_f32(blocks[b].d);
        q5_levels(blocks[b].qh, blocks[b].qs, levels);
        for (int j = 0; j < CPU_QK; j++) y[j] = (float)(levels[j] - 16) * d;
    }
}

static void dequant_q5_1(const cpu_block_q5_1 *blocks, float *y, int64_t n_blocks) {
    int levels[CPU_QK];
    for (int64_t b = 0; b < n_blocks; b++, y += CPU_QK) {
        float d = cpu_fp16_to_f32(blocks[b].d), m = cpu_fp16_to_f32(blocks[b].m);
        q5_levels(blocks[b].qh, blocks[b].qs, levels);
        for (int j = 0; j < CPU_QK; j++) y[j] = (float)levels[j] * d + m;
    }
}

static void dequant_q8_0(const cpu_block_q8_0 *blocks, float *y, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; b++, y += CPU_QK) {
        float d = cpu_fp16_to_f32(blocks[b].d);
        for (int j = 0; j < CPU_QK; j++) y[j] = (float)blocks[b].qs[j] * d;
    }
}

/* Sub-block j of a Q4_K/Q5_K block: y = (d * scale_j) * level - (dmin * min_j). */
static void dequant_k_sub_block(float d, float dmin, const uint8_t *scales, int j,
                                const int *levels, float *y) {
    uint8_t scale, min;
    cpu_k_scale_min(j, scales, &scale, &min);
    float d_scale = d * (float)scale, d_min = dmin * (float)min;
    for (int l = 0; l < 32; l++) y[l] = d_scale * (float)levels[l] - d_min;
}

static void dequant_q4_K(const cpu_block_q4_K *blocks, float *y, int64_t n_blocks) {
    int levels[64];
    for (int64_t b = 0; b < n_blocks; b++) {
        float d = cpu_fp16_to_f32(blocks[b].d), dmin = cpu_fp16_to_f32(blocks[b].dmin);
        for (int chunk = 0; chunk < 4; chunk++, y += 64) {
            const uint8_t *qs = blocks[b].qs + 32 * chunk;
            for (int l = 0; l < 32; l++) {
                levels[l] = qs[l] & 0x0f;
                levels[l + 32] = qs[l] >> 4;
            }
            dequant_k_sub_block(d, dmin, blocks[b].scales, 2 * chunk, levels, y);
            dequant_k_sub_block(d, dmin, blocks[b].scales, 2 * chunk + 1, levels + 32, y + 32);
        }
    }
}

static void dequant_q5_K(const cpu_block_q5_K *blocks, float *y, int64_t n_blocks) {
    int levels[64];
    for (int64_t b = 0; b < n_blocks; b++) {
        float d = cpu_fp16_to_f32(blocks[b].d), dmin = cpu_fp16_to_f32(blocks[b].dmin);
        for (int chunk = 0; chunk < 4; chunk++, y += 64) {
            const uint8_t *qs = blocks[b].qs + 32 * chunk;
            for (int l = 0; l < 32; l++) {
                int qh = blocks[b].qh[l];
                levels[l] = (qs[l] & 0x0f) + (((qh >> (2 * chunk)) & 1) << 4);
                levels[l + 32] = (qs[l] >> 4) + (((qh >> (2 * chunk + 1)) & 1) << 4);
            }
            dequant_k_sub_block(d, dmin, blocks[b].scales, 2 * chunk, levels, y);
            dequant_k_sub_block(d, dmin, blocks[b].scales, 2 * chunk + 1, levels + 32, y + 32);
        }
    }
}

/* Level (-32..31) of element i (0..255) of a Q6_K block. Elements come in two halves
 * of 128; within a half, quarter k of 32 takes nibble k/2 of ql[k%2 * 32 + l] and bits
 * 2k..2k+1 of qh[l]. */
static int q6_level(const cpu_block_q6_K *block, int i) {
    int half = i / 128, quarter = (i % 128) / 32, l = i % 32;
    int low = block->ql[64 * half + 32 * (quarter % 2) + l];
    low = quarter >= 2 ? low >> 4 : low & 0x0f;
    int high = (block->qh[32 * half + l] >> (2 * quarter)) & 3;
    return (low | (high << 4)) - 32;
}

static void dequant_q6_K(const cpu_block_q6_K *blocks, float *y, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; b++, y += CPU_QK_K) {
        float d = cpu_fp16_to_f32(blocks[b].d);
        for (int i = 0; i < CPU_QK_K; i++) {
            float scale = d * (float)blocks[b].scales[i / 16];
            y[i] = scale * (float)q6_level(&blocks[b], i);
        }
    }
}

bool cpu_dequantize(uint32_t type, const void *src, float *dst, int64_t n_elements) {
    switch (type) {
    case GGML_TYPE_F32:
        memcpy(dst, src, (size_t)n_elements * sizeof(float));
        return true;
    case GGML_TYPE_F16:
        for (int64_t i = 0; i < n_elements; i++) dst[i] = cpu_fp16_to_f32(((const uint16_t *)src)[i]);
        return true;
    case GGML_TYPE_BF16:
        for (int64_t i = 0; i < n_elements; i++) dst[i] = cpu_bf16_to_f32(((const uint16_t *)src)[i]);
        return true;
    case GGML_TYPE_Q4_0: dequant_q4_0(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q4_1: dequant_q4_1(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q5_0: dequant_q5_0(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q5_1: dequant_q5_1(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q8_0: dequant_q8_0(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q4_K: dequant_q4_K(src, dst, n_elements / CPU_QK_K); return true;
    case GGML_TYPE_Q5_K: dequant_q5_K(src, dst, n_elements / CPU_QK_K); return true;
    case GGML_TYPE_Q6_K: dequant_q6_K(src, dst, n_elements / CPU_QK_K); return true;
    default: return false;
    }
}

/* ---- quantization: 32-element blocks (ggml's quantize_row_*_ref) ------------------ */

/* The element of largest magnitude, with its sign. */
static float quant_signed_max(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    return max;
}

static void quant_min_max(const float *x, int n, float *min, float *max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int i = 0; i < n; i++) {
        *min = CPU_MIN(*min, x[i]);
        *max = CPU_MAX(*max, x[i]);
    }
}

static void quant_q4_0(const float *x, cpu_block_q4_0 *blocks, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; b++, x += CPU_QK) {
        float d = quant_signed_max(x, CPU_QK) / -8.0f;
        float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = cpu_f32_to_fp16(d);
        for (int j = 0; j < CPU_QK / 2; j++) {
            int lo = CPU_MIN(15, (int8_t)(x[j] * inv_d + 8.5f));
            int hi = CPU_MIN(15, (int8_t)(x[j + CPU_QK / 2] * inv_d + 8.5f));
            blocks[b].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

static void quant_q4_1(const float *x, cpu_block_q4_1 *blocks, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; b++, x += CPU_QK) {
        float min, max;
        quant_min_max(x, CPU_QK, &min, &max);
        float d = (max - min) / 15.0f;
        float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = cpu_f32_to_fp16(d);
        blocks[b].m = cpu_f32_to_fp16(min);
        for (int j = 0; j < CPU_QK / 2; j++) {
            int lo = CPU_MIN(15, (int8_t)((x[j] - min) * inv_d + 0.5f));
            int hi = CPU_MIN(15, (int8_t)((x[j + CPU_QK / 2] - min) * inv_d + 0.5f));
            blocks[b].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

static void q5_pack(const int *levels, uint8_t *qh_bytes, uint8_t *qs) {
    uint32_t qh = 0;
    for (int j = 0; j < CPU_QK / 2; j++) {
        int lo = levels[j], hi = levels[j + CPU_QK / 2];
        qs[j] = (uint8_t)((lo & 0x0f) | ((hi & 0x0f) << 4));
        qh |= (uint32_t)((lo >> 4) & 1) << j;
        qh |= (uint32_t)((hi >> 4) & 1) << (j + 16);
    }
    for (int k = 0; k < 4; k++) qh_bytes[k] = (uint8_t)(qh >> (8 * k));
}

static void quant_q5_0(const float *x, cpu_block_q5_0 *blocks, int64_t n_blocks) {
    int levels[CPU_QK];
    for (int64_t b = 0; b < n_blocks; b++, x += CPU_QK) {
        float d = quant_signed_max(x, CPU_QK) / -16.0f;
        float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = cpu_f32_to_fp16(d);
        for (int j = 0; j < CPU_QK; j++) levels[j] = CPU_MIN(31, (int8_t)(x[j] * inv_d + 16.5f));
        q5_pack(levels, blocks[b].qh, blocks[b].qs);
    }
}

static void quant_q5_1(const float *x, cpu_block_q5_1 *blocks, int64_t n_blocks) {
    int levels[CPU_QK];
    for (int64_t b = 0; b < n_blocks; b++, x += CPU_QK) {
        float min, max;
        quant_min_max(x, CPU_QK, &min, &max);
        float d = (max - min) / 31.0f;
        float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = cpu_f32_to_fp16(d);
        blocks[b].m = cpu_f32_to_fp16(min);
        for (int j = 0; j < CPU_QK; j++) levels[j] = CPU_MIN(31, (int)((x[j] - min) * inv_d + 0.5f));
        q5_pack(levels, blocks[b].qh, blocks[b].qs);
    }
}

static void quant_q8_0(const float *x, cpu_block_q8_0 *blocks, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; b++, x += CPU_QK) {
        float d = quant_abs_max(x, CPU_QK) / 127.0f;
        float inv_d = d != 0.0f ? 1.0f / d : 0.0f;
        blocks[b].d = cpu_f32_to_fp16(d);
        for (int j = 0; j < CPU_QK; j++) blocks[b].qs[j] = (int8_t)roundf(x[j] * inv_d);
    }
}

/* ---- quantization: K-quants ----------------------------------------------------- */

static int nearest_int(float value) { return (int)lrintf(value); }

/* Fits x[i] ~ scale * L[i] - min with L in [0, n_levels - 1], minimizing the weighted
 * squared error: starting from the min/max grid, tries n_steps rescaled grids and solves
 * the 2x2 least-squares problem for each (the idea of ggml's make_qkx2_quants). */
static float fit_scale_min(const float *x, const float *weights, int n, int n_levels,
                           float grid_start, float grid_step, int n_steps, uint8_t *levels,
                           float *min_out) {
    int max_level = n_levels - 1;
    float min = x[0], max = x[0], sum_w = 0.0f, sum_x = 0.0f;
    for (int i = 0; i < n; i++) {
        min = CPU_MIN(min, x[i]);
        max = CPU_MAX(max, x[i]);
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0.0f) min = 0.0f;
    if (max == min) {
        memset(levels, 0, (size_t)n);
        *min_out = -min;
        return 0.0f;
    }
    float scale = (max - min) / (float)max_level, best_error = 0.0f;
    for (int i = 0; i < n; i++) {
        int level = CPU_MAX(0, CPU_MIN(max_level, nearest_int((x[i] - min) / scale)));
        levels[i] = (uint8_t)level;
        float diff = scale * (float)level + min - x[i];
        best_error += weights[i] * diff * diff;
    }
    uint8_t trial[CPU_QK_K];
    for (int step = 0; step <= n_steps; step++) {
        float inv_scale = (grid_start + grid_step * (float)step + (float)max_level) / (max - min);
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; i++) {
            int level = CPU_MAX(0, CPU_MIN(max_level, nearest_int(inv_scale * (x[i] - min))));
            trial[i] = (uint8_t)level;
            sum_l += weights[i] * (float)level;
            sum_l2 += weights[i] * (float)(level * level);
            sum_xl += weights[i] * (float)level * x[i];
        }
        float det = sum_w * sum_l2 - sum_l * sum_l;
        if (det <= 0.0f) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_min > 0.0f) {
            this_min = 0.0f;
            this_scale = sum_xl / sum_l2;
        }
        float error = 0.0f;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * (float)trial[i] + this_min - x[i];
            error += weights[i] * diff * diff;
        }
        if (error < best_error) {
            memcpy(levels, trial, (size_t)n);
            best_error = error;
            scale = this_scale;
            min = this_min;
        }
    }
    *min_out = -min;
    return scale;
}

/* Packs 8 six-bit scales and mins into the 12-byte layout cpu_k_scale_min reads. */
static void k_pack_scales(const uint8_t *scales, const uint8_t *mins, uint8_t *packed) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            packed[j] = scales[j];
            packed[j + 4] = mins[j];
        } else {
            packed[j + 4] = (uint8_t)((scales[j] & 0x0f) | ((mins[j] & 0x0f) << 4));
            packed[j - 4] |= (uint8_t)((scales[j] >> 4) << 6);
            packed[j] |= (uint8_t)((mins[j] >> 4) << 6);
        }
    }
}

/* Shared by Q4_K and Q5_K: fits 8 sub-blocks of 32, stores d/dmin/scales, and fills
 * `levels` (0..n_levels-1) requantized against the stored (rounded) scales. */
static void k_quantize_super_block(const float *x, int n_levels, float grid_start, int n_steps,
                                   uint16_t *d_out, uint16_t *dmin_out, uint8_t *packed_scales,
                                   uint8_t *levels) {
    float weights[32], scales[8], mins[8], max_scale = 0.0f, max_min = 0.0f, sum_x2 = 0.0f;
    for (int i = 0; i < CPU_QK_K; i++) sum_x2 += x[i] * x[i];
    float av_x = sqrtf(sum_x2 / CPU_QK_K);
    for (int j = 0; j < 8; j++) {
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = fit_scale_min(x + 32 * j, weights, 32, n_levels, grid_start, 0.1f, n_steps,
                                  levels + 32 * j, &mins[j]);
        max_scale = CPU_MAX(max_scale, scales[j]);
        max_min = CPU_MAX(max_min, mins[j]);
    }
    float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    uint8_t q_scales[8], q_mins[8];
    for (int j = 0; j < 8; j++) {
        q_scales[j] = (uint8_t)CPU_MIN(63, nearest_int(inv_scale * scales[j]));
        q_mins[j] = (uint8_t)CPU_MIN(63, nearest_int(inv_min * mins[j]));
    }
    memset(packed_scales, 0, CPU_K_SCALE_BYTES);
    k_pack_scales(q_scales, q_mins, packed_scales);
    *d_out = cpu_f32_to_fp16(max_scale / 63.0f);
    *dmin_out = cpu_f32_to_fp16(max_min / 63.0f);
    float d = cpu_fp16_to_f32(*d_out), dmin = cpu_fp16_to_f32(*dmin_out);
    for (int j = 0; j < 8; j++) {
        float d_scale = d * (float)q_scales[j];
        if (d_scale == 0.0f) continue;
        float d_min = dmin * (float)q_mins[j];
        for (int l = 0; l < 32; l++) {
            int level = nearest_int((x[32 * j + l] + d_min) / d_scale);
            levels[32 * j + l] = (uint8_t)CPU_MAX(0, CPU_MIN(n_levels - 1, level));
        }
    }
}

static void quant_q4_K(const float *x, cpu_block_q4_K *blocks, int64_t n_blocks) {
    uint8_t levels[CPU_QK_K];
    for (int64_t b = 0; b < n_blocks; b++, x += CPU_QK_K) {
        k_quantize_super_block(x, 16, -1.0f, 20, &blocks[b].d, &blocks[b].dmin, blocks[b].scales,
                               levels);
        for (int chunk = 0; chunk < 4; chunk++)
            for (int l = 0; l < 32; l++)
                blocks[b].qs[32 * chunk + l] =
                    (uint8_t)(levels[64 * chunk + l] | (levels[64 * chunk + 32 + l] << 4));
    }
}

static void quant_q5_K(const float *x, cpu_block_q5_K *blocks, int64_t n_blocks) {
    uint8_t levels[CPU_QK_K];
    for (int64_t b = 0; b < n_blocks; b++, x += CPU_QK_K) {
        k_quantize_super_block(x, 32, -0.5f, 15, &blocks[b].d, &blocks[b].dmin, blocks[b].scales,
                               levels);
        memset(blocks[b].qh, 0, sizeof blocks[b].qh);
        for (int chunk = 0; chunk < 4; chunk++) {
            for (int l = 0; l < 32; l++) {
                int lo = levels[64 * chunk + l], hi = levels[64 * chunk + 32 + l];
                blocks[b].qs[32 * chunk + l] = (uint8_t)((lo & 0x0f) | ((hi & 0x0f) << 4));
                blocks[b].qh[l] |= (uint8_t)(((lo >> 4) << (2 * chunk)) | ((hi >> 4) << (2 * chunk + 1)));
            }
        }
    }
}

/* Best symmetric scale for 16 values with levels in [-32, 31], weighting errors by x^2
 * (ggml's make_qx_quants with rmse_type 1): tries grids around max/-32, then refines
 * the scale by least squares for the chosen levels. */
static float q6_fit_group(const float *x, int *levels) {
    float max = quant_signed_max(x, 16);
    if (fabsf(max) < 1e-15f) {
        for (int i = 0; i < 16; i++) levels[i] = 0;
        return 0.0f;
    }
    float best_scale = 0.0f, best_score = -1.0f;
    for (int step = -9; step <= 9; step++) {
        float inv_scale = -(32.0f + 0.1f * (float)step) / max;
        float sum_lx = 0.0f, sum_l2 = 0.0f;
        int trial[16];
        for (int i = 0; i < 16; i++) {
            trial[i] = CPU_MAX(-32, CPU_MIN(31, nearest_int(inv_scale * x[i])));
            float w = x[i] * x[i];
            sum_lx += w * x[i] * (float)trial[i];
            sum_l2 += w * (float)(trial[i] * trial[i]);
        }
        if (sum_l2 > 0.0f && sum_lx * sum_lx > best_score * sum_l2) {
            best_score = sum_lx * sum_lx / sum_l2;
            best_scale = sum_lx / sum_l2;
            memcpy(levels, trial, sizeof trial);
        }
    }
    return best_scale;
}

static void quant_q6_K(const float *x, cpu_block_q6_K *blocks, int64_t n_blocks) {
    int levels[CPU_QK_K];
    float scales[16];
    for (int64_t b = 0; b < n_blocks; b++, x += CPU_QK_K) {
        float max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int g = 0; g < 16; g++) {
            scales[g] = q6_fit_group(x + 16 * g, levels + 16 * g);
            if (fabsf(scales[g]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[g]);
                max_scale = scales[g];
            }
        }
        cpu_block_q6_K *block = &blocks[b];
        memset(block, 0, sizeof *block);
        if (max_abs_scale < 1e-15f) continue; /* all zero: d = 0 makes every value 0 */
        float inv_scale = -128.0f / max_scale;
        block->d = cpu_f32_to_fp16(1.0f / inv_scale);
        float d = cpu_fp16_to_f32(block->d);
        for (int g = 0; g < 16; g++) {
            block->scales[g] = (int8_t)CPU_MIN(127, nearest_int(inv_scale * scales[g]));
            float d_scale = d * (float)block->scales[g];
            for (int i = 16 * g; i < 16 * g + 16; i++) {
                int level = d_scale != 0.0f ? nearest_int(x[i] / d_scale) : 0;
                levels[i] = CPU_MAX(-32, CPU_MIN(31, level)) + 32;
            }
        }
        for (int half = 0; half < 2; half++) {
            const int *h = levels + 128 * half;
            for (int l = 0; l < 32; l++) {
                block->ql[64 * half + l] = (uint8_t)((h[l] & 0x0f) | ((h[l + 64] & 0x0f) << 4));
                block->ql[64 * half + 32 + l] = (uint8_t)((h[l + 32] & 0x0f) | ((h[l + 96] & 0x0f) << 4));
                block->qh[32 * half + l] = (uint8_t)((h[l] >> 4) | ((h[l + 32] >> 4) << 2) |
                                                     ((h[l + 64] >> 4) << 4) | ((h[l + 96] >> 4) << 6));
            }
        }
    }
}

bool cpu_quantize(uint32_t type, const float *src, void *dst, int64_t n_elements) {
    switch (type) {
    case GGML_TYPE_F32:
        memcpy(dst, src, (size_t)n_elements * sizeof(float));
        return true;
    case GGML_TYPE_F16:
        for (int64_t i = 0; i < n_elements; i++) ((uint16_t *)dst)[i] = cpu_f32_to_fp16(src[i]);
        return true;
    case GGML_TYPE_BF16:
        for (int64_t i = 0; i < n_elements; i++) ((uint16_t *)dst)[i] = cpu_f32_to_bf16(src[i]);
        return true;
    case GGML_TYPE_Q4_0: quant_q4_0(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q4_1: quant_q4_1(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q5_0: quant_q5_0(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q5_1: quant_q5_1(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q8_0: quant_q8_0(src, dst, n_elements / CPU_QK); return true;
    case GGML_TYPE_Q4_K: quant_q4_K(src, dst, n_elements / CPU_QK_K); return true;
    case GGML_TYPE_Q5_K: quant_q5_K(src, dst, n_elements / CPU_QK_K); return true;
    case GGML_TYPE_Q6_K: quant_q6_K(src, dst, n_elements / CPU_QK_K); return true;
    default: return false;
    }
}
