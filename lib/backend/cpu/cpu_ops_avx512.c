/* AVX-512 (F, BW, VL) cpu_ops kernels: 16 lanes per vector, mask registers for the
 * causal edge (compiled for that target, chosen at run time by cpu_ops_kernels_best).
 * Where the CPU also has AVX512-BF16 (checked at run time; the compiler emits its
 * instructions only from the intrinsics below), bf16 attention tiles use vdpbf16ps. */
#include "backend/cpu/cpu_ops.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16")
#endif

#include <immintrin.h>
#include <stdbool.h>

/* Lanes per vector, and accumulators live in the attention inner loops (of 32 registers). */
enum { VW = 16, ACC_REGS = 16 };
typedef __m512 vf;
typedef __m512i vi;
typedef __mmask16 vmask;

#define VF_INLINE static inline __attribute__((always_inline))
VF_INLINE vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
VF_INLINE void vf_store(float *p, vf x) { _mm512_storeu_ps(p, x); }
VF_INLINE vf vf_set1(float x) { return _mm512_set1_ps(x); }
VF_INLINE vf vf_zero(void) { return _mm512_setzero_ps(); }
VF_INLINE vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
VF_INLINE vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
VF_INLINE vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
VF_INLINE vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
VF_INLINE vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
VF_INLINE vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
VF_INLINE vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
VF_INLINE vf vf_neg(vf a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN))); }
VF_INLINE vf vf_round(vf x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* 2^n for integral n in [-126, 127], built in the exponent field. */
VF_INLINE vf vf_pow2(vf n) {
    __m512i biased = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(biased, 23));
}
VF_INLINE vmask vm_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
VF_INLINE vmask vm_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
/* Lanes of `mask` take if_true, the others if_false. */
VF_INLINE vf vf_select(vmask mask, vf if_true, vf if_false) { return _mm512_mask_blend_ps(mask, if_false, if_true); }
VF_INLINE vf vf_fma_mask(vmask mask, vf a, vf b, vf c) { return _mm512_mask3_fmadd_ps(a, b, c, mask); }
VF_INLINE vi vi_load(const int32_t *p) { return _mm512_loadu_si512((const void *)p); }
/* Lanes whose limit (last position they attend to) reaches position pos. */
VF_INLINE vmask vm_key_valid(vi limits, int64_t pos) { return _mm512_cmpge_epi32_mask(limits, _mm512_set1_epi32((int32_t)pos)); }
VF_INLINE vf vf_load_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
VF_INLINE vf vf_load_i8(const int8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p))); }
VF_INLINE vf vf_load_bf16(const uint16_t *p) {
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
/* cpu_bf16_round lane by lane: a denormal flushes to a signed zero, a NaN is quieted, the
 * rest round to nearest even; the low 16 bits come out zero. */
VF_INLINE vf vf_round_bf16(vf x) {
    const __m512i bits = _mm512_castps_si512(x), magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(INT32_MAX));
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    rounded = _mm512_mask_or_epi32(rounded, _mm512_cmpgt_epi32_mask(magnitude, _mm512_set1_epi32(0x7f800000)), bits,
                                   _mm512_set1_epi32(0x00400000));
    rounded = _mm512_mask_and_epi32(rounded, _mm512_cmplt_epi32_mask(magnitude, _mm512_set1_epi32(0x00800000)), bits,
                                    _mm512_set1_epi32(INT32_MIN));
    return _mm512_castsi512_ps(_mm512_and_si512(rounded, _mm512_set1_epi32((int32_t)0xffff0000u)));
}
VF_INLINE void vf_store_f16(uint16_t *p, vf x) {
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

#define X86_ATTEND avx512_attend
#define X86_NATIVE_BF16
#include "backend/cpu/cpu_ops_x86.h"

/* ---- native bf16 attention tiles (declared in cpu_ops_x86.h) ------------------------------ */

static int x86_native_bf16_available(void) { return __builtin_cpu_supports("avx512bf16"); }

/* Lanes of `lo` and `hi`, bf16-rounded floats (low 16 bits zero), as pairs: the dword
 * (hi << 16 | lo), vdpbf16ps's element 2i + 1 and 2i. */
VF_INLINE __m512i native_pair(vf lo, vf hi) {
    return _mm512_or_si512(_mm512_castps_si512(hi), _mm512_srli_epi32(_mm512_castps_si512(lo), 16));
}

/* 16 floats to bf16 words: vcvtneps2bf16 rounds exactly as cpu_bf16_round (denormals
 * flushed, NaN quieted, nearest even). */
VF_INLINE __m256i native_bf16_words(vf x) { return (__m256i)_mm512_cvtneps_pbh(x); }

/* vf_round_bf16 in three instructions. */
X86_INLINE vf x86_native_round_bf16(vf x) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(native_bf16_words(x)), 16));
}

