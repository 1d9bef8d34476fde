/* The per-instruction-set kernel tables and run-time selection by CPU features. */
#ifndef SLLM_BACKEND_CPU_KERNELS_H
#define SLLM_BACKEND_CPU_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/cpu/cpu_quant.h"
#include "format/ggml_types.h"

/* y[t * y_stride + r] = dot(row r of w, activation row t) for r < n_rows, t < n_tokens.
 * w: n_rows rows of w_row_bytes in the weight type; x: n_tokens rows of x_row_bytes in
 * the type's activation format (cpu_act_format_of). Every implementation computes each
 * (r, t) with one fixed sequence of float operations (see cpu_dot.c), whatever n_rows
 * and n_tokens are, so tiling never changes a result. */
typedef void (*cpu_gemm_fn)(const uint8_t *w, size_t w_row_bytes, int64_t n_rows,
                            const uint8_t *x, size_t x_row_bytes, int64_t n_tokens,
                            int64_t n_cols, float *y, int64_t y_stride);

typedef struct cpu_kernels {
    const char *name;                        /* "scalar", "avx2", "avx512" */
    cpu_gemm_fn gemm[GGML_TYPE_ID_LIMIT];    /* NULL: fall back to the scalar table */
    /* The same over tile16 weights (cpu_tile.h): w is the first tile, n_rows a multiple
     * of 16, w_row_bytes the row layout's. NULL: tiles are unpacked for gemm[]. */
    cpu_gemm_fn gemm_tile16[GGML_TYPE_ID_LIMIT];
    /* One activation row into the int8 formats: the bytes of cpu_quantize_act_q8a and
     * cpu_quantize_act_q8k (every table has both; tables without a faster version hold
     * those functions). */
    void (*quantize_q8a)(const float *x, cpu_block_q8a *out, int64_t n_cols);
    void (*quantize_q8k)(const float *x, cpu_block_q8k *out, int64_t n_cols);
} cpu_kernels;

typedef struct cpu_features {
    bool avx2_fma_f16c;
    bool avx512;        /* F, BW, VL, and VNNI */
} cpu_features;

/* Queries the CPU (cpuid through the compiler's builtins; cheap). */
cpu_features cpu_features_detect(void);

const cpu_kernels *cpu_kernels_scalar(void);
/* NULL when this build has no such implementation (not x86-64). */
const cpu_kernels *cpu_kernels_avx2(void);
const cpu_kernels *cpu_kernels_avx512(void);

/* The fastest table the CPU runs; the same for every call on one machine, so results
 * never depend on which call chose it. */
const cpu_kernels *cpu_kernels_best(const cpu_features *features);

/* Every table this machine can run, slowest first; returns how many (at most cap). */
int cpu_kernels_available(const cpu_kernels **out, int cap);

#endif
