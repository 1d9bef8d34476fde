/* Tests for lib/backend/cpu/cpu_ops: paged attention against a double-precision softmax,
 * bit-identical results for any chunking, thread count and kernel table (scalar, AVX2,
 * AVX-512), the shared exp polynomial's accuracy, SwiGLU, RMSNorm and F16 K/V writes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_exp.h"
#include "backend/cpu/cpu_fp16.h"
#include "backend/cpu/cpu_ops.h"
#include "core/threadpool.h"
#include "testutil.h"

static uint64_t rng_next(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static double rng_uniform(uint64_t *state) { return (double)(rng_next(state) >> 11) / 9007199254740992.0; }

static float rng_gauss(uint64_t *state) {
    double u1 = rng_uniform(state) + 1e-300, u2 = rng_uniform(state);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static float *gauss_array(int64_t n, float sigma, uint64_t seed) {
    float *values = malloc((size_t)n * sizeof *values);
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int64_t i = 0; i < n; i++) values[i] = sigma * rng_gauss(&state);
    return values;
}

/* Every kernel table this machine runs, scalar first. */
static int available_tables(const cpu_ops_kernels **tables) {
    int count = 0;
    tables[count++] = cpu_ops_kernels_scalar();
    if (cpu_ops_kernels_avx2() != NULL) tables[count++] = cpu_ops_kernels_avx2();
    if (cpu_ops_kernels_avx512() != NULL) tables[count++] = cpu_ops_kernels_avx512();
    return count;
}

/* ---- exp ------------------------------------------------------------------------------ */

static double ulp_error(float got, double want) {
    double ulp = ldexp(1.0, ilogb(want) - 23);
    return fabs((double)got - want) / ulp;
}

START_TEST(test_exp_is_within_1_5_ulp_of_exp_over_its_range) {
    double worst = 0.0;
    for (int64_t i = 0; i <= 2000000; i++) {
        float x = -87.0f + 175.0f * (float)i / 2000000.0f;
        double err = ulp_error(cpu_exp(x), exp((double)x));
        if (err > worst) worst = err;
    }
    ck_assert_msg(worst <= 1.5, "worst error %.3f ulp", worst);
}
END_TEST

START_TEST(test_exp_edges_are_exact) {
    ck_assert(cpu_exp(0.0f) == 1.0f);
    ck_assert(cpu_exp(-0.0f) == 1.0f);
    ck_assert(cpu_exp(-INFINITY) == 0.0f);
    ck_assert(cpu_exp(-100.0f) == 0.0f);
    ck_assert(isinf(cpu_exp(100.0f)) && cpu_exp(100.0f) > 0.0f);
    ck_assert(isinf(cpu_exp(INFINITY)));
    ck_assert(isnan(cpu_exp(NAN)));
    ck_assert(cpu_exp(1.0f) == 2.71828182845904523f);
}
END_TEST

START_TEST(test_every_table_computes_exp_bit_identically) {
    const cpu_ops_kernels *tables[3];
    int n_tables = available_tables(tables);
    enum { N = 4099 };
    float x[N], want[N], got[N];
    uint64_t state = 7;
    for (int i = 0; i < N; i++) x[i] = (float)(rng_uniform(&state) * 200.0 - 100.0);
    x[0] = 0.0f, x[1] = -INFINITY, x[2] = -87.0f, x[3] = 88.0f, x[4] = -87.0001f, x[5] = 88.0001f;
    for (int i = 0; i < N; i++) want[i] = cpu_exp(x[i]);
    for (int t = 0; t < n_tables; t++) {
        tables[t]->exp(x, N, got);
        ck_assert_msg(memcmp(got, want, sizeof got) == 0, "table %s", tables[t]->name);
    }
}
END_TEST

/* ---- element-wise ------------------------------------------------------------------------ */

