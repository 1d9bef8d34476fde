/* AVX-512 activation quantizers: the bytes of cpu_quantize_act_q8a/q8k, 16 lanes at a
 * time. A decode step quantizes each matmul's input on one thread while the others wait,
 * so the scalar loops cost ~3% of decode time (TinyLlama Q4_0, 2 threads).
 *
 * Same result, element by element: the maximum of |x| is exact in any order, d and 1/d
 * are the same scalar divisions, each x * (1/d) is one multiply and the rounding the same
 * two adds of 1.5 * 2^23 (no fused operations), and the integer sums are exact. A block
 * holding a NaN takes the scalar code, whose maximum then depends on the NaN's place. */
#include "backend/cpu/cpu_quant.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")
#endif

/* max |x| over n (a multiple of 16) floats; *has_nan: whether any of them is NaN. */
static inline float abs_max(const float *x, int n, int *has_nan) {
    __m512 amax = _mm512_setzero_ps();
    __mmask16 nan = 0;
    for (int i = 0; i < n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        amax = _mm512_max_ps(amax, _mm512_abs_ps(v));
    }
    *has_nan = nan != 0;
    return _mm512_reduce_max_ps(amax);
}

/* A block's d = max |x| / 127 and 1 / d (0 for an all-zero block), as the scalar code
 * computes them; 0 when the block holds a NaN (the caller then takes the scalar code). */
static inline int block_scale(const float *x, int n, float *d, float *inv_d) {
    int has_nan;
    *d = abs_max(x, n, &has_nan) / 127.0f;
    *inv_d = *d != 0.0f ? 1.0f / *d : 0.0f;
    return !has_nan;
}

/* 16 values times inv_d, rounded to nearest even, as int32 lanes (each within +-127). */
static inline __m512i quantize16(const float *x, __m512 inv_d) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 scaled = _mm512_mul_ps(_mm512_loadu_ps(x), inv_d);
    __m512 rounded = _mm512_sub_ps(_mm512_add_ps(scaled, magic), magic);
    return _mm512_cvttps_epi32(rounded);
}

void cpu_quantize_act_q8a_avx512(const float *x, cpu_block_q8a *out, int64_t n_cols) {
    for (int64_t b = 0; b < n_cols / CPU_QK; b++, x += CPU_QK) {
        float d, inv_d;
        if (!block_scale(x, CPU_QK, &d, &inv_d)) {
            cpu_quantize_act_q8a(x, &out[b], CPU_QK);
            continue;
        }
        __m512i lo = quantize16(x, _mm512_set1_ps(inv_d)), hi = quantize16(x + 16, _mm512_set1_ps(inv_d));
        _mm_storeu_si128((__m128i *)out[b].qs, _mm512_cvtepi32_epi8(lo));
        _mm_storeu_si128((__m128i *)(out[b].qs + 16), _mm512_cvtepi32_epi8(hi));
        int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(lo, hi));
        out[b].d = d;
        out[b].s = d * (float)sum;
        out[b].sum = sum;
    }
}

void cpu_quantize_act_q8k_avx512(const float *x, cpu_block_q8k *out, int64_t n_cols) {
    for (int64_t b = 0; b < n_cols / CPU_QK_K; b++, x += CPU_QK_K) {
        float d, inv_d;
        if (!block_scale(x, CPU_QK_K, &d, &inv_d)) {
            cpu_quantize_act_q8k(x, &out[b], CPU_QK_K);
            continue;
        }
        for (int g = 0; g < CPU_QK_K / 16; g++) {
            __m512i q = quantize16(x + 16 * g, _mm512_set1_ps(inv_d));
            _mm_storeu_si128((__m128i *)(out[b].qs + 16 * g), _mm512_cvtepi32_epi8(q));
            out[b].bsums[g] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        out[b].d = d;
    }
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