/* n values of K/V rows (whole rows) stored in the layout's dtype as bf16 words, rounded as
 * cpu_bf16_round (BF16 rows are copied: vdpbf16ps reads their denormals as zeros). */
X86_INLINE void native_rows_words(sllm_kv_dtype dtype, const void *src, int64_t n, const int64_t head_dim,
                                  uint16_t *dst) {
    if (dtype == SLLM_KV_BF16) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
        return;
    }
    if (dtype == SLLM_KV_Q8_0) {
        float row[CPU_MAX_HEAD_DIM] __attribute__((aligned(64)));
        const size_t row_bytes = (size_t)head_dim / SLLM_KV_Q8_0_BLOCK * SLLM_KV_Q8_0_BLOCK_BYTES;
        for (int64_t r = 0; r < n / head_dim; r++) {
            x86_q8_0_to_f32((const unsigned char *)src + (size_t)r * row_bytes, head_dim, row);
            int64_t d = 0;
            for (; d + VW <= head_dim; d += VW)
                _mm256_storeu_si256((__m256i *)(dst + r * head_dim + d), native_bf16_words(vf_load(row + d)));
            for (; d < head_dim; d++) dst[r * head_dim + d] = cpu_f32_to_bf16(cpu_flush_denormal(row[d]));
        }
        return;
    }
    const uint16_t *half = src;
    int64_t i = 0;
    for (; i + VW <= n; i += VW) _mm256_storeu_si256((__m256i *)(dst + i), native_bf16_words(vf_load_f16(half + i)));
    for (; i < n; i++) dst[i] = cpu_f32_to_bf16(cpu_fp16_to_f32(half[i]));
}

/* The K (kv 0) or V (kv 1) rows of the tile at `start` as bf16 words [key][d]. */
X86_INLINE void native_tile_words(const cpu_attention_args *args, int kv, int64_t kv_head, int64_t start,
                                  const int64_t head_dim, uint16_t *words) {
    for (int64_t k = 0, run; k < TILE; k += run) {
        const void *src = (const unsigned char *)args->kv_pool + x86_row_offset(args, kv, kv_head, start + k, TILE - k, &run);
        native_rows_words(args->layout->dtype, src, run * head_dim, head_dim, words + k * head_dim);
    }
}

/* One tile as the native kernels read it: K as bf16 words [key][d] (the dword at pair i
 * of key k holds dimensions 2i, 2i + 1), then V as pairs [key pair][d] (the dword holds
 * keys 2m, 2m + 1 of dimension d). cpu_attention_tile_bytes in all; the V words pass
 * through `scratch` (TILE * head_dim words). */
static void native_tile(const cpu_attention_args *args, int64_t kv_head, int64_t start, const int64_t head_dim,
                        void *tile, uint16_t *scratch) {
    uint16_t *keys = tile;
    int32_t *pairs = (int32_t *)(keys + TILE * head_dim);
    native_tile_words(args, 0, kv_head, start, head_dim, keys);
    native_tile_words(args, 1, kv_head, start, head_dim, scratch);
    for (int64_t m = 0; m < TILE / 2; m++) {
        const uint16_t *even = scratch + 2 * m * head_dim, *odd = even + head_dim;
        int64_t d = 0;
        for (; d + VW <= head_dim; d += VW) {
            __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(even + d)));
            __m512i hi = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(odd + d))), 16);
            _mm512_storeu_si512(pairs + m * head_dim + d, _mm512_or_si512(lo, hi));
        }
        for (; d < head_dim; d++) pairs[m * head_dim + d] = (int32_t)((uint32_t)odd[d] << 16 | even[d]);
    }
}

static void avx512_prepare_tiles(const cpu_attention_args *args, int64_t kv_head, int64_t tile0, int64_t tile1,
                                 void *tiles) {
    if (!cpu_attention_in_bf16(args->layout)) {
        x86_prepare_float_tiles(args, kv_head, tile0, tile1, tiles);
        return;
    }
    const int64_t head_dim = args->layout->head_dim;
    uint16_t scratch[TILE * CPU_MAX_HEAD_DIM];
    for (int64_t t = tile0; t < tile1; t++)
        native_tile(args, kv_head, t * TILE, head_dim,
                    (unsigned char *)tiles + (size_t)(t - tile0) * cpu_attention_tile_bytes(args->layout), scratch);
}

/* The tile at `start`: prepared for the call (args->tiles) or converted into `scratch`
 * (cpu_attention_tile_bytes) through `words` (TILE * head_dim). */
