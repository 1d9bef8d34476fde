/* AVX-512 (F, BW, VL) cpu_ops kernels: 16 lanes per vector, mask registers for the
 * causal edge (compiled for that target, chosen at run time by cpu_ops_kernels_best). */
#include "backend/cpu/cpu_ops.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")
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
#include "backend/cpu/cpu_ops_x86.h"

/* Units of at most 8 rows (decode with GQA groups of up to 8) would leave half of each
 * zmm idle: the AVX2 table's 8-lane kernel computes the same bits at twice the rate. */
static void avx512_attend(const cpu_attention_args *args, int64_t kv_head, int64_t row0, int64_t n_rows) {
    const cpu_ops_kernels *narrow = n_rows <= 8 ? cpu_ops_kernels_avx2() : NULL;
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

X86_OPS_TABLE(avx512_kernels, "avx512", avx512_rms_norm_row)

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const cpu_ops_kernels *cpu_ops_kernels_avx512(void) {
    bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512vl");
    return supported ? &avx512_kernels : NULL;
}

#else
const cpu_ops_kernels *cpu_ops_kernels_avx512(void) { return NULL; }
#endif
