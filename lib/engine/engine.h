/* The sllm_cache handle's contents: where tokens, cache blocks and compute meet. */
#ifndef SLLM_ENGINE_ENGINE_H
#define SLLM_ENGINE_ENGINE_H

#include <pthread.h>
#include <stdint.h>

#include "cache/block_pool.h"
#include "cache/hash_chain.h"
#include "cache/kv_layout.h"
#include "chat/chat.h"
#include "core/log.h"
#include "engine/batcher.h"
#include "engine/forward.h"
#include "model/model_internal.h"
#include "statelessllm_backend.h"

enum { ENGINE_MAX_BATCH_TOKENS = 256 };

struct sllm_cache {
    sllm_model *model;
    core_logger logger;
    sllm_backend *backend;
    sllm_kv_layout kv_layout;
    sllm_backend_buffer *kv_buffer;     /* the paged pool's K/V bytes */
    char kv_layout_name[KV_LAYOUT_CAPACITY];
    uint8_t key[HASH_KEY_BYTES];
    int prefix_caching;

    /* Guards `blocks`, the statistics and `blocks_released`. */
    pthread_mutex_t mutex;
    pthread_cond_t blocks_released;     /* signalled whenever blocks are unpinned */
    kv_pool blocks;
    uint64_t query_tokens;
    uint64_t hit_tokens;
    uint64_t requests;

    /* One forward context (its scratch buffers) serves one pass at a time; the batcher
     * runs concurrent calls' steps in shared passes. */
    forward_context *forward;
    batcher batcher;
    int batcher_ready;

    /* Test hook: when non-zero, chain hashes keep only their first byte (the rest zeroed),
     * forcing collisions that the stored-token comparison must catch. */
    int test_weak_hashes;
};

#endif
