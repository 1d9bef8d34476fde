// CUDA backend (stub): compiled and linked when nvcc is found; kernels arrive behind the
// backend vtable in a later issue. For now it only reports whether a GPU is usable.
#include <cuda_runtime.h>

extern "C" {

// Number of CUDA devices usable by this process; 0 when there is no GPU or driver.
__attribute__((visibility("hidden"))) int cuda_backend_device_count(void) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
    return count;
}

}
