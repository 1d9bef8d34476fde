/* sllm_cache: creating the paged K/V pool and backend for a model, clearing, statistics. */
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cpu/cpu_backend.h"
#include "engine/engine.h"

enum { DEFAULT_BUDGET_BYTES = 256u << 20 };

SLLM_API void sllm_cache_params_init(sllm_cache_params *params) {
    if (params == NULL) return;
    memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->budget_bytes = DEFAULT_BUDGET_BYTES;
    params->block_size = 16;
    params->kv_dtype = SLLM_KV_F16;
    params->backend = "auto";
    params->prefix_caching = 1;
    params->log_level = SLLM_LOG_WARN;
}

static sllm_status read_cache_params(const sllm_cache_params *in, sllm_cache_params *out) {
    sllm_cache_params_init(out);
    if (in == NULL) return SLLM_OK;
    if (in->struct_size < sizeof(size_t) || in->struct_size > sizeof *out)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT,
                         "sllm_cache_params.struct_size is %zu; call sllm_cache_params_init() first",
                         in->struct_size);
    memcpy(out, in, in->struct_size);
    if (out->backend == NULL) out->backend = "auto";
    if (out->block_size < 1 || out->block_size > 1024)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "block_size %u is outside [1, 1024]", out->block_size);
    if (kv_dtype_name(out->kv_dtype) == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "kv_dtype %d is unknown (use SLLM_KV_F16, SLLM_KV_BF16, "
                         "SLLM_KV_F32 or SLLM_KV_Q8_0)", (int)out->kv_dtype);
    if (out->n_threads < 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "n_threads %d is negative", out->n_threads);
    return SLLM_OK;
}

static int default_thread_count(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online < 1 ? 1 : online > 64 ? 64 : (int)online;
}

static sllm_status create_backend(const sllm_cache_params *params, sllm_backend **out) {
    int n_threads = params->n_threads > 0 ? params->n_threads : default_thread_count();
    if (strcmp(params->backend, "cpu") == 0 || strcmp(params->backend, "auto") == 0)
        return cpu_backend_create(n_threads, out);
    if (strcmp(params->backend, "cuda") == 0)
        return core_fail(SLLM_ERR_BACKEND, "backend 'cuda' is not available in this build yet");
    return core_fail(SLLM_ERR_INVALID_ARGUMENT, "unknown backend '%s' (use \"auto\", \"cpu\" or \"cuda\")",
                     params->backend);
}

static sllm_status create_pool(sllm_cache *cache, const sllm_cache_params *params) {
    forward_kv_layout(cache->model, params->kv_dtype, params->block_size, &cache->kv_layout);
    if (sllm_kv_row_bytes(&cache->kv_layout) == 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "kv_dtype q8_0 stores K/V rows in blocks of 32 values; this "
                         "model's head_dim %lld is not a multiple of 32 (use SLLM_KV_F16, BF16 or F32)",
                         (long long)cache->kv_layout.head_dim);
    size_t block_bytes = sllm_kv_block_bytes(&cache->kv_layout);
    uint64_t n_blocks = block_bytes ? params->budget_bytes / block_bytes : 0;
    if (n_blocks < 1)
        return core_fail(SLLM_ERR_KV_BUDGET, "KV budget of %llu bytes holds no block (one block of %u tokens "
                         "needs %zu bytes)", (unsigned long long)params->budget_bytes, params->block_size, block_bytes);
    if (n_blocks > INT32_MAX) n_blocks = INT32_MAX;
    sllm_status status = kv_pool_init(&cache->blocks, (size_t)n_blocks, params->block_size);
    if (status != SLLM_OK) return status;
    return cache->backend->ops->buffer_alloc(cache->backend, (size_t)n_blocks * block_bytes, &cache->kv_buffer);
}

