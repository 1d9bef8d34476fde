/* Hash map from a block's chain hash to the id of the block that holds its K/V. */
#ifndef SLLM_CACHE_PREFIX_INDEX_H
#define SLLM_CACHE_PREFIX_INDEX_H

#include <stdint.h>

#include "cache/hash_chain.h"

typedef struct prefix_index_slot {
    block_hash hash;
    int32_t block_id;      /* -1: empty */
} prefix_index_slot;

/* Open addressing with linear probing and backward-shift deletion; capacity is a power
 * of two at least twice the number of blocks, so it never fills. */
typedef struct prefix_index {
    prefix_index_slot *slots;
    uint64_t mask;
} prefix_index;

sllm_status prefix_index_init(prefix_index *index, uint64_t max_entries);
void prefix_index_destroy(prefix_index *index);

/* Block id stored under `hash`, or -1. */
int32_t prefix_index_find(const prefix_index *index, const block_hash *hash);
/* Inserts; returns -1, or the block id already stored under that hash (nothing changed). */
int32_t prefix_index_insert(prefix_index *index, const block_hash *hash, int32_t block_id);
/* Removes the entry for `hash` if it maps to `block_id`. */
void prefix_index_remove(prefix_index *index, const block_hash *hash, int32_t block_id);

#endif
