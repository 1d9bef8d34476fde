/* Run-time CPU feature detection and the choice of kernel table (no global state). */
#include "backend/cpu/cpu_kernels.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>

/* clang's __builtin_cpu_supports has no "f16c": read CPUID leaf 1, ECX bit 29. */
static bool cpu_has_f16c(void) {
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}
#endif

cpu_features cpu_features_detect(void) {
    cpu_features features = {0};
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    features.avx2_fma_f16c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                             cpu_has_f16c();
    features.avx512 = features.avx2_fma_f16c && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512vnni");
#endif
    return features;
}

const cpu_kernels *cpu_kernels_best(const cpu_features *features) {
    if (features->avx512 && cpu_kernels_avx512() != NULL) return cpu_kernels_avx512();
    if (features->avx2_fma_f16c && cpu_kernels_avx2() != NULL) return cpu_kernels_avx2();
    return cpu_kernels_scalar();
}

int cpu_kernels_available(const cpu_kernels **out, int cap) {
    cpu_features features = cpu_features_detect();
    const cpu_kernels *candidates[3] = {
        cpu_kernels_scalar(),
        features.avx2_fma_f16c ? cpu_kernels_avx2() : NULL,
        features.avx512 ? cpu_kernels_avx512() : NULL,
    };
    int count = 0;
    for (int i = 0; i < 3; i++)
        if (candidates[i] != NULL && count < cap) out[count++] = candidates[i];
    return count;
}
