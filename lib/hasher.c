/* sllm_hasher: the cache's block-hash chain offered to hosts (e.g. for prefix-aware routing). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cache/hash_chain.h"
#include "cache/kv_layout.h"
#include "model/model_internal.h"

struct sllm_hasher {
    uint8_t key[HASH_KEY_BYTES];
    uint8_t model_id[HASH_BYTES];
    size_t block_size;
    char kv_layout[KV_LAYOUT_CAPACITY];
};

SLLM_API void sllm_hasher_params_init(sllm_hasher_params *params) {
    if (params == NULL) return;
    memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->block_size = 16;
    params->kv_dtype = SLLM_KV_F16;
}

SLLM_API sllm_status sllm_hasher_create(const sllm_model *model, const sllm_hasher_params *params,
                                        sllm_hasher **out) {
    if (model == NULL || out == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_hasher_create: model and out must not be NULL");
    sllm_hasher_params options;
    sllm_hasher_params_init(&options);
    if (params != NULL) {
        if (params->struct_size < sizeof(size_t) || params->struct_size > sizeof options)
            return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_hasher_params.struct_size is %zu; "
                             "call sllm_hasher_params_init() first", params->struct_size);
        memcpy(&options, params, params->struct_size);
    }
    if (options.block_size < 1 || options.block_size > 4096)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "block_size %u is outside [1, 4096]", options.block_size);
    if (kv_dtype_name(options.kv_dtype) == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "kv_dtype %d is not a known sllm_kv_dtype", (int)options.kv_dtype);
    if (sodium_init() < 0)
        return core_fail(SLLM_ERR_INTERNAL, "libsodium failed to initialize");
    sllm_hasher *hasher = calloc(1, sizeof *hasher);
    if (hasher == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "sllm_hasher_create: out of memory");
    if (options.key) memcpy(hasher->key, options.key, HASH_KEY_BYTES);
    else randombytes_buf(hasher->key, HASH_KEY_BYTES);
    memcpy(hasher->model_id, model->model_id, HASH_BYTES);
    hasher->block_size = options.block_size;
    kv_layout_describe(options.kv_dtype, options.block_size, hasher->kv_layout);
    *out = hasher;
    return SLLM_OK;
}

SLLM_API void sllm_hasher_free(sllm_hasher *hasher) {
    if (hasher == NULL) return;
    sodium_memzero(hasher->key, sizeof hasher->key);
    free(hasher);
}

SLLM_API void sllm_hasher_key(const sllm_hasher *hasher, uint8_t *key) {
    if (hasher && key) memcpy(key, hasher->key, HASH_KEY_BYTES);
}

SLLM_API sllm_status sllm_hasher_chain(const sllm_hasher *hasher, const uint8_t *salt,
                                       size_t salt_len, const int32_t *tokens, size_t n_tokens,
                                       uint8_t *hashes, size_t capacity, size_t *n_blocks) {
    if (hasher == NULL || n_blocks == NULL || (tokens == NULL && n_tokens > 0) ||
        (salt == NULL && salt_len > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_hasher_chain: NULL argument");
    size_t needed = n_tokens / hasher->block_size;
    *n_blocks = needed;
    if (needed > capacity || (needed > 0 && hashes == NULL))
        return core_fail(SLLM_ERR_BUFFER_TOO_SMALL, "sllm_hasher_chain: %zu hashes needed, capacity %zu",
                         needed, capacity);
    block_hash parent;
    hash_chain_root(hasher->key, hasher->model_id, hasher->kv_layout, salt, salt_len, &parent);
    for (size_t i = 0; i < needed; i++) {
        block_hash next;
        hash_chain_next(hasher->key, &parent, tokens + i * hasher->block_size, hasher->block_size, &next);
        memcpy(hashes + i * HASH_BYTES, next.bytes, HASH_BYTES);
        parent = next;
    }
    return SLLM_OK;
}