START_TEST(test_swiglu_matches_silu_times_up_in_every_table) {
    const cpu_ops_kernels *tables[3];
    int n_tables = available_tables(tables);
    enum { N = 5000 };
    float *gate = gauss_array(N, 4.0f, 11), *up = gauss_array(N, 1.0f, 12);
    float *first = malloc(N * sizeof *first), *out = malloc(N * sizeof *out);
    gate[0] = -100.0f, gate[1] = 100.0f, gate[2] = 0.0f;
    core_threadpool *pool = NULL;
    ck_assert_int_eq(core_threadpool_create(2, &pool), SLLM_OK);
    cpu_swiglu_with(tables[0], NULL, gate, up, N, first);
    for (int i = 0; i < N; i++) {
        double g = gate[i], want = g / (1.0 + exp(-g)) * up[i];
        ck_assert_msg(fabs(first[i] - want) <= 1e-6 * fabs(want) + 1e-30, "%d: %g vs %g", i, first[i], want);
    }
    for (int t = 0; t < n_tables; t++) {
        for (int threads = 0; threads < 2; threads++) {
            cpu_swiglu_with(tables[t], threads ? pool : NULL, gate, up, N, out);
            ck_assert_msg(memcmp(out, first, N * sizeof *out) == 0, "table %s", tables[t]->name);
        }
        /* An element's value does not depend on where its run starts. */
        cpu_swiglu_with(tables[t], NULL, gate + 3, up + 3, N - 3, out);
        ck_assert(memcmp(out, first + 3, (N - 3) * sizeof *out) == 0);
    }
    core_threadpool_free(pool);
    free(gate), free(up), free(first), free(out);
}
END_TEST

START_TEST(test_rms_norm_matches_double_and_every_table_agrees) {
    const cpu_ops_kernels *tables[3];
    int n_tables = available_tables(tables);
    const int64_t widths[] = { 2048, 576, 64, 37, 5 };
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        const int64_t width = widths[w], n_rows = 7;
        float *x = gauss_array(n_rows * width, 3.0f, 21 + w), *weight = gauss_array(width, 1.0f, 31 + w);
        float *first = malloc((size_t)(n_rows * width) * sizeof *first), *out = malloc((size_t)(n_rows * width) * sizeof *out);
        cpu_rms_norm_with(tables[0], NULL, x, weight, n_rows, width, 1e-5f, first);
        for (int64_t r = 0; r < n_rows; r++) {
            double sum = 0.0;
            for (int64_t i = 0; i < width; i++) sum += (double)x[r * width + i] * x[r * width + i];
            double scale = 1.0 / sqrt(sum / (double)width + 1e-5);
            for (int64_t i = 0; i < width; i++) {
                double want = x[r * width + i] * scale * weight[i];
                ck_assert(fabs(first[r * width + i] - want) <= 3e-7 * fabs(want) + 1e-30);
            }
        }
        for (int t = 0; t < n_tables; t++) {
            cpu_rms_norm_with(tables[t], NULL, x, weight, n_rows, width, 1e-5f, out);
            ck_assert_msg(memcmp(out, first, (size_t)(n_rows * width) * sizeof *out) == 0, "table %s width %lld",
                          tables[t]->name, (long long)width);
            /* One row alone gives the same bits as inside a batch. */
            cpu_rms_norm_with(tables[t], NULL, x + 3 * width, weight, 1, width, 1e-5f, out);
            ck_assert(memcmp(out, first + 3 * width, (size_t)width * sizeof *out) == 0);
        }
        free(x), free(weight), free(first), free(out);
    }
}
END_TEST

START_TEST(test_f16_conversion_rounds_to_nearest_even_in_every_table) {
    const cpu_ops_kernels *tables[3];
    int n_tables = available_tables(tables);
    enum { N = 1029 };
    float src[N];
    uint16_t want[N], got[N];
    uint64_t state = 99;
    for (int i = 0; i < N; i++) src[i] = cpu_bits_to_f32((uint32_t)rng_next(&state)) ;
    /* Halfway cases, subnormal halves, overflow, zeros. */
    const float special[] = { 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 0x1p-25f, 0x1.8p-24f, 65520.0f, 65519.0f,
                              -0.0f, 0.0f, 6.1e-5f, -1e-7f, INFINITY, -INFINITY };
    memcpy(src, special, sizeof special);
    for (int i = 0; i < N; i++) want[i] = cpu_f32_to_fp16(src[i]);
    ck_assert_uint_eq(want[0], 0x3c00); /* 1 + 2^-11 rounds down to even */
    ck_assert_uint_eq(want[1], 0x3c02); /* 1 + 3 * 2^-11 rounds up to even */
    ck_assert_uint_eq(want[2], 0x0000);
    ck_assert_uint_eq(want[3], 0x0002);
    ck_assert_uint_eq(want[4], 0x7c00);
    ck_assert_uint_eq(want[5], 0x7bff);
    for (int t = 0; t < n_tables; t++) {
        tables[t]->f32_to_f16(src, N, got);
        for (int i = 0; i < N; i++) {
            if (isnan(src[i])) continue; /* NaN payloads may differ; both stay NaN */
            ck_assert_msg(got[i] == want[i], "table %s element %d: %04x vs %04x", tables[t]->name, i, got[i], want[i]);
        }
    }
}
END_TEST

