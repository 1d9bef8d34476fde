/* avx512 kernels (placeholder until the SIMD kernels land). */
#include "backend/cpu/cpu_kernels.h"

const cpu_kernels *cpu_kernels_avx512(void) { return NULL; }
