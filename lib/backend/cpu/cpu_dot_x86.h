/* x86 SIMD kernels, included by cpu_dot_avx2.c and cpu_dot_avx512.c with a target
 * pragma and X86_DOT_I8 set. Each (row, token) pair performs exactly the float chain
 * cpu_dot.c defines: exact int32 block sums (integer order is irrelevant), then the
 * same fmaf per block; float weights use 16 lanes (two ymm) and the same final
 * pairwise sum. One row's blocks are unpacked once and reused for every token. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_dot.h"
#include "backend/cpu/cpu_fp16.h"
#include "backend/cpu/cpu_quant.h"

static inline int x86_hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

/* Exact sum of w[i] * x[i] over 32 signed bytes, as 8 int32 lanes. */
static inline __m256i x86_dot_i8(__m256i w, __m256i x) {
    __m256i abs_w = _mm256_sign_epi8(w, w);
    __m256i signed_x = _mm256_sign_epi8(x, w);
    return X86_DOT_U8_I8(abs_w, signed_x);
}

/* 32 bytes, byte i = 0xff where bit i of the 32-bit little-endian qh is set. */
static inline __m256i x86_bits_to_bytes(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    __m256i shuffle = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                        0x0101010101010101, 0x0000000000000000);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuffle);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

static inline __m256i x86_nibbles(const uint8_t *qs) {
    __m128i packed = _mm_loadu_si128((const __m128i *)qs);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

typedef struct { __m256i levels; float d, min; } x86_block32;

static inline x86_block32 x86_unpack(uint32_t type, const uint8_t *row, int64_t b) {
    x86_block32 out;
    out.min = 0.0f;
    switch (type) {
    case GGML_TYPE_Q4_0: {
        const cpu_block_q4_0 *block = (const cpu_block_q4_0 *)row + b;
        out.levels = _mm256_sub_epi8(x86_nibbles(block->qs), _mm256_set1_epi8(8));
        out.d = cpu_fp16_to_f32(block->d);
        break;
    }
    case GGML_TYPE_Q4_1: {
        const cpu_block_q4_1 *block = (const cpu_block_q4_1 *)row + b;
        out.levels = x86_nibbles(block->qs);
        out.d = cpu_fp16_to_f32(block->d);
        out.min = cpu_fp16_to_f32(block->m);
        break;
    }
    case GGML_TYPE_Q5_0: {
        const cpu_block_q5_0 *block = (const cpu_block_q5_0 *)row + b;
        __m256i high = _mm256_and_si256(x86_bits_to_bytes(block->qh), _mm256_set1_epi8(0x10));
        out.levels = _mm256_sub_epi8(_mm256_or_si256(x86_nibbles(block->qs), high), _mm256_set1_epi8(16));
        out.d = cpu_fp16_to_f32(block->d);
        break;
    }
    case GGML_TYPE_Q5_1: {
        const cpu_block_q5_1 *block = (const cpu_block_q5_1 *)row + b;
        __m256i high = _mm256_and_si256(x86_bits_to_bytes(block->qh), _mm256_set1_epi8(0x10));
        out.levels = _mm256_or_si256(x86_nibbles(block->qs), high);
        out.d = cpu_fp16_to_f32(block->d);
        out.min = cpu_fp16_to_f32(block->m);
        break;
    }
    default: {
        const cpu_block_q8_0 *block = (const cpu_block_q8_0 *)row + b;
        out.levels = _mm256_loadu_si256((const __m256i *)block->qs);
        out.d = cpu_fp16_to_f32(block->d);
        break;
    }
    }
    return out;
}

/* Up to 4 rows against n_tokens activation rows; acc[r * 64 + t] holds the per-pair
 * chains. Several rows give the CPU independent chains to overlap (decode has 1 token). */
static inline void x86_rows_blocks32(uint32_t type, int has_min, const uint8_t *w, size_t w_row_bytes,
                                     int n_rows, const uint8_t *x, size_t x_row_bytes,
                                     int64_t n_tokens, int64_t n_blocks, float *acc) {
    for (int r = 0; r < n_rows; r++)
        for (int64_t t = 0; t < n_tokens; t++) acc[r * 64 + t] = 0.0f;
    for (int64_t b = 0; b < n_blocks; b++) {
        x86_block32 wb[4];
        for (int r = 0; r < n_rows; r++) wb[r] = x86_unpack(type, w + (size_t)r * w_row_bytes, b);
        for (int64_t t = 0; t < n_tokens; t++) {
            const cpu_block_q8a *xb = (const cpu_block_q8a *)(x + (size_t)t * x_row_bytes) + b;
            __m256i xq = _mm256_loadu_si256((const __m256i *)xb->qs);
            for (int r = 0; r < n_rows; r++) {
                int sumi = x86_hsum_i32(x86_dot_i8(wb[r].levels, xq));
                float a = fmaf((float)sumi, wb[r].d * xb->d, acc[r * 64 + t]);
                acc[r * 64 + t] = has_min ? fmaf(wb[r].min, xb->s, a) : a;
            }
        }
    }
}

#define X86_GEMM32(name, type, has_min)                                                     \
    __attribute__((unused)) static void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x, \
                     size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y,          \
                     int64_t y_stride) {                                                      \
        float acc[4 * 64];                                                                   \
        for (int64_t t0 = 0; t0 < n_tokens; t0 += 64) {                                      \
            int64_t nt = n_tokens - t0 < 64 ? n_tokens - t0 : 64;                            \
            for (int64_t r = 0; r < n_rows; r += 4) {                                        \
                int nr = n_rows - r < 4 ? (int)(n_rows - r) : 4;                             \
                x86_rows_blocks32(type, has_min, w + (size_t)r * w_row_bytes, w_row_bytes, nr, \
                                  x + (size_t)t0 * x_row_bytes, x_row_bytes, nt, n_cols / 32, acc); \
                for (int k = 0; k < nr; k++)                                                 \
                    for (int64_t t = 0; t < nt; t++) y[(t0 + t) * y_stride + r + k] = acc[k * 64 + t]; \
            }                                                                                \
        }                                                                                    \
    }