/* ---- paged attention ------------------------------------------------------------------------ */

typedef struct attention_config {
    int64_t n_heads, n_kv_heads, head_dim, block_size;
    sllm_kv_dtype dtype;
} attention_config;

static const attention_config configs[] = {
    { 32, 4, 64, 16, SLLM_KV_F16 },     /* TinyLlama */
    { 8, 1, 128, 32, SLLM_KV_F32 },     /* GQA group 8, head_dim 128, 32-token blocks */
    { 16, 2, 128, 16, SLLM_KV_F16 },
    { 9, 3, 64, 16, SLLM_KV_BF16 },     /* SmolLM2: groups of 3 */
    { 4, 2, 80, 8, SLLM_KV_F16 },       /* generic head_dim; tiles span two blocks */
    { 2, 2, 24, 5, SLLM_KV_F32 },       /* no GQA, odd block size, head_dim not a multiple of 16 */
    { 32, 4, 64, 16, SLLM_KV_Q8_0 },    /* 8-bit K/V: two Q8_0 blocks per row */
    { 8, 1, 128, 32, SLLM_KV_Q8_0 },
    { 4, 2, 96, 5, SLLM_KV_Q8_0 },      /* generic head_dim, tiles span up to four blocks */
};
enum { N_CONFIGS = sizeof configs / sizeof configs[0] };

enum { CONTEXT = 37, N_TOKENS = 100, N_LAYERS = 2, LAYER = 1 };

typedef struct attention_fixture {
    attention_config config;
    sllm_kv_layout layout;
    void *pool;
    int32_t *block_table;
    float *q, *k, *v;   /* k, v: every position's rows as written (before rounding to dtype) */
    float *k_stored, *v_stored;     /* the same as the pool holds them, rounded to dtype */
} attention_fixture;

static float stored_value(sllm_kv_dtype dtype, float x) {
    if (dtype == SLLM_KV_F16) return cpu_fp16_to_f32(cpu_f32_to_fp16(x));
    if (dtype == SLLM_KV_BF16) return cpu_bf16_to_f32(cpu_f32_to_bf16(x));
    return x;
}

/* n values (whole rows) as the pool stores them. Q8_0 as ggml's quantize_row_q8_0_ref
 * and dequantize_row_q8_0 compute it: per 32 values d = amax / 127 (kept as fp16),
 * q = roundf(x * (1 / d)), value = q * d. */
static float *stored_rows(sllm_kv_dtype dtype, const float *x, int64_t n) {
    float *out = malloc((size_t)n * sizeof *out);
    if (dtype != SLLM_KV_Q8_0) {
        for (int64_t i = 0; i < n; i++) out[i] = stored_value(dtype, x[i]);
        return out;
    }
    for (int64_t b = 0; b < n; b += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fabsf(x[b + j]) > amax ? fabsf(x[b + j]) : amax;
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        float d16 = cpu_fp16_to_f32(cpu_f32_to_fp16(d));
        for (int j = 0; j < 32; j++) out[b + j] = roundf(x[b + j] * id) * d16;
    }
    return out;
}

/* A pool of twice the blocks needed, handed out in a shuffled order; both layers filled
 * (the other layer with different values, so reading the wrong layer shows). */
