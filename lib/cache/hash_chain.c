/* Block-hash chain: keyed BLAKE2b-256 over length-prefixed fields, then over token blocks. */
#include "cache/hash_chain.h"

#include <sodium.h>
#include <string.h>

static const char chain_domain[] = "sllm/kv/v1";

static void update_u64(crypto_generichash_state *state, uint64_t value) {
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(value >> (8 * i));
    crypto_generichash_update(state, le, sizeof le);
}

static void update_field(crypto_generichash_state *state, const void *data, size_t len) {
    update_u64(state, len);
    if (len > 0) crypto_generichash_update(state, data, len);
}

void hash_chain_root(const uint8_t key[HASH_KEY_BYTES], const uint8_t model_id[HASH_BYTES],
                     const char *kv_layout, const uint8_t *salt, size_t salt_len, block_hash *out) {
    crypto_generichash_state state;
    crypto_generichash_init(&state, key, HASH_KEY_BYTES, HASH_BYTES);
    update_field(&state, chain_domain, sizeof chain_domain - 1);
    update_field(&state, model_id, HASH_BYTES);
    update_field(&state, kv_layout, strlen(kv_layout));
    update_field(&state, salt, salt_len);
    crypto_generichash_final(&state, out->bytes, HASH_BYTES);
}

void hash_chain_next(const uint8_t key[HASH_KEY_BYTES], const block_hash *parent,
                     const int32_t *tokens, size_t block_size, block_hash *out) {
    crypto_generichash_state state;
    crypto_generichash_init(&state, key, HASH_KEY_BYTES, HASH_BYTES);
    crypto_generichash_update(&state, parent->bytes, HASH_BYTES);
    uint8_t le[4 * 64];
    size_t done = 0;
    while (done < block_size) {
        size_t n = block_size - done < 64 ? block_size - done : 64;
        for (size_t i = 0; i < n; i++) {
            uint32_t v = (uint32_t)tokens[done + i];
            le[4 * i + 0] = (uint8_t)v;
            le[4 * i + 1] = (uint8_t)(v >> 8);
            le[4 * i + 2] = (uint8_t)(v >> 16);
            le[4 * i + 3] = (uint8_t)(v >> 24);
        }
        crypto_generichash_update(&state, le, 4 * n);
        done += n;
    }
    crypto_generichash_final(&state, out->bytes, HASH_BYTES);
}

void hash_chain_blocks(const uint8_t key[HASH_KEY_BYTES], const block_hash *root,
                       const int32_t *tokens, size_t n_tokens, size_t block_size, block_hash *out) {
    size_t n_blocks = block_size ? n_tokens / block_size : 0;
    const block_hash *parent = root;
    for (size_t i = 0; i < n_blocks; i++) {
        hash_chain_next(key, parent, tokens + i * block_size, block_size, &out[i]);
        parent = &out[i];
    }
}