X86_GEMM32(x86_gemm_q4_0, GGML_TYPE_Q4_0, 0)
X86_GEMM32(x86_gemm_q4_1, GGML_TYPE_Q4_1, 1)
X86_GEMM32(x86_gemm_q5_0, GGML_TYPE_Q5_0, 0)
X86_GEMM32(x86_gemm_q5_1, GGML_TYPE_Q5_1, 1)
X86_GEMM32(x86_gemm_q8_0, GGML_TYPE_Q8_0, 0)

/* ---- float weights: 16 lanes in two ymm, up to 4 rows share each activation load ---- */

static inline __m256 x86_load8(uint32_t type, const void *row, int64_t i) {
    if (type == GGML_TYPE_F32) return _mm256_loadu_ps((const float *)row + i);
    __m128i halves = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + i));
    if (type == GGML_TYPE_F16) return _mm256_cvtph_ps(halves);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(halves), 16));
}

static inline float x86_weight_at(uint32_t type, const void *row, int64_t i) {
    if (type == GGML_TYPE_F32) return ((const float *)row)[i];
    if (type == GGML_TYPE_F16) return cpu_fp16_to_f32(((const uint16_t *)row)[i]);
    return cpu_bf16_to_f32(((const uint16_t *)row)[i]);
}

static inline float x86_lanes16_sum(__m256 lo, __m256 hi) {
    __m256 v8 = _mm256_add_ps(lo, hi);
    __m128 v4 = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
    __m128 v2 = _mm_add_ps(v4, _mm_movehl_ps(v4, v4));
    return _mm_cvtss_f32(_mm_add_ss(v2, _mm_shuffle_ps(v2, v2, 1)));
}

static inline void x86_float_rows(uint32_t type, const uint8_t *w, size_t w_row_bytes, int n_rows,
                                  const float *x, int64_t n_cols, float *out) {
    __m256 lo[4], hi[4];
    for (int r = 0; r < 4; r++) lo[r] = hi[r] = _mm256_setzero_ps();
    int64_t n_main = n_cols - n_cols % 16;
    for (int64_t i = 0; i < n_main; i += 16) {
        __m256 x_lo = _mm256_loadu_ps(x + i), x_hi = _mm256_loadu_ps(x + i + 8);
        for (int r = 0; r < n_rows; r++) {
            const void *row = w + (size_t)r * w_row_bytes;
            lo[r] = _mm256_fmadd_ps(x86_load8(type, row, i), x_lo, lo[r]);
            hi[r] = _mm256_fmadd_ps(x86_load8(type, row, i + 8), x_hi, hi[r]);
        }
    }
    for (int r = 0; r < n_rows; r++) {
        const void *row = w + (size_t)r * w_row_bytes;
        float sum = x86_lanes16_sum(lo[r], hi[r]);
        for (int64_t i = n_main; i < n_cols; i++) sum = fmaf(x86_weight_at(type, row, i), x[i], sum);
        out[r] = sum;
    }
}

