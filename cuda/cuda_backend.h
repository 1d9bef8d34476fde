/* CUDA backend entry points visible to the C side of the library (cuda/ is C++/CUDA). */
#ifndef SLLM_CUDA_BACKEND_H
#define SLLM_CUDA_BACKEND_H

/* Number of usable CUDA devices; 0 without a GPU or driver. Only built with CUDA. */
int cuda_backend_device_count(void);

#endif
