/* Prefix index: linear-probing hash table keyed by 32-byte chain hashes. */
#include "cache/prefix_index.h"

#include <stdlib.h>
#include <string.h>

/* Chain hashes are keyed BLAKE2b output: any 8 bytes of them are uniformly distributed. */
static uint64_t slot_of(const prefix_index *index, const block_hash *hash) {
    uint64_t h;
    memcpy(&h, hash->bytes, sizeof h);
    return h & index->mask;
}

sllm_status prefix_index_init(prefix_index *index, uint64_t max_entries) {
    uint64_t capacity = 16;
    while (capacity < 2 * max_entries) capacity *= 2;
    index->slots = malloc(capacity * sizeof *index->slots);
    if (index->slots == NULL)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "prefix index: cannot allocate %llu slots",
                         (unsigned long long)capacity);
    for (uint64_t i = 0; i < capacity; i++) index->slots[i].block_id = -1;
    index->mask = capacity - 1;
    return SLLM_OK;
}

void prefix_index_destroy(prefix_index *index) {
    free(index->slots);
    index->slots = NULL;
}

int32_t prefix_index_find(const prefix_index *index, const block_hash *hash) {
    for (uint64_t i = slot_of(index, hash);; i = (i + 1) & index->mask) {
        const prefix_index_slot *slot = &index->slots[i];
        if (slot->block_id < 0) return -1;
        if (memcmp(slot->hash.bytes, hash->bytes, HASH_BYTES) == 0) return slot->block_id;
    }
}

int32_t prefix_index_insert(prefix_index *index, const block_hash *hash, int32_t block_id) {
    for (uint64_t i = slot_of(index, hash);; i = (i + 1) & index->mask) {
        prefix_index_slot *slot = &index->slots[i];
        if (slot->block_id < 0) {
            slot->hash = *hash;
            slot->block_id = block_id;
            return -1;
        }
        if (memcmp(slot->hash.bytes, hash->bytes, HASH_BYTES) == 0) return slot->block_id;
    }
}

/* Backward-shift deletion keeps every probe sequence unbroken without tombstones. */
void prefix_index_remove(prefix_index *index, const block_hash *hash, int32_t block_id) {
    uint64_t hole = slot_of(index, hash);
    for (;; hole = (hole + 1) & index->mask) {
        prefix_index_slot *slot = &index->slots[hole];
        if (slot->block_id < 0) return;
        if (slot->block_id == block_id && memcmp(slot->hash.bytes, hash->bytes, HASH_BYTES) == 0) break;
    }
    for (uint64_t next = (hole + 1) & index->mask;; next = (next + 1) & index->mask) {
        prefix_index_slot *slot = &index->slots[next];
        if (slot->block_id < 0) break;
        uint64_t home = slot_of(index, &slot->hash);
        /* Move the entry into the hole unless its home lies cyclically in (hole, next]. */
        int stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
        if (stays) continue;
        index->slots[hole] = *slot;
        hole = next;
    }
    index->slots[hole].block_id = -1;
}