X86_INLINE const void *native_tile_at(const cpu_attention_args *args, int64_t kv_head, int64_t start,
                                      const int64_t head_dim, void *scratch, void *words) {
    if (args->tiles != NULL)
        return (const unsigned char *)args->tiles + (size_t)(start / TILE) * cpu_attention_tile_bytes(args->layout);
    native_tile(args, kv_head, start, head_dim, scratch, words);
    return scratch;
}

/* qt (bf16-rounded floats [d][v][lane]) as pairs qp[i][v][lane] of dimensions 2i, 2i + 1. */
X86_INLINE void x86_native_q_pairs(const float *qt, const int64_t head_dim, const int NV, int32_t *qp) {
    for (int64_t i = 0; i < head_dim / 2; i++)
        for (int v = 0; v < NV; v++)
            _mm512_storeu_si512(qp + (i * NV + v) * VW, native_pair(vf_load(qt + (2 * i * NV + v) * VW),
                                                                    vf_load(qt + ((2 * i + 1) * NV + v) * VW)));
}

/* The scores of the tile's keys as x86_scores computes them with BF: one chain per key
 * over dimension pairs. *tile: the tile (native_tile_at; scratch and words its scratch), kept for
 * x86_native_accumulate. */
X86_INLINE void x86_native_scores(const cpu_attention_args *args, int64_t kv_head, int64_t start, const int64_t head_dim,
                                  const int NV, const int32_t *qp, void *scratch, void *words, const void **tile, vf *s) {
    *tile = native_tile_at(args, kv_head, start, head_dim, scratch, words);
    const int32_t *key_pairs = *tile;
    const int64_t pairs = head_dim / 2;
    const int group = ACC_REGS / NV;
    for (int first = 0; first < TILE; first += group) {
        vf sums[ACC_REGS];
        X86_UNROLL for (int j = 0; j < ACC_REGS; j++) sums[j] = vf_zero();
        const int32_t *keys = key_pairs + first * pairs;
        for (int64_t pair = 0; pair < pairs; pair++) {
            __m512bh q[MAX_NV];
            X86_UNROLL for (int v = 0; v < NV; v++) q[v] = (__m512bh)_mm512_loadu_si512(qp + (pair * NV + v) * VW);
            X86_UNROLL for (int j = 0; j < group; j++) {
                __m512bh key = (__m512bh)_mm512_set1_epi32(keys[j * pairs + pair]);
                X86_UNROLL for (int v = 0; v < NV; v++) sums[j * NV + v] = _mm512_dpbf16_ps(sums[j * NV + v], q[v], key);
            }
        }
        X86_UNROLL for (int j = 0; j < ACC_REGS; j++) s[first * NV + j] = sums[j];
    }
}

/* `width` dimensions from d0 of x86_native_accumulate. */
X86_INLINE void native_accumulate_chunk(float *acc, const vf *alpha, const __m512bh *weights, const int32_t *pairs,
                                        const int64_t head_dim, int64_t d0, const int width, const int NV) {
    vf a[ACC_REGS];
    X86_UNROLL for (int c = 0; c < width; c++)
        X86_UNROLL for (int v = 0; v < NV; v++) a[c * NV + v] = vf_mul(vf_load(acc + ((d0 + c) * NV + v) * VW), alpha[v]);
    /* The weights are read per key pair: held in registers across chunks (where the
     * compiler would hoist them) they leave too few for the accumulators. */
    __asm__ volatile("" ::: "memory");
    X86_UNROLL for (int m = 0; m < TILE / 2; m++) {
        const int32_t *value = pairs + m * head_dim + d0;
        __m512bh w[MAX_NV];
        X86_UNROLL for (int v = 0; v < NV; v++) w[v] = weights[m * NV + v];
        X86_UNROLL for (int c = 0; c < width; c++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32(value[c]);
            X86_UNROLL for (int v = 0; v < NV; v++) a[c * NV + v] = _mm512_dpbf16_ps(a[c * NV + v], w[v], x);
        }
    }
    X86_UNROLL for (int c = 0; c < width; c++)
        X86_UNROLL for (int v = 0; v < NV; v++) vf_store(acc + ((d0 + c) * NV + v) * VW, a[c * NV + v]);
}

/* acc[d] = acc[d] * alpha, then the tile's 16 values in key pairs (odd key first, as
 * x86_accumulate with BF) weighted by p [key][v][lane] (already bf16), paired per lane. */
