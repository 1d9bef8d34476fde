/* AVX2 + FMA + F16C kernels (compiled for that target, chosen at run time). */
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/cpu_tile_simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#define X86_DOT_U8_I8(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#include "backend/cpu/cpu_dot_x86.h"

X86_KERNEL_TABLE(avx2_kernels, "avx2", CPU_TILE_KERNELS_TABLE(avx2))

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const cpu_kernels *cpu_kernels_avx2(void) { return &avx2_kernels; }

#else
const cpu_kernels *cpu_kernels_avx2(void) { return NULL; }
#endif