static attention_fixture fixture_make(const attention_config *config, uint64_t seed) {
    attention_fixture f = { .config = *config };
    f.layout = (sllm_kv_layout){ N_LAYERS, config->n_kv_heads, config->head_dim, config->block_size, config->dtype };
    const int64_t n_positions = CONTEXT + N_TOKENS, kv_row = config->n_kv_heads * config->head_dim;
    const int64_t n_blocks = (n_positions + config->block_size - 1) / config->block_size, pool_blocks = 2 * n_blocks;
    f.pool = calloc((size_t)pool_blocks, sllm_kv_block_bytes(&f.layout));
    f.block_table = malloc((size_t)n_blocks * sizeof *f.block_table);
    int32_t *ids = malloc((size_t)pool_blocks * sizeof *ids);
    uint64_t state = seed + 5;
    for (int64_t b = 0; b < pool_blocks; b++) ids[b] = (int32_t)b;
    for (int64_t b = pool_blocks - 1; b > 0; b--) {
        int64_t j = (int64_t)(rng_next(&state) % (uint64_t)(b + 1));
        int32_t swap = ids[b];
        ids[b] = ids[j], ids[j] = swap;
    }
    memcpy(f.block_table, ids, (size_t)n_blocks * sizeof *ids);
    free(ids);
    f.q = gauss_array(N_TOKENS * config->n_heads * config->head_dim, 1.0f, seed);
    f.k = gauss_array(n_positions * kv_row, 1.0f, seed + 1);
    f.v = gauss_array(n_positions * kv_row, 1.0f, seed + 2);
    f.k_stored = stored_rows(config->dtype, f.k, n_positions * kv_row);
    f.v_stored = stored_rows(config->dtype, f.v, n_positions * kv_row);
    float *other = gauss_array(n_positions * kv_row, 10.0f, seed + 3);
    cpu_kv_write(f.pool, &f.layout, 0, f.block_table, 0, n_positions, other, other);
    /* Written in uneven pieces, as prefill chunks and decode steps write them. */
    for (int64_t pos = 0; pos < n_positions;) {
        int64_t n = pos % 3 == 0 ? 1 : 11;
        if (pos + n > n_positions) n = n_positions - pos;
        cpu_kv_write(f.pool, &f.layout, LAYER, f.block_table, pos, n, f.k + pos * kv_row, f.v + pos * kv_row);
        pos += n;
    }
    free(other);
    return f;
}

static void fixture_free(attention_fixture *f) {
    free(f->pool), free(f->block_table), free(f->q), free(f->k), free(f->v), free(f->k_stored), free(f->v_stored);
}

static cpu_attention_args fixture_args(const attention_fixture *f, int64_t first_token, int64_t n_tokens, float *out) {
    const int64_t q_row = f->config.n_heads * f->config.head_dim;
    return (cpu_attention_args){ f->q + first_token * q_row, f->pool, &f->layout, LAYER, f->block_table,
                                 CONTEXT + first_token, n_tokens, f->config.n_heads,
                                 1.0f / sqrtf((float)f->config.head_dim), out + first_token * q_row, NULL };
}

/* Tokens [0, N_TOKENS) in chunks of chunk_tokens; with `prepared`, each call gets the
 * scratch to convert K/V tiles once (where the table can). */
static void attend_chunked_with(const cpu_ops_kernels *kernels, core_threadpool *pool, const attention_fixture *f,
                                int64_t chunk_tokens, int prepared, float *out) {
    for (int64_t first = 0; first < N_TOKENS; first += chunk_tokens) {
        int64_t n = N_TOKENS - first < chunk_tokens ? N_TOKENS - first : chunk_tokens;
        cpu_attention_args args = fixture_args(f, first, n, out);
        size_t bytes = prepared ? cpu_attention_scratch_bytes(kernels, &f->layout, args.pos0, n, args.n_heads) : 0;
        void *scratch = bytes > 0 ? malloc(bytes) : NULL;
        cpu_attention_with(kernels, pool, &args, scratch, bytes);
        free(scratch);
    }
}

static void attend_chunked(const cpu_ops_kernels *kernels, core_threadpool *pool, const attention_fixture *f,
                           int64_t chunk_tokens, float *out) {
    attend_chunked_with(kernels, pool, f, chunk_tokens, 0, out);
}

/* bf16 products (F16/BF16/Q8_0 K/V): each weight is rounded to bf16, off by at most 2^-9
 * of itself, which moves an output by at most 2^-9 of the weighted spread of its values;
 * measured worst over these configurations 1.4e-3 (values N(0, 1)); 4e-3 (2^-9 x 2) is a
 * ~3x margin and still fails on a dropped key or a wrong scale (errors ~1e-1). */
