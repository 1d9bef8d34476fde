/* AVX-512 VNNI kernels over tile16 weights (cpu_tile.h), for the avx512 kernel table. */
#ifndef SLLM_BACKEND_CPU_TILE_AVX512_H
#define SLLM_BACKEND_CPU_TILE_AVX512_H

#include "backend/cpu/cpu_kernels.h"

/* cpu_gemm_fn over tile16 weights; defined on x86-64 only (as is the avx512 table). */
void cpu_tile16_avx512_q4_0(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void cpu_tile16_avx512_q4_1(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void cpu_tile16_avx512_q5_0(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void cpu_tile16_avx512_q5_1(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void cpu_tile16_avx512_q4_K(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void cpu_tile16_avx512_q5_K(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void cpu_tile16_avx512_q6_K(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void cpu_tile16_avx512_q8_0(const uint8_t *w, size_t w_row_bytes, int64_t n_rows, const uint8_t *x,
                            size_t x_row_bytes, int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);

#endif
