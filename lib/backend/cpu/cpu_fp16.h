/* IEEE half and bfloat16 <-> float conversion, exact and branch-light (no intrinsics). */
#ifndef SLLM_BACKEND_CPU_FP16_H
#define SLLM_BACKEND_CPU_FP16_H

#include <stdint.h>
#include <string.h>

static inline float cpu_bits_to_f32(uint32_t bits) {
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline uint32_t cpu_f32_to_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

/* Exact: every half is a float. Subnormal halves are scaled through a float multiply,
 * which is exact because the result is a normal float. */
static inline float cpu_fp16_to_f32(uint16_t half) {
    uint32_t sign = (uint32_t)(half & 0x8000u) << 16;
    uint32_t exponent = (half >> 10) & 0x1fu;
    uint32_t mantissa = half & 0x3ffu;
    if (exponent == 0x1f) return cpu_bits_to_f32(sign | 0x7f800000u | (mantissa << 13));
    if (exponent == 0) {
        float magnitude = (float)mantissa * 5.9604644775390625e-8f; /* 2^-24 */
        return sign ? -magnitude : magnitude;
    }
    return cpu_bits_to_f32(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

/* Round to nearest even, as F16C's vcvtps2ph with rounding mode 0 does. */
static inline uint16_t cpu_f32_to_fp16(float value) {
    uint32_t bits = cpu_f32_to_bits(value);
    uint32_t sign = (bits >> 16) & 0x8000u;
    uint32_t abs_bits = bits & 0x7fffffffu;
    if (abs_bits >= 0x7f800000u) /* inf or NaN (NaN keeps a quiet payload bit) */
        return (uint16_t)(sign | 0x7c00u | (abs_bits > 0x7f800000u ? 0x200u : 0u));
    if (abs_bits >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504 */
    if (abs_bits < 0x38800000u) { /* below 2^-14: subnormal half or zero */
        /* Adding 0.5 aligns the mantissa so the FPU's own rounding is round-to-even. */
        float shifted = cpu_bits_to_f32(abs_bits) + 0.5f;
        return (uint16_t)(sign | (cpu_f32_to_bits(shifted) - 0x3f000000u));
    }
    uint32_t mantissa_odd = (abs_bits >> 13) & 1u;
    abs_bits += 0xc8000fffu + mantissa_odd; /* rebias exponent (-112 << 23) and round */
    return (uint16_t)(sign | (abs_bits >> 13));
}

static inline float cpu_bf16_to_f32(uint16_t bf16) { return cpu_bits_to_f32((uint32_t)bf16 << 16); }

/* Round to nearest even; NaN stays NaN (quiet). */
static inline uint16_t cpu_f32_to_bf16(float value) {
    uint32_t bits = cpu_f32_to_bits(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

#endif
