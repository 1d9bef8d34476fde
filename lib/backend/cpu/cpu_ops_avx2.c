/* AVX2 + FMA + F16C cpu_ops kernels: 8 lanes per vector, blends for the causal edge
 * (compiled for that target, chosen at run time by cpu_ops_kernels_best). */
#include "backend/cpu/cpu_ops.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#include <immintrin.h>
#include <stdbool.h>

/* Lanes per vector, and accumulators live in the attention inner loops (16 registers
 * must also hold the operands). */
enum { VW = 8, ACC_REGS = 8 };
typedef __m256 vf;
typedef __m256i vi;
typedef __m256 vmask;   /* all-ones lanes */

#define VF_INLINE static inline __attribute__((always_inline))
VF_INLINE vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
VF_INLINE void vf_store(float *p, vf x) { _mm256_storeu_ps(p, x); }
VF_INLINE vf vf_set1(float x) { return _mm256_set1_ps(x); }
VF_INLINE vf vf_zero(void) { return _mm256_setzero_ps(); }
VF_INLINE vf vf_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
VF_INLINE vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
VF_INLINE vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
VF_INLINE vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
VF_INLINE vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
VF_INLINE vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
VF_INLINE vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
VF_INLINE vf vf_neg(vf a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
VF_INLINE vf vf_round(vf x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* 2^n for integral n in [-126, 127], built in the exponent field. */
VF_INLINE vf vf_pow2(vf n) {
    __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
}
VF_INLINE vmask vm_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
VF_INLINE vmask vm_gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
/* Lanes of `mask` take if_true, the others if_false. */
VF_INLINE vf vf_select(vmask mask, vf if_true, vf if_false) { return _mm256_blendv_ps(if_false, if_true, mask); }
VF_INLINE vf vf_fma_mask(vmask mask, vf a, vf b, vf c) { return _mm256_blendv_ps(c, _mm256_fmadd_ps(a, b, c), mask); }
VF_INLINE vi vi_load(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
/* Lanes whose limit (last position they attend to) reaches position pos. */
VF_INLINE vmask vm_key_valid(vi limits, int64_t pos) {
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(limits, _mm256_set1_epi32((int32_t)pos - 1)));
}
VF_INLINE vf vf_load_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
VF_INLINE vf vf_load_i8(const int8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }
VF_INLINE vf vf_load_bf16(const uint16_t *p) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
VF_INLINE void vf_store_f16(uint16_t *p, vf x) {
    _mm_storeu_si128((__m128i *)p, _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/* cpu_bf16_round lane by lane: a denormal flushes to a signed zero, a NaN is quieted, the
 * rest round to nearest even; the low 16 bits come out zero. */
VF_INLINE vf vf_round_bf16(vf x) {
    const __m256i bits = _mm256_castps_si256(x), magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(INT32_MAX));
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    __m256i nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7f800000));
    __m256i tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), magnitude);
    rounded = _mm256_blendv_epi8(rounded, _mm256_or_si256(bits, _mm256_set1_epi32(0x00400000)), nan);
    rounded = _mm256_blendv_epi8(rounded, _mm256_and_si256(bits, _mm256_set1_epi32(INT32_MIN)), tiny);
    return _mm256_castsi256_ps(_mm256_and_si256(rounded, _mm256_set1_epi32((int32_t)0xffff0000u)));
}

#define X86_ATTEND x86_attend
#include "backend/cpu/cpu_ops_x86.h"

/* The scalar order (cpu_ops.c): lane i % 16 of 16 double sums, in four ymm (lanes 0-3,
 * 4-7, 8-11, 12-15), folded j += j + 8, + 4, + 2, + 1. A short tail is padded with zeros,
 * which add nothing to a sum of squares. */
static void avx2_rms_norm_row(const float *x, const float *weight, int64_t width, float eps, float *out) {
    __m256d sums[4] = { _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd() };
    float tail[16] = { 0 };
    for (int64_t i = 0; i < width; i += 16) {
        const float *src = x + i;
        if (i + 16 > width) {
            memcpy(tail, x + i, (size_t)(width - i) * sizeof *tail);
            src = tail;
        }
        for (int q = 0; q < 4; q++) {
            __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(src + 4 * q));
            sums[q] = _mm256_fmadd_pd(a, a, sums[q]);   /* the square is exact in double: fma = add */
        }
    }
    __m256d fold4 = _mm256_add_pd(_mm256_add_pd(sums[0], sums[2]), _mm256_add_pd(sums[1], sums[3]));
    __m128d fold2 = _mm_add_pd(_mm256_castpd256_pd128(fold4), _mm256_extractf128_pd(fold4, 1));
    double sum = _mm_cvtsd_f64(fold2) + _mm_cvtsd_f64(_mm_unpackhi_pd(fold2, fold2));
    float scale = (float)(1.0 / sqrt(sum / (double)width + (double)eps));
    __m256 scale_v = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= width; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), scale_v), _mm256_loadu_ps(weight + i)));
    for (; i < width; i++) out[i] = x[i] * scale * weight[i];
}

X86_OPS_TABLE(avx2_kernels, "avx2", avx2_rms_norm_row, x86_prepare_float_tiles, 1u << SLLM_KV_F16)

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

/* clang's builtin cannot name F16C; every CPU shipped with AVX2 and FMA has it. */
const cpu_ops_kernels *cpu_ops_kernels_avx2(void) {
#if defined(__clang__)
    bool f16c = true;
#else
    bool f16c = __builtin_cpu_supports("f16c");
#endif
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c ? &avx2_kernels : NULL;
}

#else
const cpu_ops_kernels *cpu_ops_kernels_avx2(void) { return NULL; }
#endif
