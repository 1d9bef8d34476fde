/* Helpers shared by the scalar and SIMD kernels (the canonical reduction order). */
#ifndef SLLM_BACKEND_CPU_DOT_H
#define SLLM_BACKEND_CPU_DOT_H

#include "backend/cpu/cpu_kernels.h"

/* Sums 16 lane accumulators in the fixed order every float kernel uses:
 * k + (k+8), then + (k+4), then (0+2) + (1+3). */
float cpu_lanes16_sum(const float *lanes);

#endif