#define BF16_BOUND 4e-3
START_TEST(test_attention_matches_double_precision_softmax) {
    const attention_config *config = &configs[_i];
    attention_fixture f = fixture_make(config, 100 + (uint64_t)_i);
    const int64_t head_dim = config->head_dim, group = config->n_heads / config->n_kv_heads;
    const int64_t q_row = config->n_heads * head_dim, kv_row = config->n_kv_heads * head_dim;
    const cpu_ops_kernels *tables[3];
    int n_tables = available_tables(tables);
    float *out = malloc((size_t)(N_TOKENS * q_row) * sizeof *out);
    double *weights = malloc((size_t)(CONTEXT + N_TOKENS) * sizeof *weights);
    const double scale = 1.0f / sqrtf((float)head_dim);
    /* bf16 products: the reference takes q, k and v rounded as the kernels round them;
     * only the weights' rounding (to bf16, relative to each tile's running maximum, so
     * not reproducible here) and float sums remain. */
    const int bf16 = cpu_attention_in_bf16(&f.layout);
    if (bf16) {
        for (int64_t i = 0; i < N_TOKENS * q_row; i++) f.q[i] = cpu_bf16_round(f.q[i]);
        for (int64_t i = 0; i < (CONTEXT + N_TOKENS) * kv_row; i++) {
            f.k_stored[i] = cpu_bf16_round(f.k_stored[i]);
            f.v_stored[i] = cpu_bf16_round(f.v_stored[i]);
        }
    }
    for (int t = 0; t < n_tables; t++) {
        attend_chunked(tables[t], NULL, &f, N_TOKENS, out);
        double worst = 0.0;
        for (int64_t token = 0; token < N_TOKENS; token++) {
            const int64_t n_keys = CONTEXT + token + 1;
            for (int64_t h = 0; h < config->n_heads; h++) {
                const float *q = f.q + token * q_row + h * head_dim;
                const int64_t kv_offset = (h / group) * head_dim;
                double max_score = -INFINITY, sum = 0.0;
                for (int64_t j = 0; j < n_keys; j++) {
                    double dot = 0.0;
                    for (int64_t d = 0; d < head_dim; d++)
                        dot += (double)q[d] * f.k_stored[j * kv_row + kv_offset + d];
                    weights[j] = dot * scale;
                    if (weights[j] > max_score) max_score = weights[j];
                }
                for (int64_t j = 0; j < n_keys; j++) sum += (weights[j] = exp(weights[j] - max_score));
                for (int64_t d = 0; d < head_dim; d++) {
                    double want = 0.0;
                    for (int64_t j = 0; j < n_keys; j++)
                        want += weights[j] * f.v_stored[j * kv_row + kv_offset + d];
                    want /= sum;
                    double err = fabs(out[token * q_row + h * head_dim + d] - want);
                    if (err > worst) worst = err;
                }
            }
        }
        /* Values are N(0, 1); the float kernels' worst error over these configurations is
         * about 1e-6 (float dot products of 24..128 terms, ~100-key weighted sums, exp within
         * 2 ulp): 4e-6 leaves a 4x margin. The reference uses the values as stored (Q8_0
         * included: the kernels compute in float on exactly those), so 8-bit K/V needs no
         * looser bound here; its rounding error is the cache's, tested in test_kv_dtypes. */
        const double bound = bf16 ? BF16_BOUND : 4e-6;
        ck_assert_msg(worst <= bound, "config %d table %s: max |error| %.3g", _i, tables[t]->name, worst);
    }
    free(out), free(weights);
    fixture_free(&f);
}
END_TEST

