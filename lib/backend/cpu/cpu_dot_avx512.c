/* AVX-512 (F, BW, VL, VNNI) kernels: the x86 kernels with vpdpbusd for the int8 dots. */
#include "backend/cpu/cpu_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#endif

#define X86_DOT_U8_I8(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#include "backend/cpu/cpu_dot_x86.h"

X86_KERNEL_TABLE(avx512_kernels, "avx512")

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const cpu_kernels *cpu_kernels_avx512(void) { return &avx512_kernels; }

#else
const cpu_kernels *cpu_kernels_avx512(void) { return NULL; }
#endif
