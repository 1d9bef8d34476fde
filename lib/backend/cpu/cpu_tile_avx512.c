/* AVX-512 VNNI kernels over tile16 weights: cpu_tile_x86.h with one zmm per 16-lane
 * vector and vpdpbusd for the 4-byte dot products. */
#include "backend/cpu/cpu_tile_simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>
#include <string.h>

#include "backend/cpu/cpu_quant.h"
#include "backend/cpu/cpu_tile.h"
#include "format/ggml_types.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#define TILE_UNROLL _Pragma("unroll")
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#define TILE_UNROLL _Pragma("GCC unroll 16")
#endif

#define TILE_INLINE static inline __attribute__((always_inline))
#define TILE_FN(name) cpu_tile16_avx512_##name
#define TILE_TOKEN_GROUP 8
#define TILE_K_TOKEN_GROUP 4
#define TILE_Q8_ZERO_POINT 128   /* levels stay flipped: vpdpbusd takes them unsigned */
#define TILE_SCALED_HIGH_NIBBLES 1

typedef __m512i vi;
typedef __m512 vf;

TILE_INLINE vi vi_load(const uint8_t *p) { return _mm512_loadu_si512((const void *)p); }
TILE_INLINE vi vi_zero(void) { return _mm512_setzero_si512(); }
TILE_INLINE vi vi_set1(int32_t v) { return _mm512_set1_epi32(v); }
TILE_INLINE vi vi_bytes(int8_t v) { return _mm512_set1_epi8(v); }
TILE_INLINE vi vi_and(vi a, vi b) { return _mm512_and_si512(a, b); }
TILE_INLINE vi vi_or(vi a, vi b) { return _mm512_or_si512(a, b); }
TILE_INLINE vi vi_add(vi a, vi b) { return _mm512_add_epi32(a, b); }
TILE_INLINE vi vi_mullo(vi a, vi b) { return _mm512_mullo_epi32(a, b); }
TILE_INLINE vi vi_srli16(vi a, unsigned n) { return _mm512_srli_epi16(a, n); }
TILE_INLINE vi vi_slli16(vi a, unsigned n) { return _mm512_slli_epi16(a, n); }
TILE_INLINE vi vi_srli32(vi a, unsigned n) { return _mm512_srli_epi32(a, n); }
TILE_INLINE vi vi_slli32(vi a, unsigned n) { return _mm512_slli_epi32(a, n); }
TILE_INLINE vi vi_srai32(vi a, unsigned n) { return _mm512_srai_epi32(a, n); }
TILE_INLINE vi vi_dot_q8(vi acc, vi w, vi x) { return _mm512_dpbusd_epi32(acc, w, x); }
typedef __m512i vp;    /* vpdpbusd sums into int32 directly: a vp is its accumulator */
TILE_INLINE vp vp_begin(vi acc) { return acc; }
TILE_INLINE vp vp_dot(vp p, vi w, vi x) { return _mm512_dpbusd_epi32(p, w, x); }
TILE_INLINE vi vp_end(vi acc, vp p) { (void)acc; return p; }
TILE_INLINE vf vf_zero(void) { return _mm512_setzero_ps(); }
TILE_INLINE vf vf_set1(float v) { return _mm512_set1_ps(v); }
TILE_INLINE vf vf_fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
TILE_INLINE vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
TILE_INLINE vf vf_from_vi(vi a) { return _mm512_cvtepi32_ps(a); }
TILE_INLINE vf vf_halves(const uint8_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
TILE_INLINE void vf_store(float *p, vf v) { _mm512_storeu_ps(p, v); }

#include "backend/cpu/cpu_tile_x86.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
