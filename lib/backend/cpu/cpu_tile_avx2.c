/* AVX2 kernels over tile16 weights: cpu_tile_x86.h with each 16-lane vector as two ymm
 * (rows 0-7 and 8-15: the two halves of a 64-byte line), and vpmaddubsw + vpmaddwd for
 * the 4-byte dot products. vpmaddubsw saturates pairs of products at int16, which
 * levels up to 63 against int8 activations (|x| <= 127) never reach; Q8_0's levels are
 * taken back to signed and multiplied as |w| * sign(x, w) (at most 2 x 128 x 127). */
#include "backend/cpu/cpu_tile_simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>
#include <string.h>

#include "backend/cpu/cpu_quant.h"
#include "backend/cpu/cpu_tile.h"
#include "format/ggml_types.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define TILE_UNROLL _Pragma("unroll")
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define TILE_UNROLL _Pragma("GCC unroll 16")
#endif

#define TILE_INLINE static inline __attribute__((always_inline))
#define TILE_FN(name) cpu_tile16_avx2_##name
#define TILE_TOKEN_GROUP 4       /* 16 ymm registers: 4 tokens' sums are 8 */
#define TILE_K_TOKEN_GROUP 2
#define TILE_Q8_ZERO_POINT 0     /* levels taken back to signed (vi_dot_q8) */
#define TILE_SCALED_HIGH_NIBBLES 0  /* vi_dot_q8 takes signed levels */

typedef struct { __m256i lo, hi; } vi;
typedef struct { __m256 lo, hi; } vf;

#define VI_EACH(expr_lo, expr_hi) return (vi){ expr_lo, expr_hi }
#define VF_EACH(expr_lo, expr_hi) return (vf){ expr_lo, expr_hi }

TILE_INLINE vi vi_load(const uint8_t *p) {
    VI_EACH(_mm256_loadu_si256((const __m256i *)p), _mm256_loadu_si256((const __m256i *)(p + 32)));
}
TILE_INLINE vi vi_zero(void) { VI_EACH(_mm256_setzero_si256(), _mm256_setzero_si256()); }
TILE_INLINE vi vi_set1(int32_t v) { VI_EACH(_mm256_set1_epi32(v), _mm256_set1_epi32(v)); }
TILE_INLINE vi vi_bytes(int8_t v) { VI_EACH(_mm256_set1_epi8(v), _mm256_set1_epi8(v)); }
TILE_INLINE vi vi_and(vi a, vi b) { VI_EACH(_mm256_and_si256(a.lo, b.lo), _mm256_and_si256(a.hi, b.hi)); }
TILE_INLINE vi vi_or(vi a, vi b) { VI_EACH(_mm256_or_si256(a.lo, b.lo), _mm256_or_si256(a.hi, b.hi)); }
TILE_INLINE vi vi_add(vi a, vi b) { VI_EACH(_mm256_add_epi32(a.lo, b.lo), _mm256_add_epi32(a.hi, b.hi)); }
TILE_INLINE vi vi_mullo(vi a, vi b) { VI_EACH(_mm256_mullo_epi32(a.lo, b.lo), _mm256_mullo_epi32(a.hi, b.hi)); }
TILE_INLINE vi vi_srli16(vi a, unsigned n) { VI_EACH(_mm256_srli_epi16(a.lo, (int)n), _mm256_srli_epi16(a.hi, (int)n)); }
TILE_INLINE vi vi_slli16(vi a, unsigned n) { VI_EACH(_mm256_slli_epi16(a.lo, (int)n), _mm256_slli_epi16(a.hi, (int)n)); }
TILE_INLINE vi vi_srli32(vi a, unsigned n) { VI_EACH(_mm256_srli_epi32(a.lo, (int)n), _mm256_srli_epi32(a.hi, (int)n)); }
TILE_INLINE vi vi_slli32(vi a, unsigned n) { VI_EACH(_mm256_slli_epi32(a.lo, (int)n), _mm256_slli_epi32(a.hi, (int)n)); }
TILE_INLINE vi vi_srai32(vi a, unsigned n) { VI_EACH(_mm256_srai_epi32(a.lo, (int)n), _mm256_srai_epi32(a.hi, (int)n)); }

/* Per lane: the 4 products of unsigned w bytes and signed x bytes, summed exactly. */
TILE_INLINE __m256i dot4(__m256i w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

/* Q8_0 levels (flipped to unsigned in the tile) as signed bytes s: |s| * sign(x, s). */
TILE_INLINE __m256i dot4_signed(__m256i flipped, __m256i x) {
    __m256i s = _mm256_xor_si256(flipped, _mm256_set1_epi8((char)0x80));
    return dot4(_mm256_abs_epi8(s), _mm256_sign_epi8(x, s));
}

TILE_INLINE vi vi_dot_q8(vi acc, vi w, vi x) {
    VI_EACH(_mm256_add_epi32(acc.lo, dot4_signed(w.lo, x.lo)), _mm256_add_epi32(acc.hi, dot4_signed(w.hi, x.hi)));
}

/* Partial sums in int16 lanes: vpmaddubsw results added up, widened by one vpmaddwd. */
typedef struct { __m256i lo, hi; } vp;
TILE_INLINE vp vp_begin(vi acc) {
    (void)acc;
    return (vp){ _mm256_setzero_si256(), _mm256_setzero_si256() };
}
TILE_INLINE vp vp_dot(vp p, vi w, vi x) {
    return (vp){ _mm256_add_epi16(p.lo, _mm256_maddubs_epi16(w.lo, x.lo)),
                 _mm256_add_epi16(p.hi, _mm256_maddubs_epi16(w.hi, x.hi)) };
}
TILE_INLINE vi vp_end(vi acc, vp p) {
    const __m256i ones = _mm256_set1_epi16(1);
    VI_EACH(_mm256_add_epi32(acc.lo, _mm256_madd_epi16(p.lo, ones)), _mm256_add_epi32(acc.hi, _mm256_madd_epi16(p.hi, ones)));
}

TILE_INLINE vf vf_zero(void) { VF_EACH(_mm256_setzero_ps(), _mm256_setzero_ps()); }
TILE_INLINE vf vf_set1(float v) { VF_EACH(_mm256_set1_ps(v), _mm256_set1_ps(v)); }
TILE_INLINE vf vf_fmadd(vf a, vf b, vf c) { VF_EACH(_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)); }
TILE_INLINE vf vf_mul(vf a, vf b) { VF_EACH(_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)); }
TILE_INLINE vf vf_from_vi(vi a) { VF_EACH(_mm256_cvtepi32_ps(a.lo), _mm256_cvtepi32_ps(a.hi)); }
TILE_INLINE vf vf_halves(const uint8_t *p) {
    VF_EACH(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16))));
}
TILE_INLINE void vf_store(float *p, vf v) {
    _mm256_storeu_ps(p, v.lo);
    _mm256_storeu_ps(p + 8, v.hi);
}

#include "backend/cpu/cpu_tile_x86.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
