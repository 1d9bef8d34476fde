/* The block-hash chain that names cached K/V blocks (keyed BLAKE2b-256, libsodium). */
#ifndef SLLM_CACHE_HASH_CHAIN_H
#define SLLM_CACHE_HASH_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum { HASH_BYTES = 32, HASH_KEY_BYTES = 32 };

typedef struct block_hash {
    uint8_t bytes[HASH_BYTES];
} block_hash;

/* h0 = BLAKE2b-256(key, "sllm/kv/v1" ‖ model_id ‖ kv_layout ‖ salt), each field
 * prefixed by its length as uint64 little-endian, so no two encodings collide. */
void hash_chain_root(const uint8_t key[HASH_KEY_BYTES], const uint8_t model_id[HASH_BYTES],
                     const char *kv_layout, const uint8_t *salt, size_t salt_len, block_hash *out);

/* hi = BLAKE2b-256(key, h(i-1) ‖ block i's token ids as int32 little-endian). */
void hash_chain_next(const uint8_t key[HASH_KEY_BYTES], const block_hash *parent,
                     const int32_t *tokens, size_t block_size, block_hash *out);

/* Hashes every full block of `tokens`: out[i] for block i, n_tokens / block_size of them. */
void hash_chain_blocks(const uint8_t key[HASH_KEY_BYTES], const block_hash *root,
                       const int32_t *tokens, size_t n_tokens, size_t block_size, block_hash *out);

#endif