X86_INLINE void x86_native_accumulate(const void *tile, const int64_t head_dim, const int NV, const float *p,
                                      const vf *alpha, float *acc) {
    const int32_t *pairs = (const int32_t *)((const uint16_t *)tile + TILE * head_dim);
    __m512bh weights[TILE / 2 * MAX_NV];
    X86_UNROLL for (int m = 0; m < TILE / 2; m++)
        X86_UNROLL for (int v = 0; v < NV; v++)
            weights[m * NV + v] = (__m512bh)native_pair(vf_load(p + (2 * m * NV + v) * VW), vf_load(p + ((2 * m + 1) * NV + v) * VW));
    __asm__ volatile("" : : "r"(weights) : "memory"); /* in memory: see native_accumulate_chunk */
    const int chunk = ACC_REGS / NV;
    int64_t d0 = 0;
    for (; d0 + chunk <= head_dim; d0 += chunk) native_accumulate_chunk(acc, alpha, weights, pairs, head_dim, d0, chunk, NV);
    for (; d0 < head_dim; d0++) native_accumulate_chunk(acc, alpha, weights, pairs, head_dim, d0, 1, NV);
}

/* Units of at most 8 rows (decode with GQA groups of up to 8) would leave half of each
 * zmm idle: the AVX2 table's 8-lane kernel computes the same bits at twice the rate
 * (float products; with vdpbf16ps a zmm's half does as many products as a ymm). */
static void avx512_attend(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows) {
    const int native_bf16 = cpu_attention_in_bf16(args->layout) && x86_native_bf16_available();
    const cpu_ops_kernels *narrow = n_rows <= 8 && !native_bf16 ? cpu_ops_kernels_avx2() : NULL;
    if (narrow != NULL)
        narrow->attend(args, kv_head, row0, n_rows);
    else
        x86_attend(args, kv_head, row0, n_rows);
}

/* The scalar order (cpu_ops.c): lane i % 16 of 16 double sums, in two zmm (lanes 0-7 and
 * 8-15), folded j += j + 8, + 4, + 2, + 1. A short tail is padded with zeros, which add
 * nothing to a sum of squares. */
static void avx512_rms_norm_row(const float *x, const float *weight, int64_t width, float eps, float *out) {
    __m512d low = _mm512_setzero_pd(), high = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= width; i += 16) {
        __m512d a = _mm512_cvtps_pd(_mm256_loadu_ps(x + i)), b = _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8));
        low = _mm512_fmadd_pd(a, a, low);   /* the square is exact in double: fma = add */
        high = _mm512_fmadd_pd(b, b, high);
    }
    if (i < width) {
        float tail[16] = { 0 };
        memcpy(tail, x + i, (size_t)(width - i) * sizeof *tail);
        __m512d a = _mm512_cvtps_pd(_mm256_loadu_ps(tail)), b = _mm512_cvtps_pd(_mm256_loadu_ps(tail + 8));
        low = _mm512_fmadd_pd(a, a, low);
        high = _mm512_fmadd_pd(b, b, high);
    }
    __m512d fold8 = _mm512_add_pd(low, high);
    __m256d fold4 = _mm256_add_pd(_mm512_castpd512_pd256(fold8), _mm512_extractf64x4_pd(fold8, 1));
    __m128d fold2 = _mm_add_pd(_mm256_castpd256_pd128(fold4), _mm256_extractf128_pd(fold4, 1));
    double sum = _mm_cvtsd_f64(fold2) + _mm_cvtsd_f64(_mm_unpackhi_pd(fold2, fold2));
    float scale = (float)(1.0 / sqrt(sum / (double)width + (double)eps));
    __m512 scale_v = _mm512_set1_ps(scale);
    for (i = 0; i + 16 <= width; i += 16)
        _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), scale_v), _mm512_loadu_ps(weight + i)));
    for (; i < width; i++) out[i] = x[i] * scale * weight[i];
}

X86_OPS_TABLE(avx512_kernels, "avx512", avx512_rms_norm_row, x86_prepare_float_tiles, 1u << SLLM_KV_F16)
/* The same where vdpbf16ps runs: bf16 attention can convert tiles once per call. */
X86_OPS_TABLE(avx512_bf16_kernels, "avx512", avx512_rms_norm_row, avx512_prepare_tiles,
              1u << SLLM_KV_F16 | 1u << SLLM_KV_BF16 | 1u << SLLM_KV_Q8_0)

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const cpu_ops_kernels *cpu_ops_kernels_avx512(void) {
    bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512vl");
    if (!supported) return NULL;
    return x86_native_bf16_available() ? &avx512_bf16_kernels : &avx512_kernels;
}

#else
const cpu_ops_kernels *cpu_ops_kernels_avx512(void) { return NULL; }
#endif
