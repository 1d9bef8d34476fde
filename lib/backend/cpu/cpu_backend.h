/* The CPU backend: statelessllm_backend.h's ops on host memory with its own thread pool. */
#ifndef SLLM_BACKEND_CPU_BACKEND_H
#define SLLM_BACKEND_CPU_BACKEND_H

#include "core/error.h"
#include "statelessllm_backend.h"

/* n_threads >= 1 (the calling thread counts as one). Free with backend->ops->destroy. */
sllm_status cpu_backend_create(int n_threads, sllm_backend **out);

#endif