START_TEST(test_attention_is_bit_identical_for_any_chunking_thread_count_and_table) {
    const attention_config *config = &configs[_i];
    attention_fixture f = fixture_make(config, 200 + (uint64_t)_i);
    const size_t out_bytes = (size_t)(N_TOKENS * config->n_heads * config->head_dim) * sizeof(float);
    float *first = malloc(out_bytes), *out = malloc(out_bytes);
    core_threadpool *pool2 = NULL;
    ck_assert_int_eq(core_threadpool_create(2, &pool2), SLLM_OK);
    const cpu_ops_kernels *tables[3];
    int n_tables = available_tables(tables);
    const int64_t chunks[] = { N_TOKENS, 64, 7, 1 };
    attend_chunked(tables[0], NULL, &f, N_TOKENS, first);
    for (int t = 0; t < n_tables; t++) {
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            for (int run = 0; run < 4; run++) {
                const int threads = 1 + run % 2, prepared = run / 2;
                memset(out, 0xff, out_bytes);
                attend_chunked_with(tables[t], threads == 2 ? pool2 : NULL, &f, chunks[c], prepared, out);
                ck_assert_msg(memcmp(out, first, out_bytes) == 0,
                              "config %d, table %s, chunks of %lld, %d threads, tiles prepared %d", _i,
                              tables[t]->name, (long long)chunks[c], threads, prepared);
            }
        }
    }
    core_threadpool_free(pool2);
    free(first), free(out);
    fixture_free(&f);
}
END_TEST

/* A query that matches one key far better than the rest puts (almost) all weight on it:
 * an exact expected output, whichever tile the key sits in. */
START_TEST(test_attention_picks_out_the_matching_key) {
    const attention_config config = { 4, 1, 64, 16, SLLM_KV_F32 };
    sllm_kv_layout layout = { 1, 1, 64, 16, SLLM_KV_F32 };
    enum { N_POSITIONS = 50 };
    float k[N_POSITIONS * 64] = { 0 }, v[N_POSITIONS * 64], q[4 * 64] = { 0 }, out[4 * 64];
    int32_t block_table[4] = { 3, 0, 2, 1 };
    void *kv_pool = calloc(4, sllm_kv_block_bytes(&layout));
    for (int p = 0; p < N_POSITIONS; p++) {
        k[p * 64 + p] = 1.0f;           /* key p points along axis p % 64 */
        for (int d = 0; d < 64; d++) v[p * 64 + d] = (float)(p * 100 + d);
    }
    cpu_kv_write(kv_pool, &layout, 0, block_table, 0, N_POSITIONS, k, v);
    const cpu_ops_kernels *tables[3];
    int n_tables = available_tables(tables);
    for (int t = 0; t < n_tables; t++) {
        for (int h = 0; h < 4; h++) {
            memset(q + h * 64, 0, 64 * sizeof(float));
            q[h * 64 + 10 * h + 3] = 1000.0f;   /* head h looks for the key at position 10h + 3 */
        }
        cpu_attention_args args = { q, kv_pool, &layout, 0, block_table, N_POSITIONS - 1, 1, config.n_heads, 1.0f, out, NULL };
        cpu_attention_with(tables[t], NULL, &args, NULL, 0);
        for (int h = 0; h < 4; h++)
            for (int d = 0; d < 64; d++)
                ck_assert_msg(out[h * 64 + d] == (float)((10 * h + 3) * 100 + d), "table %s head %d", tables[t]->name, h);
    }
    free(kv_pool);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("cpu_ops");
    TCase *exp_case = tcase_create("exp");
    tcase_set_timeout(exp_case, 60);
    tcase_add_test(exp_case, test_exp_is_within_1_5_ulp_of_exp_over_its_range);
    tcase_add_test(exp_case, test_exp_edges_are_exact);
    tcase_add_test(exp_case, test_every_table_computes_exp_bit_identically);
    suite_add_tcase(suite, exp_case);

    TCase *elementwise = tcase_create("elementwise");
    tcase_add_test(elementwise, test_swiglu_matches_silu_times_up_in_every_table);
    tcase_add_test(elementwise, test_rms_norm_matches_double_and_every_table_agrees);
    tcase_add_test(elementwise, test_f16_conversion_rounds_to_nearest_even_in_every_table);
    suite_add_tcase(suite, elementwise);

    TCase *attention = tcase_create("attention");
    tcase_set_timeout(attention, 300);
    tcase_add_loop_test(attention, test_attention_matches_double_precision_softmax, 0, N_CONFIGS);
    tcase_add_loop_test(attention, test_attention_is_bit_identical_for_any_chunking_thread_count_and_table, 0, N_CONFIGS);
    tcase_add_test(attention, test_attention_picks_out_the_matching_key);
    suite_add_tcase(suite, attention);
    return testutil_run_suite(suite) == 0 ? 0 : 1;
}