SLLM_API sllm_status sllm_cache_create(sllm_model *model, const sllm_cache_params *params,
                                       sllm_cache **out) {
    if (model == NULL || out == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_cache_create: model and out must not be NULL");
    if (!model->has_weights)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_cache_create: the model was loaded with "
                         "metadata_only and cannot run");
    sllm_cache_params options;
    sllm_status status = read_cache_params(params, &options);
    if (status != SLLM_OK) return status;
    if (sodium_init() < 0) return core_fail(SLLM_ERR_INTERNAL, "libsodium failed to initialize");

    sllm_cache *cache = calloc(1, sizeof *cache);
    if (cache == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "sllm_cache_create: out of memory");
    cache->model = model;
    cache->logger = (core_logger){ options.log_fn, options.log_user, options.log_level };
    cache->prefix_caching = options.prefix_caching != 0;
    if (options.key) memcpy(cache->key, options.key, HASH_KEY_BYTES);
    else randombytes_buf(cache->key, HASH_KEY_BYTES);
    kv_layout_describe(options.kv_dtype, options.block_size, cache->kv_layout_name);
    pthread_mutex_init(&cache->mutex, NULL);
    pthread_cond_init(&cache->blocks_released, NULL);

    status = create_backend(&options, &cache->backend);
    if (status == SLLM_OK) status = create_pool(cache, &options);
    if (status == SLLM_OK) status = forward_create(model, cache->backend, ENGINE_MAX_BATCH_TOKENS, &cache->forward);
    if (status == SLLM_OK) status = batcher_init(&cache->batcher, cache->forward, ENGINE_MAX_BATCH_TOKENS);
    if (status == SLLM_OK) cache->batcher_ready = 1;
    if (status != SLLM_OK) {
        sllm_cache_free(cache);
        return status;
    }
    core_log(&cache->logger, SLLM_LOG_INFO, "cache: %zu blocks of %u tokens (%zu bytes each), backend %s",
             cache->blocks.n_blocks, options.block_size, sllm_kv_block_bytes(&cache->kv_layout),
             cache->backend->ops->name);
    *out = cache;
    return SLLM_OK;
}

SLLM_API void sllm_cache_free(sllm_cache *cache) {
    if (cache == NULL) return;
    forward_free(cache->forward);
    if (cache->kv_buffer) cache->backend->ops->buffer_free(cache->backend, cache->kv_buffer);
    if (cache->backend) cache->backend->ops->destroy(cache->backend);
    kv_pool_destroy(&cache->blocks);
    pthread_cond_destroy(&cache->blocks_released);
    if (cache->batcher_ready) batcher_destroy(&cache->batcher);
    pthread_mutex_destroy(&cache->mutex);
    sodium_memzero(cache->key, sizeof cache->key);
    free(cache);
}

