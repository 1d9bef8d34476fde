/* Block pool: refcounts, free stack, LRU of evictable cached blocks, prefix index upkeep. */
#include "cache/block_pool.h"

#include <stdlib.h>
#include <string.h>

sllm_status kv_pool_init(kv_pool *pool, size_t n_blocks, size_t block_size) {
    memset(pool, 0, sizeof *pool);
    if (n_blocks == 0 || n_blocks > INT32_MAX || block_size == 0 || block_size > 4096)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "KV pool: %zu blocks of %zu tokens is not a valid size",
                         n_blocks, block_size);
    pool->n_blocks = n_blocks;
    pool->block_size = block_size;
    pool->blocks = calloc(n_blocks, sizeof *pool->blocks);
    pool->tokens = calloc(n_blocks, block_size * sizeof *pool->tokens);
    pool->free_ids = malloc(n_blocks * sizeof *pool->free_ids);
    if (pool->blocks == NULL || pool->tokens == NULL || pool->free_ids == NULL) goto fail;
    sllm_status status = prefix_index_init(&pool->index, n_blocks);
    if (status != SLLM_OK) goto fail;
    /* Pushed in reverse so blocks are handed out in increasing id order. */
    for (size_t i = 0; i < n_blocks; i++) pool->free_ids[i] = (int32_t)(n_blocks - 1 - i);
    pool->n_free = n_blocks;
    pool->lru_head = pool->lru_tail = -1;
    return SLLM_OK;
fail:
    kv_pool_destroy(pool);
    return core_fail(SLLM_ERR_OUT_OF_MEMORY, "KV pool: cannot allocate bookkeeping for %zu blocks", n_blocks);
}

void kv_pool_destroy(kv_pool *pool) {
    free(pool->blocks);
    free(pool->tokens);
    free(pool->free_ids);
    prefix_index_destroy(&pool->index);
    memset(pool, 0, sizeof *pool);
}

static void lru_unlink(kv_pool *pool, int32_t id) {
    kv_block *block = &pool->blocks[id];
    if (block->lru_prev >= 0) pool->blocks[block->lru_prev].lru_next = block->lru_next;
    else pool->lru_head = block->lru_next;
    if (block->lru_next >= 0) pool->blocks[block->lru_next].lru_prev = block->lru_prev;
    else pool->lru_tail = block->lru_prev;
    pool->n_lru--;
}

static void lru_append(kv_pool *pool, int32_t id) {
    kv_block *block = &pool->blocks[id];
    block->lru_prev = pool->lru_tail;
    block->lru_next = -1;
    if (pool->lru_tail >= 0) pool->blocks[pool->lru_tail].lru_next = id;
    else pool->lru_head = id;
    pool->lru_tail = id;
    pool->n_lru++;
}

static void pin(kv_pool *pool, int32_t id) {
    kv_block *block = &pool->blocks[id];
    if (block->refcount == 0 && block->registered) lru_unlink(pool, id);
    block->refcount++;
}

static int32_t *block_tokens(const kv_pool *pool, int32_t id) {
    return pool->tokens + (size_t)id * pool->block_size;
}

size_t kv_pool_match(kv_pool *pool, const block_hash *root, const block_hash *hashes,
                     const int32_t *tokens, size_t n_blocks, int32_t *out_ids) {
    const block_hash *parent = root;
    size_t n_matched = 0;
    for (; n_matched < n_blocks; n_matched++) {
        int32_t id = prefix_index_find(&pool->index, &hashes[n_matched]);
        if (id < 0) break;
        const kv_block *block = &pool->blocks[id];
        const int32_t *expected = tokens + n_matched * pool->block_size;
        if (memcmp(block->parent_hash.bytes, parent->bytes, HASH_BYTES) != 0 ||
            memcmp(block_tokens(pool, id), expected, pool->block_size * sizeof *expected) != 0)
            break;
        pin(pool, id);
        out_ids[n_matched] = id;
        parent = &hashes[n_matched];
    }
    return n_matched;
}

static void forget(kv_pool *pool, int32_t id) {
    kv_block *block = &pool->blocks[id];
    prefix_index_remove(&pool->index, &block->hash, id);
    block->registered = false;
}

sllm_status kv_pool_alloc(kv_pool *pool, int32_t *out_id) {
    int32_t id;
    if (pool->n_free > 0) {
        id = pool->free_ids[--pool->n_free];
    } else if (pool->lru_head >= 0) {
        id = pool->lru_head;
        lru_unlink(pool, id);
        forget(pool, id);
        pool->evictions++;
    } else {
        return core_fail(SLLM_ERR_KV_BUDGET, "KV cache: all %zu blocks are in use", pool->n_blocks);
    }
    pool->blocks[id].refcount = 1;
    *out_id = id;
    return SLLM_OK;
}

bool kv_pool_register(kv_pool *pool, int32_t id, const block_hash *parent_hash,
                      const block_hash *hash, const int32_t *tokens) {
    kv_block *block = &pool->blocks[id];
    if (block->registered) return false;
    if (prefix_index_insert(&pool->index, hash, id) >= 0) return false;
    block->registered = true;
    block->hash = *hash;
    block->parent_hash = *parent_hash;
    memcpy(block_tokens(pool, id), tokens, pool->block_size * sizeof *tokens);
    return true;
}

bool kv_pool_indexes(const kv_pool *pool, int32_t id, const block_hash *parent_hash, const block_hash *hash,
                     const int32_t *tokens) {
    int32_t found = prefix_index_find(&pool->index, hash);
    if (found < 0) return false;
    if (found == id) return true;
    return memcmp(pool->blocks[found].parent_hash.bytes, parent_hash->bytes, HASH_BYTES) == 0 &&
           memcmp(block_tokens(pool, found), tokens, pool->block_size * sizeof *tokens) == 0;
}

void kv_pool_release(kv_pool *pool, const int32_t *ids, size_t n_ids) {
    for (size_t i = n_ids; i-- > 0;) {
        int32_t id = ids[i];
        kv_block *block = &pool->blocks[id];
        if (--block->refcount > 0) continue;
        if (block->registered) lru_append(pool, id);
        else pool->free_ids[pool->n_free++] = id;
    }
}

void kv_pool_evict_all(kv_pool *pool) {
    while (pool->lru_head >= 0) {
        int32_t id = pool->lru_head;
        lru_unlink(pool, id);
        forget(pool, id);
        pool->free_ids[pool->n_free++] = id;
        pool->evictions++;
    }
}

void kv_pool_get_stats(const kv_pool *pool, kv_pool_stats *stats) {
    stats->n_blocks = pool->n_blocks;
    stats->n_cached = pool->n_lru;
    stats->n_free = pool->n_free;
    stats->n_used = pool->n_blocks - pool->n_lru - pool->n_free;
    stats->evictions = pool->evictions;
}
