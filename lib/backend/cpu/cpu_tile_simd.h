/* SIMD kernels over tile16 weights (cpu_tile_x86.h), for the avx512 and avx2 kernel
 * tables: cpu_gemm_fn over tile16 weights; defined on x86-64 only (as are the tables). */
#ifndef SLLM_BACKEND_CPU_TILE_SIMD_H
#define SLLM_BACKEND_CPU_TILE_SIMD_H

#include "backend/cpu/cpu_kernels.h"

#define CPU_TILE_KERNEL_DECL(isa, type)                                                                          \
    void cpu_tile16_##isa##_##type(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,       \
                                   size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
#define CPU_TILE_KERNELS_DECL(isa)                                                                                \
    CPU_TILE_KERNEL_DECL(isa, q4_0) CPU_TILE_KERNEL_DECL(isa, q4_1) CPU_TILE_KERNEL_DECL(isa, q5_0)              \
    CPU_TILE_KERNEL_DECL(isa, q5_1) CPU_TILE_KERNEL_DECL(isa, q8_0) CPU_TILE_KERNEL_DECL(isa, q4_K)              \
    CPU_TILE_KERNEL_DECL(isa, q5_K) CPU_TILE_KERNEL_DECL(isa, q6_K)

CPU_TILE_KERNELS_DECL(avx512)
CPU_TILE_KERNELS_DECL(avx2)

/* Table entries for the quantized tile16 kernels of `isa`. */
#define CPU_TILE_KERNELS_TABLE(isa)                                                                               \
    [GGML_TYPE_Q4_0] = cpu_tile16_##isa##_q4_0, [GGML_TYPE_Q4_1] = cpu_tile16_##isa##_q4_1,                      \
    [GGML_TYPE_Q5_0] = cpu_tile16_##isa##_q5_0, [GGML_TYPE_Q5_1] = cpu_tile16_##isa##_q5_1,                      \
    [GGML_TYPE_Q8_0] = cpu_tile16_##isa##_q8_0, [GGML_TYPE_Q4_K] = cpu_tile16_##isa##_q4_K,                      \
    [GGML_TYPE_Q5_K] = cpu_tile16_##isa##_q5_K, [GGML_TYPE_Q6_K] = cpu_tile16_##isa##_q6_K

#endif