SLLM_API sllm_status sllm_cache_clear(sllm_cache *cache) {
    if (cache == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_cache_clear: cache is NULL");
    pthread_mutex_lock(&cache->mutex);
    kv_pool_evict_all(&cache->blocks);
    pthread_mutex_unlock(&cache->mutex);
    return SLLM_OK;
}

static void collect_stats(const sllm_cache *cache, sllm_cache_stats *stats) {
    kv_pool_stats pool;
    pthread_mutex_lock((pthread_mutex_t *)&cache->mutex);
    kv_pool_get_stats(&cache->blocks, &pool);
    stats->query_tokens = cache->query_tokens;
    stats->hit_tokens = cache->hit_tokens;
    stats->requests = cache->requests;
    pthread_mutex_unlock((pthread_mutex_t *)&cache->mutex);
    stats->blocks_total = pool.n_blocks;
    stats->blocks_used = pool.n_used;
    stats->blocks_cached = pool.n_cached;
    stats->blocks_free = pool.n_free;
    stats->evictions = pool.evictions;
    stats->bytes_per_block = sllm_kv_block_bytes(&cache->kv_layout);
    stats->bytes_total = pool.n_blocks * stats->bytes_per_block;
    batcher *b = (batcher *)&cache->batcher;
    pthread_mutex_lock(&b->mutex);
    stats->forward_passes = b->passes;
    stats->batched_steps = b->shared_steps;
    pthread_mutex_unlock(&b->mutex);
}

SLLM_API sllm_status sllm_cache_get_stats(const sllm_cache *cache, sllm_cache_stats *stats) {
    if (cache == NULL || stats == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_cache_get_stats: NULL argument");
    /* A host built against an older header passes a shorter struct (fields are only ever
     * appended): fill the fields it knows, never past its struct_size. */
    size_t caller_size = stats->struct_size;
    if (caller_size < offsetof(sllm_cache_stats, query_tokens) + sizeof stats->query_tokens)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_cache_stats.struct_size is %zu, expected %zu",
                         caller_size, sizeof *stats);
    sllm_cache_stats full = { .struct_size = sizeof full };
    collect_stats(cache, &full);
    size_t n_copied = caller_size < sizeof full ? caller_size : sizeof full;
    memcpy((char *)stats + sizeof stats->struct_size, (const char *)&full + sizeof full.struct_size,
           n_copied - sizeof full.struct_size);
    return SLLM_OK;
}

SLLM_API sllm_status sllm_cache_stats_prometheus(const sllm_cache *cache, char *out, size_t capacity,
                                                 size_t *len) {
    if (cache == NULL || len == NULL || (out == NULL && capacity > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_cache_stats_prometheus: NULL argument");
    sllm_cache_stats s = { .struct_size = sizeof s };
    collect_stats(cache, &s);
    char text[2048];
    int n = snprintf(text, sizeof text,
        "# HELP sllm_cache_query_tokens_total Prompt tokens of all requests.\n"
        "# TYPE sllm_cache_query_tokens_total counter\nsllm_cache_query_tokens_total %llu\n"
        "# HELP sllm_cache_hit_tokens_total Prompt tokens served from the cache.\n"
        "# TYPE sllm_cache_hit_tokens_total counter\nsllm_cache_hit_tokens_total %llu\n"
        "# HELP sllm_cache_requests_total generate() calls.\n"
        "# TYPE sllm_cache_requests_total counter\nsllm_cache_requests_total %llu\n"
        "# HELP sllm_cache_evictions_total Cached blocks evicted to make room.\n"
        "# TYPE sllm_cache_evictions_total counter\nsllm_cache_evictions_total %llu\n"
        "# HELP sllm_cache_blocks K/V blocks by state.\n"
        "# TYPE sllm_cache_blocks gauge\n"
        "sllm_cache_blocks{state=\"used\"} %llu\nsllm_cache_blocks{state=\"cached\"} %llu\n"
        "sllm_cache_blocks{state=\"free\"} %llu\n"
        "# HELP sllm_cache_blocks_total K/V blocks in the pool.\n"
        "# TYPE sllm_cache_blocks_total gauge\nsllm_cache_blocks_total %llu\n"
        "# HELP sllm_cache_bytes K/V pool size in bytes.\n"
        "# TYPE sllm_cache_bytes gauge\nsllm_cache_bytes %llu\n"
        "# HELP sllm_forward_passes_total Forward passes run.\n"
        "# TYPE sllm_forward_passes_total counter\nsllm_forward_passes_total %llu\n"
        "# HELP sllm_batched_steps_total Steps of concurrent calls that shared a forward pass.\n"
        "# TYPE sllm_batched_steps_total counter\nsllm_batched_steps_total %llu\n",
        (unsigned long long)s.query_tokens, (unsigned long long)s.hit_tokens,
        (unsigned long long)s.requests, (unsigned long long)s.evictions,
        (unsigned long long)s.blocks_used, (unsigned long long)s.blocks_cached,
        (unsigned long long)s.blocks_free, (unsigned long long)s.blocks_total,
        (unsigned long long)s.bytes_total, (unsigned long long)s.forward_passes,
        (unsigned long long)s.batched_steps);
    if (n < 0 || (size_t)n >= sizeof text)
        return core_fail(SLLM_ERR_INTERNAL, "sllm_cache_stats_prometheus: text overflow");
    *len = (size_t)n;
    if (capacity < (size_t)n + 1)
        return core_fail(SLLM_ERR_BUFFER_TOO_SMALL, "sllm_cache_stats_prometheus: %d bytes needed, capacity %zu",
                         n + 1, capacity);
    memcpy(out, text, (size_t)n + 1);
    return SLLM_OK;
}
