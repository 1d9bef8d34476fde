/* Matrix multiply with weights in their stored GGUF type: the hot loop of every layer. */
#ifndef SLLM_BACKEND_CPU_MATMUL_H
#define SLLM_BACKEND_CPU_MATMUL_H

#include <stdint.h>

#include <stddef.h>

#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/cpu_tile.h"
#include "core/threadpool.h"

/* y[t * n_rows + r] = sum_c W[r, c] * x[t * n_cols + c] for t < n_tokens, r < n_rows.
 * W is n_rows rows of n_cols elements in ggml type `weight_type` (row-major, as stored
 * in GGUF: dims[0] = n_cols). Batch-invariant: each y element is computed by the same
 * code in the same reduction order whatever n_tokens and the thread count are.
 * Threads split rows of W. The caller checked that the type is computable and that
 * n_cols is a multiple of its block size. */
void cpu_matmul(core_threadpool *pool, uint32_t weight_type, const void *weight,
                int64_t n_rows, int64_t n_cols, const float *x, int64_t n_tokens, float *y);

/* Bytes of activation scratch cpu_matmul_with needs (0 for F32/F16/BF16 weights). */
size_t cpu_matmul_scratch_bytes(uint32_t weight_type, int64_t n_cols, int64_t n_tokens);

/* cpu_matmul with a chosen kernel table (NULL: the best for this CPU) and caller-owned
 * scratch of cpu_matmul_scratch_bytes bytes, so nothing is allocated. cpu_matmul
 * allocates its scratch per call; if that fails it computes token by token, and if even
 * that allocation fails the affected outputs are NaN. Results are identical either way. */
void cpu_matmul_with(const cpu_kernels *kernels, core_threadpool *pool, uint32_t weight_type,
                     const void *weight, int64_t n_rows, int64_t n_cols, const float *x,
                     int64_t n_tokens, float *y, void *scratch);

/* One weight of a group: n_rows x (the group's n_cols) in `type` and `layout`; y gets
 * n_tokens rows of n_rows floats. */
enum { CPU_MATMUL_GROUP_MAX = 4 };
typedef struct cpu_matmul_weight {
    uint32_t type;
    cpu_layout layout;
    const void *data;
    int64_t n_rows;
    float *y;
} cpu_matmul_weight;

/* Bytes of scratch cpu_matmul_group_with needs (one activation copy per format). */
size_t cpu_matmul_group_scratch_bytes(const cpu_matmul_weight *weights, int n, int64_t n_cols, int64_t n_tokens);

/* n (1..CPU_MATMUL_GROUP_MAX) weights against the same x in one pass of the pool (Q/K/V,
 * gate/up): x is quantized once per format and the threads share out all the rows, so
 * small matrices cost no barrier of their own. Same results as n cpu_matmul_with calls. */
void cpu_matmul_group_with(const cpu_kernels *kernels, core_threadpool *pool, const cpu_matmul_weight *weights, int n,
                           int64_t n_cols, const float *x, int64_t n_tokens, void *scratch);

/* cpu_matmul_with for weights in `layout` (tile16: cpu_tile.h; n_rows a multiple of 16). */
void cpu_matmul_layout_with(const cpu_kernels *kernels, core_threadpool *pool, uint32_t weight_type,
                            cpu_layout layout, const void *weight, int64_t n_rows, int64_t n_cols, const float *x,
                            int64_t n_tokens, float *y, void *scratch);

/* Converts row `row` of W to float (embedding lookup, tests). */
void cpu_dequantize_row(uint32_t weight_type, const void *weight, int64_t n_cols,
                        int64_t row, float *out);

#endif
