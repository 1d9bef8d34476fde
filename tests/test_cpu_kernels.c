/* Tests for lib/backend/cpu: block dequantization, quantization error, matmul accuracy,
 * batch invariance, SIMD == scalar, and the thread pool. */
#include <check.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_fp16.h"
#include "backend/cpu/cpu_matmul.h"
#include "backend/cpu/cpu_quant.h"
#include "core/threadpool.h"
#include "format/ggml_types.h"
#include "testutil.h"

static const uint32_t all_types[] = {
    GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,
    GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
};
enum { N_TYPES = sizeof all_types / sizeof all_types[0] };

static uint64_t rng_next(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static float rng_gauss(uint64_t *state) {
    double u1 = ((double)(rng_next(state) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(rng_next(state) >> 11) + 0.5) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static float *gauss_array(int64_t n, uint64_t seed) {
    float *values = malloc((size_t)n * sizeof *values);
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int64_t i = 0; i < n; i++) values[i] = rng_gauss(&state);
    return values;
}

static void *quantize_matrix(uint32_t type, const float *values, int64_t n_rows, int64_t n_cols) {
    uint64_t row_bytes;
    ck_assert(ggml_row_size(type, n_cols, &row_bytes));
    uint8_t *data = malloc(row_bytes * (size_t)n_rows);
    for (int64_t r = 0; r < n_rows; r++)
        ck_assert(cpu_quantize(type, values + r * n_cols, data + r * row_bytes, n_cols));
    return data;
}

/* ---- dequantization of hand-built blocks (values worked out from ggml's layouts) ---- */

START_TEST(test_q4_0_block_dequantizes_to_known_values) {
    cpu_block_q4_0 block = {.d = 0x4000}; /* 2.0 */
    for (int j = 0; j < 16; j++) block.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    float y[32];
    ck_assert(cpu_dequantize(GGML_TYPE_Q4_0, &block, y, 32));
    for (int j = 0; j < 16; j++) {
        ck_assert_float_eq(y[j], 2.0f * (float)(j - 8));
        ck_assert_float_eq(y[j + 16], 2.0f * (float)(7 - j));
    }
}
END_TEST

START_TEST(test_q4_1_block_dequantizes_to_known_values) {
    cpu_block_q4_1 block = {.d = 0x3800, .m = 0xbc00}; /* 0.5, -1.0 */
    for (int j = 0; j < 16; j++) block.qs[j] = (uint8_t)(j | (3 << 4));
    float y[32];
    ck_assert(cpu_dequantize(GGML_TYPE_Q4_1, &block, y, 32));
    for (int j = 0; j < 16; j++) {
        ck_assert_float_eq(y[j], 0.5f * (float)j - 1.0f);
        ck_assert_float_eq(y[j + 16], 0.5f);
    }
}
END_TEST

START_TEST(test_q5_0_high_bits_come_from_qh_little_endian) {
    cpu_block_q5_0 block = {.d = 0x3c00, .qh = {0x01, 0x00, 0x01, 0x80}}; /* bits 0, 16, 31 */
    memset(block.qs, 0x00, sizeof block.qs);
    float y[32];
    ck_assert(cpu_dequantize(GGML_TYPE_Q5_0, &block, y, 32));
    for (int j = 0; j < 32; j++) {
        float expected = (j == 0 || j == 16 || j == 31) ? 0.0f : -16.0f;
        ck_assert_float_eq(y[j], expected);
    }
}
END_TEST

START_TEST(test_q5_1_block_dequantizes_to_known_values) {
    cpu_block_q5_1 block = {.d = 0x3c00, .m = 0x4200, .qh = {0xff, 0xff, 0x00, 0x00}}; /* 1, 3 */
    for (int j = 0; j < 16; j++) block.qs[j] = (uint8_t)(15 | (1 << 4));
    float y[32];
    ck_assert(cpu_dequantize(GGML_TYPE_Q5_1, &block, y, 32));
    for (int j = 0; j < 16; j++) {
        ck_assert_float_eq(y[j], 31.0f + 3.0f);
        ck_assert_float_eq(y[j + 16], 1.0f + 3.0f);
    }
}
END_TEST

START_TEST(test_q8_0_block_dequantizes_to_known_values) {
    cpu_block_q8_0 block = {.d = 0x3400}; /* 0.25 */
    for (int j = 0; j < 32; j++) block.qs[j] = (int8_t)(j * 8 - 128);
    float y[32];
    ck_assert(cpu_dequantize(GGML_TYPE_Q8_0, &block, y, 32));
    for (int j = 0; j < 32; j++) ck_assert_float_eq(y[j], 0.25f * (float)(j * 8 - 128));
}
END_TEST

/* Sub-block scales 1..8 and mins 0..7; scales 5..8 and mins 4..7 use the split layout
 * (low 4 bits in bytes 8..11, high 2 bits in the top of bytes 0..7). */
static void k_scales_for_test(uint8_t *scales) {
    const uint8_t sc[8] = {1, 2, 3, 4, 37, 38, 39, 40}, mn[8] = {0, 1, 2, 3, 20, 21, 22, 63};
    memset(scales, 0, 12);
    for (int j = 0; j < 4; j++) {
        scales[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
        scales[j + 4] = (uint8_t)(mn[j] | ((mn[j + 4] >> 4) << 6));
        scales[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
}
static const float k_sc[8] = {1, 2, 3, 4, 37, 38, 39, 40}, k_mn[8] = {0, 1, 2, 3, 20, 21, 22, 63};

START_TEST(test_q4_K_block_dequantizes_to_known_values) {
    cpu_block_q4_K block = {.d = 0x3800, .dmin = 0x3400}; /* 0.5, 0.25 */
    k_scales_for_test(block.scales);
    /* element 64c + l has level 5 when l < 32 (low nibble), 9 otherwise (high nibble) */
    memset(block.qs, 5 | (9 << 4), sizeof block.qs);
    float y[256];
    ck_assert(cpu_dequantize(GGML_TYPE_Q4_K, &block, y, 256));
    for (int i = 0; i < 256; i++) {
        int j = i / 32;
        float level = (i % 64) < 32 ? 5.0f : 9.0f;
        ck_assert_float_eq(y[i], 0.5f * k_sc[j] * level - 0.25f * k_mn[j]);
    }
}
END_TEST

START_TEST(test_q5_K_block_dequantizes_to_known_values) {
    cpu_block_q5_K block = {.d = 0x3800, .dmin = 0x3400};
    k_scales_for_test(block.scales);
    memset(block.qs, 5 | (9 << 4), sizeof block.qs);
    memset(block.qh, 0x5a, sizeof block.qh); /* bits 1,3,4,6 set: sub-blocks 1,3,4,6 get +16 */
    float y[256];
    ck_assert(cpu_dequantize(GGML_TYPE_Q5_K, &block, y, 256));
    for (int i = 0; i < 256; i++) {
        int j = i / 32;
        float level = ((i % 64) < 32 ? 5.0f : 9.0f) + ((0x5a >> j) & 1 ? 16.0f : 0.0f);
        ck_assert_float_eq(y[i], 0.5f * k_sc[j] * level - 0.25f * k_mn[j]);
    }
}
END_TEST

START_TEST(test_q6_K_block_dequantizes_to_known_values) {
    cpu_block_q6_K block = {.d = 0x3800};
    for (int g = 0; g < 16; g++) block.scales[g] = (int8_t)(g - 8);
    /* ql nibbles: low 3, high 12; qh: quarter k gets high bits k (0,1,2,3) */
    memset(block.ql, 3 | (12 << 4), sizeof block.ql);
    memset(block.qh, 0 | (1 << 2) | (2 << 4) | (3 << 6), sizeof block.qh);
    float y[256];
    ck_assert(cpu_dequantize(GGML_TYPE_Q6_K, &block, y, 256));
    for (int i = 0; i < 256; i++) {
        int quarter = (i % 128) / 32;
        int low = quarter < 2 ? 3 : 12;
        int level = (low | (quarter << 4)) - 32;
        ck_assert_float_eq(y[i], 0.5f * (float)(i / 16 - 8) * (float)level);
    }
}
END_TEST

START_TEST(test_half_and_bfloat_conversions_are_exact) {
    const uint16_t halves[] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00};
    const float values[] = {0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f,
                            6.0975551605224609e-5f, 6.103515625e-5f, INFINITY};
    for (size_t i = 0; i < sizeof halves / sizeof halves[0]; i++) {
        ck_assert_float_eq(cpu_fp16_to_f32(halves[i]), values[i]);
        ck_assert_uint_eq(cpu_f32_to_fp16(values[i]), halves[i]);
    }
    ck_assert_uint_eq(cpu_f32_to_fp16(1.0f + 1.0f / 2048.0f), 0x3c00); /* tie to even */
    ck_assert_uint_eq(cpu_f32_to_fp16(1.0f + 3.0f / 2048.0f), 0x3c02);
    ck_assert_uint_eq(cpu_f32_to_fp16(65520.0f), 0x7c00);
    ck_assert_float_eq(cpu_bf16_to_f32(0x3f80), 1.0f);
    ck_assert_uint_eq(cpu_f32_to_bf16(1.0f + 1.0f / 256.0f), 0x3f80);  /* tie to even */
    ck_assert_uint_eq(cpu_f32_to_bf16(1.0f + 3.0f / 256.0f), 0x3f82);
}
END_TEST

/* ---- quantization error ---------------------------------------------------------- */

/* RMS error of quantize -> dequantize on N(0, 1) data, as a fraction of the data's RMS.
 * Bounds: uniform rounding gives step/sqrt(12); the step is amax/127 (Q8_0), amax/8
 * (Q4_0), range/15 (Q4_1), amax/16 (Q5_0), range/31 (Q5_1) with amax ~ 2.1 and range ~
 * 4.1 for 32 Gaussian samples, giving about 0.005, 0.075, 0.08, 0.038, 0.038; the
 * K-quants' fitted scales do a little better than the corresponding 32-blocks (about
 * 0.07, 0.035, 0.018). F16 and BF16 round to 11 and 8 significant bits (2^-12 and 2^-9
 * relative RMS at most). Thresholds are these estimates plus about 25%. */
START_TEST(test_quantization_error_is_within_bounds) {
    struct { uint32_t type; double bound; } cases[] = {
        {GGML_TYPE_F32, 0.0}, {GGML_TYPE_F16, 0.00025}, {GGML_TYPE_BF16, 0.002},
        {GGML_TYPE_Q8_0, 0.0065}, {GGML_TYPE_Q4_0, 0.095}, {GGML_TYPE_Q4_1, 0.1},
        {GGML_TYPE_Q5_0, 0.048}, {GGML_TYPE_Q5_1, 0.048}, {GGML_TYPE_Q4_K, 0.09},
        {GGML_TYPE_Q5_K, 0.045}, {GGML_TYPE_Q6_K, 0.023},
    };
    const int64_t n = 256 * 64;
    float *x = gauss_array(n, 7), *y = malloc((size_t)n * sizeof *y);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        void *q = quantize_matrix(cases[c].type, x, 1, n);
        ck_assert(cpu_dequantize(cases[c].type, q, y, n));
        double err2 = 0.0, sig2 = 0.0;
        for (int64_t i = 0; i < n; i++) {
            err2 += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
            sig2 += (double)x[i] * x[i];
        }
        double rel = sqrt(err2 / sig2);
        ck_assert_msg(rel <= cases[c].bound, "%s: relative RMS error %.5f > %.5f",
                      ggml_type_get(cases[c].type)->name, rel, cases[c].bound);
        free(q);
    }
    free(x);
    free(y);
}
END_TEST

START_TEST(test_all_zero_blocks_quantize_to_zero) {
    float zeros[512] = {0}, y[512];
    for (int i = 0; i < N_TYPES; i++) {
        void *q = quantize_matrix(all_types[i], zeros, 1, 512);
        ck_assert(cpu_dequantize(all_types[i], q, y, 512));
        for (int j = 0; j < 512; j++) ck_assert_msg(y[j] == 0.0f, "%s element %d",
                                                    ggml_type_get(all_types[i])->name, j);
        free(q);
    }
}
END_TEST

/* Activations quantized as the integer kernels read them: q = round-half-even(x / d), d =
 * amax / 127, written here with nearbyintf (the library avoids its libm call). Inputs
 * include exact ties (k + 0.5 times d) in both signs. */
START_TEST(test_activation_quantization_rounds_half_to_even) {
    enum { N = 512 };
    float x[N];
    /* First half: every 32 values hold a +-127, so d = 1 and the others, k + 0.5 for k in
     * -126..125, are exact ties. Second half: Gaussian values (d and 1 / d inexact). */
    float *noise = gauss_array(N, 404);
    for (int i = 0; i < N; i++)
        x[i] = i >= N / 2 ? 40.0f * noise[i] : i % 32 == 0 ? (i % 64 ? -127.0f : 127.0f)
                                                           : (float)((i * 37) % 252 - 126) + 0.5f;
    free(noise);
    cpu_block_q8a a[N / CPU_QK];
    cpu_block_q8k k[N / CPU_QK_K];
    cpu_quantize_act_q8a(x, a, N);
    cpu_quantize_act_q8k(x, k, N);
    for (int i = 0; i < N; i++) {
        const float *block_a = x + i / CPU_QK * CPU_QK, *block_k = x + i / CPU_QK_K * CPU_QK_K;
        float amax_a = 0.0f, amax_k = 0.0f;
        for (int j = 0; j < CPU_QK; j++) amax_a = fmaxf(amax_a, fabsf(block_a[j]));
        for (int j = 0; j < CPU_QK_K; j++) amax_k = fmaxf(amax_k, fabsf(block_k[j]));
        float d_a = amax_a / 127.0f, d_k = amax_k / 127.0f;
        ck_assert_int_eq(a[i / CPU_QK].qs[i % CPU_QK], (int)nearbyintf(x[i] * (1.0f / d_a)));
        ck_assert_int_eq(k[i / CPU_QK_K].qs[i % CPU_QK_K], (int)nearbyintf(x[i] * (1.0f / d_k)));
    }
}
END_TEST

/* Every table's activation quantizers write the scalar functions' bytes: ties, zero
 * blocks, a lone NaN (the scalar fallback), tiny and large magnitudes. */
START_TEST(test_simd_activation_quantizers_match_scalar) {
    enum { N = 2048 };
    float *x = gauss_array(N, 808);
    for (int i = 0; i < 256; i++) x[i] = i % 32 == 0 ? 127.0f : (float)((i * 37) % 252 - 126) + 0.5f;
    for (int i = 256; i < 512; i++) x[i] = 0.0f;                    /* one q8k block, eight q8a blocks */
    for (int i = 512; i < 768; i++) x[i] *= 1e-30f;
    for (int i = 768; i < 1024; i++) x[i] *= 1e30f;
    /* The scalar code turns a NaN into INT_MIN: positive neighbours keep its sum from overflowing. */
    for (int i = 1024; i < 1280; i++) x[i] = fabsf(x[i]);
    x[1100] = NAN;
    cpu_block_q8a want_a[N / CPU_QK], got_a[N / CPU_QK];
    cpu_block_q8k want_k[N / CPU_QK_K], got_k[N / CPU_QK_K];
    memset(want_a, 0, sizeof want_a);
    memset(want_k, 0, sizeof want_k);
    cpu_quantize_act_q8a(x, want_a, N);
    cpu_quantize_act_q8k(x, want_k, N);
    const cpu_kernels *tables[3];
    int n_tables = cpu_kernels_available(tables, 3);
    for (int t = 0; t < n_tables; t++) {
        ck_assert_msg(tables[t]->quantize_q8a != NULL && tables[t]->quantize_q8k != NULL, "%s", tables[t]->name);
        memset(got_a, 0, sizeof got_a);    /* padding compared too */
        memset(got_k, 0, sizeof got_k);
        tables[t]->quantize_q8a(x, got_a, N);
        tables[t]->quantize_q8k(x, got_k, N);
        for (int b = 0; b < N / CPU_QK; b++)
            ck_assert_msg(memcmp(&got_a[b], &want_a[b], sizeof got_a[b]) == 0, "%s q8a block %d", tables[t]->name, b);
        for (int b = 0; b < N / CPU_QK_K; b++)
            ck_assert_msg(memcmp(&got_k[b], &want_k[b], sizeof got_k[b]) == 0, "%s q8k block %d", tables[t]->name, b);
    }
    cpu_features features = cpu_features_detect();
    /* and on an AVX-512 machine, matmuls take the AVX-512 ones */
    if (features.avx512) ck_assert(cpu_kernels_best(&features)->quantize_q8a == cpu_quantize_act_q8a_avx512);
    free(x);
}
END_TEST

/* ---- matmul ---------------------------------------------------------------------- */

enum { MM_ROWS = 37, MM_COLS = 512, MM_TOKENS = 100 };

typedef struct mm_case {
    void *w;
    float *x;
    float *w_deq;
} mm_case;

static mm_case mm_case_make(uint32_t type, int64_t n_rows, int64_t n_cols, int64_t n_tokens) {
    mm_case c;
    float *w_src = gauss_array(n_rows * n_cols, 11 + type);
    c.w = quantize_matrix(type, w_src, n_rows, n_cols);
    c.x = gauss_array(n_tokens * n_cols, 99);
    c.w_deq = malloc((size_t)(n_rows * n_cols) * sizeof(float));
    for (int64_t r = 0; r < n_rows; r++) cpu_dequantize_row(type, c.w, n_cols, r, c.w_deq + r * n_cols);
    free(w_src);
    return c;
}

static void mm_case_free(mm_case *c) {
    free(c->w);
    free(c->x);
    free(c->w_deq);
}

/* Tolerance against a double-precision product of the DEQUANTIZED weights with the
 * unquantized activations. Activation quantization rounds each x to a multiple of its
 * block's d = amax/127, off by at most d/2, so |error| <= sum_i |w_i| * d_i / 2; float
 * accumulation adds at most ~n * 2^-24 * sum |w_i x_i| (we allow 4x that). */
static double mm_tolerance(uint32_t type, const float *w, const float *x, int64_t n_cols) {
    int block = type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16 ? 0
              : (type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q5_K || type == GGML_TYPE_Q6_K) ? 256 : 32;
    double bound = 0.0, abs_sum = 0.0;
    for (int64_t i = 0; i < n_cols; i++) abs_sum += fabs((double)w[i] * x[i]);
    if (block > 0) {
        for (int64_t b = 0; b < n_cols; b += block) {
            double amax = 0.0;
            for (int i = 0; i < block; i++) amax = fmax(amax, fabs(x[b + i]));
            for (int i = 0; i < block; i++) bound += fabs(w[b + i]) * amax / 127.0 / 2.0;
        }
    }
    return bound * 1.0001 + 4.0 * (double)n_cols * 5.96e-8 * abs_sum + 1e-6;
}

START_TEST(test_matmul_matches_double_reference_within_activation_rounding) {
    uint32_t type = all_types[_i];
    mm_case c = mm_case_make(type, MM_ROWS, MM_COLS, 5);
    float y[MM_ROWS * 5];
    cpu_matmul(NULL, type, c.w, MM_ROWS, MM_COLS, c.x, 5, y);
    for (int t = 0; t < 5; t++) {
        for (int r = 0; r < MM_ROWS; r++) {
            double ref = 0.0;
            for (int i = 0; i < MM_COLS; i++) ref += (double)c.w_deq[r * MM_COLS + i] * c.x[t * MM_COLS + i];
            double tol = mm_tolerance(type, c.w_deq + r * MM_COLS, c.x + t * MM_COLS, MM_COLS);
            ck_assert_msg(fabs(y[t * MM_ROWS + r] - ref) <= tol, "%s r=%d t=%d: %g vs %g (tol %g)",
                          ggml_type_get(type)->name, r, t, y[t * MM_ROWS + r], ref, tol);
        }
    }
    mm_case_free(&c);
}
END_TEST

/* Runs the product in token chunks of `chunk` (0: all at once). */
static void mm_chunked(const cpu_kernels *kernels, core_threadpool *pool, uint32_t type,
                       const mm_case *c, int64_t chunk, float *y) {
    if (chunk == 0) chunk = MM_TOKENS;
    void *scratch = malloc(cpu_matmul_scratch_bytes(type, MM_COLS, chunk) + 1);
    for (int64_t t = 0; t < MM_TOKENS; t += chunk) {
        int64_t n = MM_TOKENS - t < chunk ? MM_TOKENS - t : chunk;
        cpu_matmul_with(kernels, pool, type, c->w, MM_ROWS, MM_COLS, c->x + t * MM_COLS, n,
                        y + t * MM_ROWS, scratch);
    }
    free(scratch);
}

START_TEST(test_matmul_is_batch_invariant_across_chunks_and_threads) {
    uint32_t type = all_types[_i];
    mm_case c = mm_case_make(type, MM_ROWS, MM_COLS, MM_TOKENS);
    const size_t bytes = sizeof(float) * MM_ROWS * MM_TOKENS;
    float *expected = malloc(bytes), *y = malloc(bytes);
    core_threadpool *pools[2] = {NULL, NULL};
    ck_assert_int_eq(core_threadpool_create(1, &pools[0]), SLLM_OK);
    ck_assert_int_eq(core_threadpool_create(2, &pools[1]), SLLM_OK);
    const cpu_kernels *tables[3];
    int n_tables = cpu_kernels_available(tables, 3);
    const int64_t chunks[] = {0, 1, 7, 64};
    for (int k = 0; k < n_tables; k++) {
        mm_chunked(tables[k], pools[0], type, &c, 0, expected);
        for (int p = 0; p < 2; p++) {
            for (size_t ch = 0; ch < sizeof chunks / sizeof chunks[0]; ch++) {
                memset(y, 0xff, bytes);
                mm_chunked(tables[k], pools[p], type, &c, chunks[ch], y);
                ck_assert_msg(memcmp(y, expected, bytes) == 0, "%s/%s: threads %d chunk %d differs",
                              ggml_type_get(type)->name, tables[k]->name, p + 1, (int)chunks[ch]);
            }
        }
    }
    core_threadpool_free(pools[0]);
    core_threadpool_free(pools[1]);
    free(expected);
    free(y);
    mm_case_free(&c);
}
END_TEST

/* The SIMD kernels reproduce the scalar reduction order lane by lane (cpu_dot.c). */
START_TEST(test_simd_kernels_are_bit_identical_to_scalar) {
    uint32_t type = all_types[_i];
    mm_case c = mm_case_make(type, MM_ROWS, MM_COLS, MM_TOKENS);
    const size_t bytes = sizeof(float) * MM_ROWS * MM_TOKENS;
    float *expected = malloc(bytes), *y = malloc(bytes);
    const cpu_kernels *tables[3];
    int n_tables = cpu_kernels_available(tables, 3);
    if (n_tables == 1) printf("SKIP: no SIMD kernels on this machine\n");
    mm_chunked(cpu_kernels_scalar(), NULL, type, &c, 0, expected);
    for (int k = 1; k < n_tables; k++) {
        mm_chunked(tables[k], NULL, type, &c, 0, y);
        for (int i = 0; i < MM_ROWS * MM_TOKENS; i++)
            ck_assert_msg(memcmp(&y[i], &expected[i], sizeof(float)) == 0, "%s/%s: output %d: %.9g vs %.9g",
                          ggml_type_get(type)->name, tables[k]->name, i, y[i], expected[i]);
    }
    free(expected);
    free(y);
    mm_case_free(&c);
}
END_TEST

/* Widths that cross every kernel's internal chunking (32-block q32 prefill chunks,
 * 192-block q32 and 24-super-block K-quant decode chunks, 4-super-block K-quant prefill
 * chunks) and block counts the 4-block and 2-block paths do not
 * divide (the odd count takes the generic x86 path): each SIMD table must still equal
 * scalar bit for bit, for 1 token (decode path) and for 9 tokens (prefill path), and a
 * token's result must not depend on which path computed it. */
START_TEST(test_simd_matches_scalar_across_widths_and_paths) {
    uint32_t type = all_types[_i];
    const int64_t widths[] = {2304, 6400, 1216, 1184}, n_rows = 19, n_tokens = 9;
    int is_k = type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q5_K || type == GGML_TYPE_Q6_K;
    const cpu_kernels *tables[3];
    int n_tables = cpu_kernels_available(tables, 3);
    for (size_t k = 0; k < (is_k ? 2u : 4u); k++) {
        int64_t n_cols = widths[k];
        float *w_src = gauss_array(n_rows * n_cols, 5 + type), *x = gauss_array(n_tokens * n_cols, 17);
        void *w = quantize_matrix(type, w_src, n_rows, n_cols);
        void *scratch = malloc(cpu_matmul_scratch_bytes(type, n_cols, n_tokens) + 1);
        float expected[19 * 9], batch[19 * 9], single[19 * 9];
        cpu_matmul_with(cpu_kernels_scalar(), NULL, type, w, n_rows, n_cols, x, n_tokens, expected, scratch);
        for (int tab = 0; tab < n_tables; tab++) {
            cpu_matmul_with(tables[tab], NULL, type, w, n_rows, n_cols, x, n_tokens, batch, scratch);
            for (int64_t t = 0; t < n_tokens; t++)
                cpu_matmul_with(tables[tab], NULL, type, w, n_rows, n_cols, x + t * n_cols, 1, single + t * n_rows, scratch);
            ck_assert_msg(memcmp(batch, expected, sizeof batch) == 0, "%s/%s width %lld: batch differs from scalar",
                          ggml_type_get(type)->name, tables[tab]->name, (long long)n_cols);
            ck_assert_msg(memcmp(single, expected, sizeof single) == 0, "%s/%s width %lld: one-token path differs",
                          ggml_type_get(type)->name, tables[tab]->name, (long long)n_cols);
        }
        free(scratch);
        free(w);
        free(w_src);
        free(x);
    }
}
END_TEST

/* tile16 (cpu_tile.h): packing then unpacking gives the rows back, and a packed matrix
 * multiplies to the same bits as the rows with every table (the tables without tile
 * kernels unpack), for decode and prefill token counts, with 1 and 2 threads. */
static const uint32_t tile_types[] = { GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                                       GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K,
                                       GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16 };

START_TEST(test_tile16_layout_is_bit_identical_to_rows) {
    uint32_t type = tile_types[_i];
    const int is_k = type == GGML_TYPE_Q4_K || type == GGML_TYPE_Q5_K || type == GGML_TYPE_Q6_K;
    const int is_float = type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16;
    const int64_t n_rows = 48, n_cols = is_k ? 2560 : 2112, counts[] = {1, 2, 3, 4, 9, 64, 70};
    ck_assert(cpu_tile16_supported(type, n_rows, n_cols));
    ck_assert(!cpu_tile16_supported(type, 40, n_cols));
    /* whole groups of columns: 2 blocks of 32 (float types: 16 columns) */
    ck_assert(!cpu_tile16_supported(type, n_rows, is_k ? 2176 : is_float ? 2120 : 2080));
    ck_assert(!cpu_tile16_supported(GGML_TYPE_IQ4_NL, n_rows, 2560));
    /* Q6_K groups two super-blocks (Q4_K and Q5_K one; 32-element types two blocks) */
    ck_assert(!cpu_tile16_supported(GGML_TYPE_Q6_K, n_rows, 2304));
    ck_assert(cpu_tile16_supported(GGML_TYPE_Q4_K, n_rows, 2304));
    ck_assert(cpu_tile16_supported(GGML_TYPE_Q5_K, n_rows, 2304));
    float *w_src = gauss_array(n_rows * n_cols, 31 + type), *x = gauss_array(70 * n_cols, 41);
    uint8_t *rows = quantize_matrix(type, w_src, n_rows, n_cols);
    uint64_t row_bytes;
    ck_assert(ggml_row_size(type, n_cols, &row_bytes));
    size_t bytes = (size_t)row_bytes * n_rows;
    uint8_t *tiles = malloc(bytes), *back = malloc(bytes);
    cpu_tile16_pack(type, rows, n_rows, n_cols, tiles);
    ck_assert_msg(memcmp(tiles, rows, bytes) != 0, "packing changed nothing");
    for (int64_t r = 0; r < n_rows; r += 16)
        cpu_tile16_unpack(type, tiles + (size_t)r * row_bytes, n_cols, back + (size_t)r * row_bytes);
    ck_assert_msg(memcmp(back, rows, bytes) == 0, "unpack(pack(rows)) != rows");
    void *scratch = malloc(cpu_matmul_scratch_bytes(type, n_cols, 70));
    float *expected = malloc(sizeof(float) * 70 * n_rows), *y = malloc(sizeof(float) * 70 * n_rows);
    const cpu_kernels *tables[3];
    int n_tables = cpu_kernels_available(tables, 3);
    core_threadpool *pool;
    ck_assert_int_eq(core_threadpool_create(2, &pool), SLLM_OK);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int64_t n = counts[c];
        cpu_matmul_with(cpu_kernels_scalar(), NULL, type, rows, n_rows, n_cols, x, n, expected, scratch);
        for (int k = 0; k < n_tables; k++) {
            for (int threads = 1; threads <= 2; threads++) {
                memset(y, 0xff, sizeof(float) * (size_t)(n * n_rows));
                cpu_matmul_layout_with(tables[k], threads == 2 ? pool : NULL, type, CPU_LAYOUT_TILE16, tiles, n_rows,
                                       n_cols, x, n, y, scratch);
                ck_assert_msg(memcmp(y, expected, sizeof(float) * (size_t)(n * n_rows)) == 0,
                              "%s/%s, %lld tokens, %d threads: tile16 differs from rows", ggml_type_get(type)->name,
                              tables[k]->name, (long long)n, threads);
            }
        }
    }
    core_threadpool_free(pool);
    free(expected);
    free(y);
    free(scratch);
    free(tiles);
    free(back);
    free(rows);
    free(w_src);
    free(x);
}
END_TEST

/* A group of weights sharing x (Q/K/V, gate/up) gives the bits of separate calls, with
 * mixed types (two activation formats), layouts and row counts, for 1 and 2 threads. */
START_TEST(test_matmul_group_equals_separate_calls) {
    const int64_t n_cols = 512, counts[] = {1, 9};
    const uint32_t types[] = { GGML_TYPE_Q4_K, GGML_TYPE_Q6_K, GGML_TYPE_F32, GGML_TYPE_Q4_0 };
    const int64_t rows[] = { 48, 19, 16, 64 };
    cpu_matmul_weight group[4];
    void *data[4];
    float *x = gauss_array(9 * n_cols, 77), *separate[4];
    for (int i = 0; i < 4; i++) {
        float *src = gauss_array(rows[i] * n_cols, 50 + (uint64_t)i);
        data[i] = quantize_matrix(types[i], src, rows[i], n_cols);
        free(src);
        cpu_layout layout = cpu_tile16_supported(types[i], rows[i], n_cols) ? CPU_LAYOUT_TILE16 : CPU_LAYOUT_ROWS;
        if (layout == CPU_LAYOUT_TILE16) {
            uint64_t row_bytes;
            ck_assert(ggml_row_size(types[i], n_cols, &row_bytes));
            void *tiles = malloc((size_t)row_bytes * (size_t)rows[i]);
            cpu_tile16_pack(types[i], data[i], rows[i], n_cols, tiles);
            free(data[i]);
            data[i] = tiles;
        }
        group[i] = (cpu_matmul_weight){ types[i], layout, data[i], rows[i], malloc(sizeof(float) * 9 * (size_t)rows[i]) };
        separate[i] = malloc(sizeof(float) * 9 * (size_t)rows[i]);
    }
    ck_assert_int_eq(group[0].layout, CPU_LAYOUT_TILE16);
    ck_assert_int_eq(group[1].layout, CPU_LAYOUT_ROWS);
    void *scratch = malloc(cpu_matmul_group_scratch_bytes(group, 4, n_cols, 9));
    core_threadpool *pool;
    ck_assert_int_eq(core_threadpool_create(2, &pool), SLLM_OK);
    for (size_t c = 0; c < 2; c++) {
        for (int threads = 1; threads <= 2; threads++) {
            core_threadpool *use = threads == 2 ? pool : NULL;
            for (int i = 0; i < 4; i++)
                cpu_matmul_layout_with(NULL, use, types[i], group[i].layout, data[i], rows[i], n_cols, x, counts[c],
                                       separate[i], scratch);
            cpu_matmul_group_with(NULL, use, group, 4, n_cols, x, counts[c], scratch);
            for (int i = 0; i < 4; i++)
                ck_assert_msg(memcmp(group[i].y, separate[i], sizeof(float) * (size_t)(counts[c] * rows[i])) == 0,
                              "weight %d (%s), %lld tokens, %d threads: group differs", i, ggml_type_get(types[i])->name,
                              (long long)counts[c], threads);
        }
    }
    core_threadpool_free(pool);
    for (int i = 0; i < 4; i++) {
        free(data[i]);
        free(group[i].y);
        free(separate[i]);
    }
    free(scratch);
    free(x);
}
END_TEST

START_TEST(test_f32_tail_columns_are_included) {
    float w[2 * 19], x[19], y[2];
    for (int i = 0; i < 19; i++) {
        w[i] = 1.0f;
        w[19 + i] = (float)i;
        x[i] = 2.0f;
    }
    const cpu_kernels *tables[3];
    int n_tables = cpu_kernels_available(tables, 3);
    for (int k = 0; k < n_tables; k++) {
        cpu_matmul_with(tables[k], NULL, GGML_TYPE_F32, w, 2, 19, x, 1, y, NULL);
        ck_assert_float_eq(y[0], 38.0f);
        ck_assert_float_eq(y[1], 342.0f);
    }
}
END_TEST

/* ---- thread pool ----------------------------------------------------------------- */

typedef struct pool_probe {
    atomic_int seen[8];
    atomic_int wrong_count;
} pool_probe;

static void probe_task(void *context, int thread_index, int n_threads) {
    pool_probe *probe = context;
    if (n_threads != 3 || thread_index < 0 || thread_index >= 3) atomic_fetch_add(&probe->wrong_count, 1);
    else atomic_fetch_add(&probe->seen[thread_index], 1);
}

START_TEST(test_threadpool_runs_each_index_once_per_run) {
    core_threadpool *pool = NULL;
    ck_assert_int_eq(core_threadpool_create(3, &pool), SLLM_OK);
    ck_assert_int_eq(core_threadpool_size(pool), 3);
    pool_probe probe;
    for (int run = 0; run < 10000; run++) {
        for (int i = 0; i < 8; i++) atomic_init(&probe.seen[i], 0);
        atomic_init(&probe.wrong_count, 0);
        core_threadpool_run(pool, probe_task, &probe);
        ck_assert_int_eq(atomic_load(&probe.wrong_count), 0);
        for (int i = 0; i < 3; i++) ck_assert_int_eq(atomic_load(&probe.seen[i]), 1);
    }
    core_threadpool_free(pool);
}
END_TEST

START_TEST(test_threadpool_rejects_bad_thread_counts) {
    core_threadpool *pool = NULL;
    ck_assert_int_eq(core_threadpool_create(0, &pool), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(pool);
    ck_assert_int_eq(core_threadpool_size(NULL), 1);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("cpu_kernels");
    TCase *dequant = tcase_create("dequantize");
    tcase_add_test(dequant, test_q4_0_block_dequantizes_to_known_values);
    tcase_add_test(dequant, test_q4_1_block_dequantizes_to_known_values);
    tcase_add_test(dequant, test_q5_0_high_bits_come_from_qh_little_endian);
    tcase_add_test(dequant, test_q5_1_block_dequantizes_to_known_values);
    tcase_add_test(dequant, test_q8_0_block_dequantizes_to_known_values);
    tcase_add_test(dequant, test_q4_K_block_dequantizes_to_known_values);
    tcase_add_test(dequant, test_q5_K_block_dequantizes_to_known_values);
    tcase_add_test(dequant, test_q6_K_block_dequantizes_to_known_values);
    tcase_add_test(dequant, test_half_and_bfloat_conversions_are_exact);
    suite_add_tcase(suite, dequant);
    TCase *quant = tcase_create("quantize");
    tcase_add_test(quant, test_quantization_error_is_within_bounds);
    tcase_add_test(quant, test_all_zero_blocks_quantize_to_zero);
    tcase_add_test(quant, test_activation_quantization_rounds_half_to_even);
    tcase_add_test(quant, test_simd_activation_quantizers_match_scalar);
    suite_add_tcase(suite, quant);
    TCase *matmul = tcase_create("matmul");
    tcase_set_timeout(matmul, 120);
    tcase_add_loop_test(matmul, test_matmul_matches_double_reference_within_activation_rounding, 0, N_TYPES);
    tcase_add_loop_test(matmul, test_matmul_is_batch_invariant_across_chunks_and_threads, 0, N_TYPES);
    tcase_add_loop_test(matmul, test_simd_kernels_are_bit_identical_to_scalar, 0, N_TYPES);
    tcase_add_loop_test(matmul, test_simd_matches_scalar_across_widths_and_paths, 0, N_TYPES);
    tcase_add_test(matmul, test_f32_tail_columns_are_included);
    tcase_add_test(matmul, test_matmul_group_equals_separate_calls);
    tcase_add_loop_test(matmul, test_tile16_layout_is_bit_identical_to_rows, 0,
                        (int)(sizeof tile_types / sizeof tile_types[0]));
    suite_add_tcase(suite, matmul);
    TCase *pool = tcase_create("threadpool");
    tcase_set_timeout(pool, 60);
    tcase_add_test(pool, test_threadpool_runs_each_index_once_per_run);
    tcase_add_test(pool, test_threadpool_rejects_bad_thread_counts);
    suite_add_tcase(suite, pool);
    return testutil_run_suite(suite) == 0 ? 0 : 1;
}
