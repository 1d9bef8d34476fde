/* The CPU backend's exp(): one polynomial shared by the scalar and SIMD kernels, so every
 * path produces bit-identical results (softmax weights, SiLU).
 *
 * exp(x) = 2^n * e^r with n = rint(x * log2 e), r = x - n ln2 (ln2 split in two so that
 * n * LN2_HI is exact), e^r ~ 1 + r + r^2 P(r) (Cephes expf's degree-5 P, |r| <= ln2/2).
 * Every step is one IEEE operation (fma where written), so a SIMD lane performs exactly
 * the scalar sequence. Accuracy: about 1 ulp of exp over [-87, 88] (worst 1.01 ulp on a
 * grid of 2e7 points; tests/test_cpu_ops.c asserts 1.5); below -87 the result is 0 and above 88 it is +inf (exp(88.72) would
 * overflow anyway; e^-87 ~ 1.6e-38 is negligible next to a softmax maximum of 1). */
#ifndef SLLM_BACKEND_CPU_EXP_H
#define SLLM_BACKEND_CPU_EXP_H

#include <math.h>
#include <stdint.h>

#include "backend/cpu/cpu_fp16.h"

#define CPU_EXP_MIN_X (-87.0f)
#define CPU_EXP_MAX_X 88.0f
#define CPU_EXP_LOG2E 1.44269504088896341f
#define CPU_EXP_LN2_HI 0.693359375f
#define CPU_EXP_LN2_LO (-2.12194440e-4f)
#define CPU_EXP_P0 1.9875691500e-4f
#define CPU_EXP_P1 1.3981999507e-3f
#define CPU_EXP_P2 8.3334519073e-3f
#define CPU_EXP_P3 4.1665795894e-2f
#define CPU_EXP_P4 1.6666665459e-1f
#define CPU_EXP_P5 5.0000001201e-1f

/* The reference sequence the SIMD kernels reproduce lane by lane. */
static inline float cpu_exp(float x) {
    if (x < CPU_EXP_MIN_X) return 0.0f;
    if (x > CPU_EXP_MAX_X) return INFINITY;
    if (x != x) return x;
    float n = rintf(x * CPU_EXP_LOG2E);
    float r = fmaf(n, -CPU_EXP_LN2_HI, x);
    r = fmaf(n, -CPU_EXP_LN2_LO, r);
    float p = CPU_EXP_P0;
    p = fmaf(p, r, CPU_EXP_P1);
    p = fmaf(p, r, CPU_EXP_P2);
    p = fmaf(p, r, CPU_EXP_P3);
    p = fmaf(p, r, CPU_EXP_P4);
    p = fmaf(p, r, CPU_EXP_P5);
    float y = fmaf(p, r * r, r);
    y = y + 1.0f;
    return y * cpu_bits_to_f32((uint32_t)((int32_t)n + 127) << 23);
}

/* silu(gate) * up, as every swiglu kernel computes it. */
static inline float cpu_swiglu_one(float gate, float up) {
    float denominator = 1.0f + cpu_exp(-gate);
    return gate / denominator * up;
}

#endif