/* Prefill: 3 rows x 3 tokens in registers. A pair's 16 lane chains split into two
 * independent halves (lanes 0-7 take elements i % 16 < 8), so each half runs as its own
 * pass with one ymm per pair: 9 accumulators, 3 weight vectors converted once for 3
 * tokens. Rows or tokens past the end repeat the last one (their sums are dropped).
 * Token groups are the outer loop, so their activations stay in L1 while the rows pass.
 * AVX2 table, 2 threads (bench_matmul): F16 ~55 -> 100-129 GFLOP/s, F32 ~55 -> ~73
 * (3x4, 4x3, 2x5 and 4x2 tiles and rows as the outer loop measured slower). Build with
 * -DX86_FLOAT_ROWS=... -DX86_FLOAT_TOKENS=... to measure other tiles. */
#ifndef X86_FLOAT_ROWS
#define X86_FLOAT_ROWS 3
#endif
#ifndef X86_FLOAT_TOKENS
#define X86_FLOAT_TOKENS 3
#endif
#if defined(__clang__)
#define X86_UNROLL _Pragma("unroll")
#else
#define X86_UNROLL _Pragma("GCC unroll 4")
#endif

static inline void x86_float_tile_half(uint32_t type, const uint8_t *const *rows, const float *const *xs,
                                       int64_t n_main, int half, __m256 out[X86_FLOAT_ROWS][X86_FLOAT_TOKENS]) {
    __m256 acc[X86_FLOAT_ROWS][X86_FLOAT_TOKENS];
    X86_UNROLL for (int r = 0; r < X86_FLOAT_ROWS; r++)
        X86_UNROLL for (int t = 0; t < X86_FLOAT_TOKENS; t++) acc[r][t] = _mm256_setzero_ps();
    for (int64_t i = 8 * half; i < n_main; i += 16) {
        __m256 wv[X86_FLOAT_ROWS];
        X86_UNROLL for (int r = 0; r < X86_FLOAT_ROWS; r++) wv[r] = x86_load8(type, rows[r], i);
        X86_UNROLL for (int t = 0; t < X86_FLOAT_TOKENS; t++) {
            __m256 xv = _mm256_loadu_ps(xs[t] + i);
            X86_UNROLL for (int r = 0; r < X86_FLOAT_ROWS; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
    X86_UNROLL for (int r = 0; r < X86_FLOAT_ROWS; r++)
        X86_UNROLL for (int t = 0; t < X86_FLOAT_TOKENS; t++) out[r][t] = acc[r][t];
}

static inline void x86_float_tile(uint32_t type, const uint8_t *w, size_t w_row_bytes, int n_rows, const uint8_t *x,
                                  size_t x_row_bytes, int n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    const uint8_t *rows[X86_FLOAT_ROWS];
    const float *xs[X86_FLOAT_TOKENS];
    for (int k = 0; k < X86_FLOAT_ROWS; k++) rows[k] = w + (size_t)(k < n_rows ? k : n_rows - 1) * w_row_bytes;
    for (int k = 0; k < X86_FLOAT_TOKENS; k++)
        xs[k] = (const float *)(x + (size_t)(k < n_tokens ? k : n_tokens - 1) * x_row_bytes);
    const int64_t n_main = n_cols - n_cols % 16;
    __m256 lo[X86_FLOAT_ROWS][X86_FLOAT_TOKENS], hi[X86_FLOAT_ROWS][X86_FLOAT_TOKENS];
    x86_float_tile_half(type, rows, xs, n_main, 0, lo);
    x86_float_tile_half(type, rows, xs, n_main, 1, hi);
    for (int r = 0; r < n_rows; r++) {
        for (int t = 0; t < n_tokens; t++) {
            float sum = x86_lanes16_sum(lo[r][t], hi[r][t]);
            for (int64_t i = n_main; i < n_cols; i++) sum = fmaf(x86_weight_at(type, rows[r], i), xs[t][i], sum);
            y[t * y_stride + r] = sum;
        }
    }
}

/* Prefill as above; decode (a token or two): up to 4 rows share each activation load,
 * rows are read once. */
#define X86_GEMM_FLOAT(name, type)                                                           \
    __attribute__((unused)) static void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x, \
                     size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y,          \
                     int64_t y_stride) {                                                      \
        if (n_tokens > 2) {                                                                  \
            for (int64_t t = 0; t < n_tokens; t += X86_FLOAT_TOKENS) {                       \
                int nt = n_tokens - t < X86_FLOAT_TOKENS ? (int)(n_tokens - t) : X86_FLOAT_TOKENS; \
                for (int64_t r = 0; r < n_rows; r += X86_FLOAT_ROWS) {                       \
                    int nr = n_rows - r < X86_FLOAT_ROWS ? (int)(n_rows - r) : X86_FLOAT_ROWS; \
                    x86_float_tile(type, w + (size_t)r * w_row_bytes, w_row_bytes, nr,       \
                                   x + (size_t)t * x_row_bytes, x_row_bytes, nt, n_cols,     \
                                   y + t * y_stride + r, y_stride);                          \
                }                                                                            \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        float out[4];                                                                        \
        for (int64_t r = 0; r < n_rows; r += 4) {                                            \
            int nr = n_rows - r < 4 ? (int)(n_rows - r) : 4;                                 \
            for (int64_t t = 0; t < n_tokens; t++) {                                         \
                x86_float_rows(type, w + (size_t)r * w_row_bytes, w_row_bytes, nr,           \
                               (const float *)(x + (size_t)t * x_row_bytes), n_cols, out);   \
                for (int k = 0; k < nr; k++) y[t * y_stride + r + k] = out[k];               \
            }                                                                                \
        }                                                                                    \
    }

X86_GEMM_FLOAT(x86_gemm_f32, GGML_TYPE_F32)
X86_GEMM_FLOAT(x86_gemm_f16, GGML_TYPE_F16)
X86_GEMM_FLOAT(x86_gemm_bf16, GGML_TYPE_BF16)

/* ---- K-quants: a super-block's levels are unpacked once per row, reused per token ---- */

typedef struct {
    __m256i levels[8];    /* sub-block j of 32 (Q4_K/Q5_K) or quarter j (Q6_K) */
    int16_t scales[16];   /* Q4_K/Q5_K: 8 scales; Q6_K: 16 group scales */
    uint8_t mins[8];
    float d, dmin;
} x86_super_block;

static inline void x86_unpack_k(uint32_t type, const uint8_t *row, int64_t b, x86_super_block *out) {
    const __m256i low_mask = _mm256_set1_epi8(0x0f);
    if (type == GGML_TYPE_Q6_K) {
        const cpu_block_q6_K *block = (const cpu_block_q6_K *)row + b;
        for (int half = 0; half < 2; half++) {
            __m256i ql0 = _mm256_loadu_si256((const __m256i *)(block->ql + 64 * half));
            __m256i ql1 = _mm256_loadu_si256((const __m256i *)(block->ql + 64 * half + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(block->qh + 32 * half));
            __m256i lows[4] = {_mm256_and_si256(ql0, low_mask), _mm256_and_si256(ql1, low_mask),
                               _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_mask),
                               _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_mask)};
            for (int k = 0; k < 4; k++) {
                __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), _mm256_set1_epi8(3));
                out->levels[4 * half + k] = _mm256_or_si256(lows[k], _mm256_slli_epi16(high, 4));
            }
        }
        for (int g = 0; g < 16; g++) out->scales[g] = block->scales[g];
        out->d = cpu_fp16_to_f32(block->d);
        return;
    }
    const uint8_t *qs, *scales;
    __m256i qh = _mm256_setzero_si256();
    if (type == GGML_TYPE_Q4_K) {
        const cpu_block_q4_K *block = (const cpu_block_q4_K *)row + b;
        qs = block->qs;
        scales = block->scales;
        out->d = cpu_fp16_to_f32(block->d);
        out->dmin = cpu_fp16_to_f32(block->dmin);
    } else {
        const cpu_block_q5_K *block = (const cpu_block_q5_K *)row + b;
        qs = block->qs;
        scales = block->scales;
        qh = _mm256_loadu_si256((const __m256i *)block->qh);
        out->d = cpu_fp16_to_f32(block->d);
        out->dmin = cpu_fp16_to_f32(block->dmin);
    }
    for (int chunk = 0; chunk < 4; chunk++) {
        __m256i packed = _mm256_loadu_si256((const __m256i *)(qs + 32 * chunk));
        __m256i lo = _mm256_and_si256(packed, low_mask);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
        if (type == GGML_TYPE_Q5_K) {
            __m256i one = _mm256_set1_epi8(1);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * chunk), one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * chunk + 1), one), 4));
        }
        out->levels[2 * chunk] = lo;
        out->levels[2 * chunk + 1] = hi;
    }
    for (int j = 0; j < 8; j++) {
        uint8_t scale, min;
        cpu_k_scale_min(j, scales, &scale, &min);
        out->scales[j] = scale;
        out->mins[j] = min;
    }
}

