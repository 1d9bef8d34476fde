/* ggml weight block layouts, (de)quantization of rows, and the int8 activation blocks. */
#ifndef SLLM_BACKEND_CPU_QUANT_H
#define SLLM_BACKEND_CPU_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CPU_QK = 32, CPU_QK_K = 256, CPU_K_SCALE_BYTES = 12 };

/* Weight blocks, bit-compatible with ggml-common.h (fp16 fields stored as raw bits). */
typedef struct { uint16_t d; uint8_t qs[CPU_QK / 2]; } cpu_block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[CPU_QK / 2]; } cpu_block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[CPU_QK / 2]; } cpu_block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[CPU_QK / 2]; } cpu_block_q5_1;
typedef struct { uint16_t d; int8_t qs[CPU_QK]; } cpu_block_q8_0;
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[CPU_K_SCALE_BYTES]; /* 8 six-bit scales and 8 six-bit mins */
    uint8_t qs[CPU_QK_K / 2];
} cpu_block_q4_K;
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[CPU_K_SCALE_BYTES];
    uint8_t qh[CPU_QK_K / 8];
    uint8_t qs[CPU_QK_K / 2];
} cpu_block_q5_K;
typedef struct {
    uint8_t ql[CPU_QK_K / 2];
    uint8_t qh[CPU_QK_K / 4];
    int8_t scales[CPU_QK_K / 16];
    uint16_t d;
} cpu_block_q6_K;

_Static_assert(sizeof(cpu_block_q4_0) == 18, "block_q4_0 layout");
_Static_assert(sizeof(cpu_block_q4_1) == 20, "block_q4_1 layout");
_Static_assert(sizeof(cpu_block_q5_0) == 22, "block_q5_0 layout");
_Static_assert(sizeof(cpu_block_q5_1) == 24, "block_q5_1 layout");
_Static_assert(sizeof(cpu_block_q8_0) == 34, "block_q8_0 layout");
_Static_assert(sizeof(cpu_block_q4_K) == 144, "block_q4_K layout");
_Static_assert(sizeof(cpu_block_q5_K) == 176, "block_q5_K layout");
_Static_assert(sizeof(cpu_block_q6_K) == 210, "block_q6_K layout");

/* Activation blocks (internal, never stored in files). Scales are float, not fp16, so
 * activation quantization loses less. `s` = d * sum(qs), for the _1 weight types;
 * `sum` = sum(qs), so SIMD kernels can fold a weight type's zero point (8, 16, or the
 * 128 of unsigned int8 dot products) into the exact integer block sum. */
typedef struct { float d; float s; int32_t sum; int8_t qs[CPU_QK]; } cpu_block_q8a;
/* For the K-quants: bsums[g] = sum of qs[16g .. 16g + 15]. */
typedef struct { float d; int16_t bsums[CPU_QK_K / 16]; int8_t qs[CPU_QK_K]; } cpu_block_q8k;

/* The activation format a weight type's integer kernels consume. */
typedef enum { CPU_ACT_F32, CPU_ACT_Q8A, CPU_ACT_Q8K } cpu_act_format;

/* CPU_ACT_F32 for F32/F16/BF16, Q8A for the 32-element types, Q8K for the K-quants. */
cpu_act_format cpu_act_format_of(uint32_t weight_type);
/* Bytes of one quantized activation row of n_cols elements (n_cols * 4 for F32). */
size_t cpu_act_row_bytes(cpu_act_format format, int64_t n_cols);
/* Quantizes one activation row. Deterministic: depends only on x. Rounds to nearest
 * even, as the SIMD converters do. n_cols must be a multiple of the block size. */
void cpu_quantize_act_q8a(const float *x, cpu_block_q8a *out, int64_t n_cols);
void cpu_quantize_act_q8k(const float *x, cpu_block_q8k *out, int64_t n_cols);
/* The same bytes with AVX-512 (x86-64 builds only; the caller checks the CPU). */
void cpu_quantize_act_q8a_avx512(const float *x, cpu_block_q8a *out, int64_t n_cols);
void cpu_quantize_act_q8k_avx512(const float *x, cpu_block_q8k *out, int64_t n_cols);

/* Converts n_elements (a multiple of the block size) of `type` to float. Products and
 * sums follow ggml's reference dequantizers exactly (tests/ref/quants.py mirrors them).
 * Returns false for a type without a dequantizer. */
bool cpu_dequantize(uint32_t type, const void *src, float *dst, int64_t n_elements);

/* Quantizes n_elements (a multiple of the block size) to `type` with ggml's reference
 * algorithms (the K-quants fit scale and min per sub-block by weighted least squares).
 * Returns false for a type without a quantizer. */
bool cpu_quantize(uint32_t type, const float *src, void *dst, int64_t n_elements);

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block. */
static inline void cpu_k_scale_min(int j, const uint8_t *scales, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = scales[j] & 63;
        *min = scales[j + 4] & 63;
    } else {
        *scale = (uint8_t)((scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4));
        *min = (uint8_t)((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}

#endif
