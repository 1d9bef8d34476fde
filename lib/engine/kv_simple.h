/* A minimal K/V block pool for tools and tests until lib/cache drives forward passes:
 * one backend buffer of n_blocks blocks, handed out in order, never shared or reused. */
#ifndef SLLM_ENGINE_KV_SIMPLE_H
#define SLLM_ENGINE_KV_SIMPLE_H

#include <stdint.h>

#include "core/error.h"
#include "statelessllm_backend.h"

typedef struct kv_simple {
    sllm_backend *backend;
    sllm_backend_buffer *buffer;
    sllm_kv_layout layout;
    int64_t n_blocks;
    int64_t n_used;
} kv_simple;

/* Allocates room for n_blocks blocks of `layout` on `backend`. */
sllm_status kv_simple_create(sllm_backend *backend, const sllm_kv_layout *layout, int64_t n_blocks, kv_simple **out);
void kv_simple_free(kv_simple *kv);

/* Writes the ids of n_blocks fresh blocks to `table`; KV_BUDGET when the pool is short. */
sllm_status kv_simple_alloc(kv_simple *kv, int64_t n_blocks, int32_t *table);

/* Forgets every allocation (the next kv_simple_alloc starts at block 0 again). */
void kv_simple_reset(kv_simple *kv);

#endif
