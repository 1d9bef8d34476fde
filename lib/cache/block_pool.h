/* Paged KV block bookkeeping: reference counts, the prefix index, LRU of free cached blocks.
 * The K/V bytes themselves live in a backend buffer indexed by the same block ids.
 * Not thread-safe: the owning cache serializes calls with its mutex. */
#ifndef SLLM_CACHE_BLOCK_POOL_H
#define SLLM_CACHE_BLOCK_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/prefix_index.h"

typedef struct kv_block {
    int32_t refcount;
    bool registered;        /* findable through the prefix index */
    block_hash hash;
    block_hash parent_hash; /* the chain hash before this block (h0 for the first) */
    int32_t lru_prev, lru_next;
} kv_block;

typedef struct kv_pool_stats {
    uint64_t n_blocks;
    uint64_t n_used;        /* refcount > 0 */
    uint64_t n_cached;      /* refcount == 0 but registered (findable, evictable) */
    uint64_t n_free;        /* refcount == 0, holding nothing */
    uint64_t evictions;
} kv_pool_stats;

typedef struct kv_pool {
    size_t n_blocks;
    size_t block_size;
    kv_block *blocks;
    int32_t *tokens;        /* block_size token ids per block, compared on every hit */
    int32_t *free_ids;      /* stack of unregistered free blocks */
    size_t n_free;
    int32_t lru_head;       /* least recently released cached block: evicted first */
    int32_t lru_tail;
    size_t n_lru;
    uint64_t evictions;
    prefix_index index;
} kv_pool;

sllm_status kv_pool_init(kv_pool *pool, size_t n_blocks, size_t block_size);
void kv_pool_destroy(kv_pool *pool);

/* Finds the longest cached prefix: for i < n_blocks, block i matches when the index
 * holds hashes[i] AND its stored parent hash and token ids equal the request's (a hash
 * collision can never serve wrong K/V). Pins the matched blocks (refcount + 1), writes
 * their ids to out_ids and returns how many matched. */
size_t kv_pool_match(kv_pool *pool, const block_hash *root, const block_hash *hashes,
                     const int32_t *tokens, size_t n_blocks, int32_t *out_ids);

/* Takes a block for new K/V, pinned: an empty one if any, else evicts the least recently
 * released cached block. SLLM_ERR_KV_BUDGET when every block is pinned. */
sllm_status kv_pool_alloc(kv_pool *pool, int32_t *out_id);

/* Makes a full block findable under `hash`. If another block already holds that hash
 * (two requests computed the same block at once), nothing changes and false is returned. */
bool kv_pool_register(kv_pool *pool, int32_t id, const block_hash *parent_hash,
                      const block_hash *hash, const int32_t *tokens);

/* True when the index holds `hash` for block `id` itself, or for a block with the same
 * parent hash and token ids (an equivalent block another request registered first). A
 * caller registering a chain checks each block with this before registering the next:
 * a child is findable only through the block indexed under its parent hash, so it must
 * not be registered when that block holds other tokens (a hash collision). */
bool kv_pool_indexes(const kv_pool *pool, int32_t id, const block_hash *parent_hash, const block_hash *hash,
                     const int32_t *tokens);

/* Unpins blocks, last first, so a released conversation's tail is evicted before the
 * prefix it may share with others. */
void kv_pool_release(kv_pool *pool, const int32_t *ids, size_t n_ids);

/* Forgets every cached (unpinned, registered) block. */
void kv_pool_evict_all(kv_pool *pool);

void kv_pool_get_stats(const kv_pool *pool, kv_pool_stats *stats);

#endif