/* Levels are unsigned here (Q6_K's -32 is applied through the bsums), so maddubs needs
 * no sign trick: level * x pairs fit int16 (63 * 127 * 2). */
static inline float x86_k_accumulate(uint32_t type, const x86_super_block *w, const cpu_block_q8k *x,
                                     float acc) {
    __m256i sum = _mm256_setzero_si256();
    int correction = 0;
    for (int j = 0; j < 8; j++) {
        __m256i xq = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
        __m256i pairs = _mm256_maddubs_epi16(w->levels[j], xq);
        __m256i scale;
        if (type == GGML_TYPE_Q6_K) {
            /* quarter j of half h covers groups 8h + 2(j%4) and 8h + 2(j%4) + 1;
             * element order within the half: quarter k is elements 32k..32k+31 */
            int group = 8 * (j / 4) + 2 * (j % 4);
            scale = _mm256_set_m128i(_mm_set1_epi16(w->scales[group + 1]), _mm_set1_epi16(w->scales[group]));
            correction += 32 * (w->scales[group] * x->bsums[2 * j] + w->scales[group + 1] * x->bsums[2 * j + 1]);
        } else {
            scale = _mm256_set1_epi16(w->scales[j]);
            correction += w->mins[j] * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
        }
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, scale));
    }
    int sumi = x86_hsum_i32(sum);
    if (type == GGML_TYPE_Q6_K) return fmaf((float)(sumi - correction), w->d * x->d, acc);
    acc = fmaf((float)sumi, w->d * x->d, acc);
    return fmaf((float)correction, -(w->dmin * x->d), acc);
}

