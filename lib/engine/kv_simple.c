/* The minimal K/V block pool: a bump allocator over one backend buffer. */
#include "engine/kv_simple.h"

#include <stdlib.h>

sllm_status kv_simple_create(sllm_backend *backend, const sllm_kv_layout *layout, int64_t n_blocks, kv_simple **out) {
    size_t block_bytes = sllm_kv_block_bytes(layout);
    if (backend == NULL || out == NULL || n_blocks < 1 || block_bytes == 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "kv_simple_create: bad backend, layout or block count");
    kv_simple *kv = calloc(1, sizeof *kv);
    if (kv == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "kv_simple_create: out of memory");
    kv->backend = backend;
    kv->layout = *layout;
    kv->n_blocks = n_blocks;
    sllm_status status = backend->ops->buffer_alloc(backend, block_bytes * (size_t)n_blocks, &kv->buffer);
    if (status != SLLM_OK) {
        free(kv);
        return status;
    }
    *out = kv;
    return SLLM_OK;
}

void kv_simple_free(kv_simple *kv) {
    if (kv == NULL) return;
    kv->backend->ops->buffer_free(kv->backend, kv->buffer);
    free(kv);
}

sllm_status kv_simple_alloc(kv_simple *kv, int64_t n_blocks, int32_t *table) {
    if (n_blocks > kv->n_blocks - kv->n_used)
        return core_fail(SLLM_ERR_KV_BUDGET, "K/V pool of %lld blocks has %lld free, %lld needed",
                         (long long)kv->n_blocks, (long long)(kv->n_blocks - kv->n_used), (long long)n_blocks);
    for (int64_t i = 0; i < n_blocks; i++) table[i] = (int32_t)(kv->n_used + i);
    kv->n_used += n_blocks;
    return SLLM_OK;
}

void kv_simple_reset(kv_simple *kv) { kv->n_used = 0; }