#define X86_GEMM_K(name, type)                                                                \
    __attribute__((unused)) static void name(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,  \
                     size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y,           \
                     int64_t y_stride) {                                                       \
        float acc[64];                                                                        \
        x86_super_block sb;                                                                   \
        for (int64_t t0 = 0; t0 < n_tokens; t0 += 64) {                                       \
            int64_t nt = n_tokens - t0 < 64 ? n_tokens - t0 : 64;                             \
            for (int64_t r = 0; r < n_rows; r++) {                                            \
                for (int64_t t = 0; t < nt; t++) acc[t] = 0.0f;                               \
                for (int64_t b = 0; b < n_cols / 256; b++) {                                  \
                    x86_unpack_k(type, w + (size_t)r * w_row_bytes, b, &sb);                  \
                    for (int64_t t = 0; t < nt; t++)                                          \
                        acc[t] = x86_k_accumulate(type, &sb,                                  \
                            (const cpu_block_q8k *)(x + (size_t)(t0 + t) * x_row_bytes) + b, acc[t]); \
                }                                                                             \
                for (int64_t t = 0; t < nt; t++) y[(t0 + t) * y_stride + r] = acc[t];        \
            }                                                                                 \
        }                                                                                     \
    }

X86_GEMM_K(x86_gemm_q4_K, GGML_TYPE_Q4_K)
X86_GEMM_K(x86_gemm_q5_K, GGML_TYPE_Q5_K)
X86_GEMM_K(x86_gemm_q6_K, GGML_TYPE_Q6_K)

/* The table; the remaining arguments initialize its gemm_tile16. */
#define X86_KERNEL_TABLE(table_name, isa_name, ...)                                           \
    static const cpu_kernels table_name = {                                                   \
        .name = isa_name,                                                                     \
        .gemm = {                                                                             \
            [GGML_TYPE_F32] = x86_gemm_f32, [GGML_TYPE_F16] = x86_gemm_f16,                   \
            [GGML_TYPE_BF16] = x86_gemm_bf16, [GGML_TYPE_Q4_0] = x86_gemm_q4_0,               \
            [GGML_TYPE_Q4_1] = x86_gemm_q4_1, [GGML_TYPE_Q5_0] = x86_gemm_q5_0,               \
            [GGML_TYPE_Q5_1] = x86_gemm_q5_1, [GGML_TYPE_Q8_0] = x86_gemm_q8_0,               \
            [GGML_TYPE_Q4_K] = x86_gemm_q4_K, [GGML_TYPE_Q5_K] = x86_gemm_q5_K,               \
            [GGML_TYPE_Q6_K] = x86_gemm_q6_K,                                                 \
        },                                                                                    \
        .gemm_tile16 = { __VA_ARGS__ },                                                       \
        .quantize_q8a = cpu_quantize_act_q8a,                                                 \
        .quantize_q8k = cpu_quantize_act_q8k,                                                 \
    };
