/* generate(): the data flow of one call, as ARCHITECTURE.md draws it.
 * render template -> tokenize -> hash full blocks -> longest cached prefix (tokens compared)
 * -> pin -> prefill the uncached suffix -> sample/decode, writing K/V into pages -> stream
 * text (stop strings held back) -> register full blocks -> release tail-first -> result. */
#include "engine/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_request.h"
#include "engine/prompt.h"
#include "engine/sampler.h"
#include "engine/stop_matcher.h"
#include "tokenizer/tokenizer.h"

typedef struct generation {
    sllm_cache *cache;
    const sllm_model *model;
    const struct tokenizer *tok;
    sllm_request *req;
    const generate_hooks *hooks;
    sllm_stream_fn stream;
    void *stream_user;

    sllm_generate_params params;        /* effective: call's params with the JSON's on top */
    sampler_params sampling;
    sampler_logit_bias *bias;           /* from params (a JSON request brings its own) */
    sampler *sampler;

    tok_ids sequence;                   /* prompt, then the generated tokens */
    size_t n_prompt;
    size_t max_new;
    int context_limited;                /* max_new was cut to fit the context */
    size_t n_kv;                        /* tokens of `sequence` whose K/V are in the pool */

    int32_t *table;                     /* pinned block ids covering the sequence */
    size_t n_table;
    size_t n_hit_blocks;
    size_t n_registered;                /* blocks [0, n_registered) are findable */
    bool chain_broken;                  /* a colliding block holds our hash: register no more */
    block_hash root;
    block_hash *hashes;                 /* chain hashes of the sequence's full blocks */
    size_t n_hashes;

    float *logits;
    int64_t n_vocab;

    tok_stream detok;
    stop_matcher stops;
    tok_bytes piece;
    tok_bytes clean;                    /* piece with invalid UTF-8 replaced */
    tok_bytes text;
    tok_ids generated;
    float *logprobs;
    sllm_token_logprob *top_logprobs;
    sllm_finish_reason finish;
    int cancelled;
    bool stop_matched;                  /* a stop string ended the reply */

    double t_start, t_first, t_prefill_done;
} generation;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

SLLM_API void sllm_generate_params_init(sllm_generate_params *params) {
    if (params == NULL) return;
    memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->max_tokens = 256;
    params->temperature = 1.0f;
    params->top_p = 1.0f;
    params->repetition_penalty = 1.0f;
    params->add_generation_prompt = 1;
}

SLLM_API void sllm_result_init(sllm_result *result) {
    if (result == NULL) return;
    memset(result, 0, sizeof *result);
    result->struct_size = sizeof *result;
}

SLLM_API void sllm_result_free(sllm_result *result) {
    if (result == NULL) return;
    free(result->text);
    free(result->tokens);
    free(result->logprobs);
    free(result->top_logprobs);
    sllm_result_init(result);
}

/* ---- parameters ------------------------------------------------------------------ */

static sllm_status read_generate_params(const sllm_generate_params *in, sllm_generate_params *out) {
    sllm_generate_params_init(out);
    if (in == NULL) return SLLM_OK;
    if (in->struct_size < sizeof(size_t) || in->struct_size > sizeof *out)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_generate_params.struct_size is %zu; "
                         "call sllm_generate_params_init() first", in->struct_size);
    memcpy(out, in, in->struct_size);
    return SLLM_OK;
}

static sllm_status sampling_from_params(generation *g) {
    const sllm_generate_params *p = &g->params;
    sampler_params *s = &g->sampling;
    sampler_params_init(s);
    s->temperature = p->temperature;
    s->top_k = p->top_k;
    s->top_p = p->top_p;
    s->min_p = p->min_p;
    s->presence_penalty = p->presence_penalty;
    s->frequency_penalty = p->frequency_penalty;
    s->repetition_penalty = p->repetition_penalty;
    s->seed = p->seed;
    s->logprobs = p->logprobs || p->top_logprobs > 0;
    s->top_logprobs = p->top_logprobs;
    if (p->n_logit_bias == 0) return SLLM_OK;
    if (p->logit_bias_tokens == NULL || p->logit_bias_values == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "logit_bias_tokens/values are NULL with n_logit_bias %zu",
                         p->n_logit_bias);
    g->bias = malloc(p->n_logit_bias * sizeof *g->bias);
    if (g->bias == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "generate: out of memory");
    for (size_t i = 0; i < p->n_logit_bias; i++)
        g->bias[i] = (sampler_logit_bias){ p->logit_bias_tokens[i], p->logit_bias_values[i] };
    s->logit_bias = g->bias;
    s->n_logit_bias = p->n_logit_bias;
    return SLLM_OK;
}

/* A JSON request carries its own sampling, limits, stop strings and salt. */
static void apply_json_request(generation *g, const char **stop_ptrs) {
    const request *conversation = &g->req->conversation;
    g->sampling = conversation->sampling;
    if (conversation->max_tokens >= 0)
        g->params.max_tokens = conversation->max_tokens > INT32_MAX ? INT32_MAX : (int32_t)conversation->max_tokens;
    if (conversation->n_stop > 0) {
        for (size_t i = 0; i < conversation->n_stop; i++) stop_ptrs[i] = conversation->stop[i];
        g->params.stop = stop_ptrs;
        g->params.n_stop = conversation->n_stop;
    }
    if (conversation->cache_salt != NULL) {
        g->params.salt = (const uint8_t *)conversation->cache_salt;
        g->params.salt_len = conversation->cache_salt_len;
    }
}

static sllm_status prepare(generation *g, const sllm_generate_params *params, const char **stop_ptrs) {
    sllm_status status = read_generate_params(params, &g->params);
    if (status != SLLM_OK) return status;
    if (g->req->from_json) apply_json_request(g, stop_ptrs);
    else if ((status = sampling_from_params(g)) != SLLM_OK) return status;
    if (g->params.max_tokens < -1)
        return core_fail(SLLM_ERR_INVALID_REQUEST, "max_tokens is %d; use -1 for no limit or a value >= 0",
                         (int)g->params.max_tokens);
    if (g->params.salt == NULL && g->params.salt_len > 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "salt is NULL with salt_len %zu", g->params.salt_len);
    if (g->params.stop == NULL && g->params.n_stop > 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "stop is NULL with n_stop %zu", g->params.n_stop);
    g->n_vocab = g->model->hparams.n_vocab;
    status = sampler_create(&g->sampling, (int32_t)g->n_vocab, &g->sampler);
    if (status != SLLM_OK) return status;
    g->logits = malloc((size_t)g->n_vocab * sizeof *g->logits);
    if (g->logits == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "generate: out of memory for logits");
    return stop_matcher_init(&g->stops, g->params.stop, g->params.n_stop);
}

/* ---- the prompt and its cached prefix ------------------------------------------------ */

static sllm_status build_prompt(generation *g) {
    sllm_status status = prompt_build(g->model, g->req, &g->params, &g->sequence);
    if (status != SLLM_OK) return status;
    g->n_prompt = g->sequence.len;
    size_t n_ctx = (size_t)g->model->hparams.n_ctx;
    if (g->n_prompt >= n_ctx)
        return core_fail(SLLM_ERR_CONTEXT_OVERFLOW, "the prompt has %zu tokens; the context holds %zu "
                         "(at least one must remain for the reply)", g->n_prompt, n_ctx);
    size_t room = n_ctx - g->n_prompt;
    g->max_new = g->params.max_tokens < 0 ? room : (size_t)g->params.max_tokens;
    if (g->max_new > room) {
        g->max_new = room;
        g->context_limited = 1;
    }
    if (g->params.max_tokens < 0) g->context_limited = 1;
    return SLLM_OK;
}

/* The cache-test hook keeps one byte of each hash, so different chains collide. */
static void weaken(const sllm_cache *cache, block_hash *hash) {
    if (cache->test_weak_hashes) memset(hash->bytes + 1, 0, HASH_BYTES - 1);
}

static sllm_status extend_hashes(generation *g, size_t n_full_blocks) {
    const sllm_cache *cache = g->cache;
    size_t block_size = cache->blocks.block_size;
    if (n_full_blocks <= g->n_hashes) return SLLM_OK;
    block_hash *grown = realloc(g->hashes, n_full_blocks * sizeof *grown);
    if (grown == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "generate: out of memory for hashes");
    g->hashes = grown;
    for (size_t i = g->n_hashes; i < n_full_blocks; i++) {
        const block_hash *parent = i == 0 ? &g->root : &g->hashes[i - 1];
        hash_chain_next(cache->key, parent, g->sequence.data + i * block_size, block_size, &g->hashes[i]);
        weaken(cache, &g->hashes[i]);
    }
    g->n_hashes = n_full_blocks;
    return SLLM_OK;
}

static size_t blocks_for(size_t n_tokens, size_t block_size) {
    return (n_tokens + block_size - 1) / block_size;
}

/* Pins the longest cached prefix (never the whole prompt: its last token is always
 * computed, for its logits). Returns the number of blocks pinned. */
static size_t match_prefix(generation *g) {
    sllm_cache *cache = g->cache;
    if (!cache->prefix_caching) return 0;
    size_t block_size = cache->blocks.block_size;
    size_t n_hit = kv_pool_match(&cache->blocks, &g->root, g->hashes, g->sequence.data,
                                 g->n_prompt / block_size, g->table);
    if (n_hit > 0 && n_hit * block_size == g->n_prompt) kv_pool_release(&cache->blocks, &g->table[--n_hit], 1);
    return n_hit;
}

/* Reserves every block the call can need, or waits (holding nothing) until other calls
 * release enough: all-or-nothing admission cannot deadlock. */
static sllm_status admit(generation *g) {
    sllm_cache *cache = g->cache;
    size_t block_size = cache->blocks.block_size;
    size_t n_kv_max = g->max_new > 0 ? g->n_prompt + g->max_new - 1 : g->n_prompt;
    size_t n_needed = blocks_for(n_kv_max, block_size);
    if (n_needed > cache->blocks.n_blocks)
        return core_fail(SLLM_ERR_KV_BUDGET, "the request needs %zu K/V blocks (%zu prompt tokens + up to %zu "
                         "new) but the cache holds only %zu: raise budget_bytes or lower max_tokens",
                         n_needed, g->n_prompt, g->max_new, cache->blocks.n_blocks);
    g->table = malloc(n_needed * sizeof *g->table);
    if (g->table == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "generate: out of memory for the block table");
    hash_chain_root(cache->key, g->model->model_id, cache->kv_layout_name, g->params.salt, g->params.salt_len, &g->root);
    sllm_status status = extend_hashes(g, g->n_prompt / block_size);
    if (status != SLLM_OK) return status;

    pthread_mutex_lock(&cache->mutex);
    for (;;) {
        size_t n_hit = match_prefix(g);
        size_t n_new = n_needed - n_hit;
        if (n_new <= cache->blocks.n_free + cache->blocks.n_lru) {
            for (size_t i = n_hit; i < n_needed; i++) kv_pool_alloc(&cache->blocks, &g->table[i]);
            g->n_hit_blocks = g->n_registered = n_hit;
            g->n_table = n_needed;
            break;
        }
        kv_pool_release(&cache->blocks, g->table, n_hit);
        pthread_cond_wait(&cache->blocks_released, &cache->mutex);
    }
    cache->requests++;
    cache->query_tokens += g->n_prompt;
    cache->hit_tokens += g->n_hit_blocks * block_size;
    pthread_mutex_unlock(&cache->mutex);
    g->n_kv = g->n_hit_blocks * block_size;
    return SLLM_OK;
}

/* Makes every full block of the computed sequence findable (once prefix caching is on).
 * A block's K/V depend on its whole prefix, but a match reaches block i through whatever
 * block the index holds under hash i-1. So registering stops for good at the first block
 * whose hash is held by a block with other tokens (a collision, e.g. under the
 * test_weak_hashes hook): our later blocks would be served after that block's prefix. */
static sllm_status register_blocks(generation *g) {
    sllm_cache *cache = g->cache;
    if (!cache->prefix_caching || g->chain_broken) return SLLM_OK;
    size_t block_size = cache->blocks.block_size;
    size_t n_full = g->n_kv / block_size;
    if (n_full <= g->n_registered) return SLLM_OK;
    sllm_status status = extend_hashes(g, n_full);
    if (status != SLLM_OK) return status;
    pthread_mutex_lock(&cache->mutex);
    for (size_t i = g->n_registered; i < n_full && !g->chain_broken; i++) {
        const block_hash *parent = i == 0 ? &g->root : &g->hashes[i - 1];
        const int32_t *tokens = g->sequence.data + i * block_size;
        kv_pool_register(&cache->blocks, g->table[i], parent, &g->hashes[i], tokens);
        g->chain_broken = !kv_pool_indexes(&cache->blocks, g->table[i], parent, &g->hashes[i], tokens);
    }
    pthread_mutex_unlock(&cache->mutex);
    g->n_registered = n_full;
    return SLLM_OK;
}

static void release_blocks(generation *g) {
    if (g->n_table == 0) return;
    sllm_cache *cache = g->cache;
    pthread_mutex_lock(&cache->mutex);
    kv_pool_release(&cache->blocks, g->table, g->n_table);
    pthread_cond_broadcast(&cache->blocks_released);
    pthread_mutex_unlock(&cache->mutex);
    g->n_table = 0;
}

/* ---- compute --------------------------------------------------------------------------- */

/* Runs sequence[n_kv .. n_kv + n_tokens) through the model; logits of the last one. */
static sllm_status compute(generation *g, size_t n_tokens) {
    sllm_cache *cache = g->cache;
    forward_batch batch = {
        .tokens = g->sequence.data + g->n_kv,
        .n_tokens = (int64_t)n_tokens,
        .n_past = (int64_t)g->n_kv,
        .block_table = g->table,
        .n_blocks = (int64_t)g->n_table,
        .kv_pool = cache->kv_buffer,
        .kv_layout = &cache->kv_layout,
        .all_logits = 0,
        .logits = g->logits,
    };
    sllm_status status = batcher_run(&cache->batcher, &batch);
    if (status != SLLM_OK) return status;
    g->n_kv += n_tokens;
    if (g->hooks && g->hooks->on_logits) g->hooks->on_logits(g->hooks->user, g->logits, g->n_vocab);
    return SLLM_OK;
}

/* ---- output -------------------------------------------------------------------------- */

static int cancel_requested(const generation *g) {
    return atomic_load(&g->req->cancel_requested) != 0;
}

/* Hands text to the host (and the result); a non-zero callback return cancels. */
static sllm_status emit(generation *g, const char *text, size_t len, const int32_t *tokens, size_t n_tokens) {
    if (len > 0) {
        sllm_status status = tok_bytes_append(&g->text, text, len);
        if (status != SLLM_OK) return status;
    }
    static const int32_t no_tokens[1] = { 0 };    /* text held back until now comes without tokens */
    if (g->stream != NULL && (len > 0 || n_tokens > 0) &&
        g->stream(g->stream_user, len ? text : "", len, n_tokens ? tokens : no_tokens, n_tokens) != 0)
        g->cancelled = 1;
    return SLLM_OK;
}

/* Byte-level tokens can spell bytes that are not UTF-8 (an untrained model, a reply cut
 * inside a character): each such byte becomes U+FFFD, so that streamed chunks and
 * result.text are always valid UTF-8 and a reply can be re-sent as a message (whose
 * content must be UTF-8). The token ids stay verbatim. tok_stream has already held back
 * an incomplete sequence at the end, so any sequence that does not decode here is invalid. */
static sllm_status clean_piece(generation *g) {
    static const char replacement[] = "\xEF\xBF\xBD";
    const uint8_t *bytes = (const uint8_t *)g->piece.data;
    g->clean.len = 0;
    size_t start = 0, i = 0;
    sllm_status status = SLLM_OK;
    while (i < g->piece.len && status == SLLM_OK) {
        uint32_t codepoint;
        size_t n = tok_utf8_decode(bytes + i, g->piece.len - i, &codepoint);
        if (n > 0) {
            i += n;
            continue;
        }
        status = tok_bytes_append(&g->clean, g->piece.data + start, i - start);
        if (status == SLLM_OK) status = tok_bytes_append(&g->clean, replacement, sizeof replacement - 1);
        start = ++i;
    }
    if (status == SLLM_OK && start < g->piece.len)
        status = tok_bytes_append(&g->clean, g->piece.data + start, g->piece.len - start);
    return status;
}

/* Detokenizes one new token, holds back a possible stop string, streams the rest. */
static sllm_status stream_token(generation *g, int32_t token, bool *stop_matched) {
    *stop_matched = false;
    g->piece.len = 0;
    sllm_status status = g->tok ? tok_stream_push(&g->detok, token, &g->piece) : SLLM_OK;
    if (status == SLLM_OK) status = clean_piece(g);
    if (status != SLLM_OK) return status;
    const char *shown;
    size_t shown_len;
    status = stop_matcher_feed(&g->stops, g->clean.data ? g->clean.data : "", g->clean.len, &shown, &shown_len,
                               stop_matched);
    if (status != SLLM_OK) return status;
    return emit(g, shown, shown_len, &token, 1);
}

static sllm_status flush_text(generation *g) {
    if (g->stop_matched) return SLLM_OK;
    g->piece.len = 0;
    sllm_status status = g->tok ? tok_stream_flush(&g->detok, &g->piece) : SLLM_OK;
    if (status == SLLM_OK) status = clean_piece(g);
    const char *shown;
    size_t shown_len;
    bool matched = false;
    if (status == SLLM_OK && g->clean.len > 0)
        status = stop_matcher_feed(&g->stops, g->clean.data, g->clean.len, &shown, &shown_len, &matched);
    if (status == SLLM_OK && g->clean.len > 0) status = emit(g, shown, shown_len, NULL, 0);
    if (status != SLLM_OK || matched) return status;
    stop_matcher_flush(&g->stops, &shown, &shown_len);
    return emit(g, shown, shown_len, NULL, 0);
}

static sllm_status record_logprobs(generation *g, const sampler_result *sampled) {
    if (!g->sampling.logprobs && g->sampling.top_logprobs == 0) return SLLM_OK;
    size_t index = g->generated.len - 1;
    size_t n_top = (size_t)g->sampling.top_logprobs;
    float *logprobs = realloc(g->logprobs, (index + 1) * sizeof *logprobs);
    if (logprobs == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "generate: out of memory for logprobs");
    g->logprobs = logprobs;
    logprobs[index] = sampled->logprob;
    if (n_top == 0) return SLLM_OK;
    sllm_token_logprob *top = realloc(g->top_logprobs, (index + 1) * n_top * sizeof *top);
    if (top == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "generate: out of memory for top_logprobs");
    g->top_logprobs = top;
    for (size_t k = 0; k < n_top; k++) {
        int has = (int32_t)k < sampled->n_top;
        top[index * n_top + k] = (sllm_token_logprob){ has ? sampled->top[k].token : -1,
                                                      has ? sampled->top[k].logprob : -INFINITY };
    }
    return SLLM_OK;
}

static int is_end_of_generation(const generation *g, int32_t token) {
    if (g->params.ignore_eos || g->tok == NULL) return 0;
    /* The logits can be wider than the tokenizer's vocabulary (padded embedding rows);
     * such a token is no end-of-generation token (tok_stream_push then reports it). */
    return token < g->tok->n_vocab && g->tok->is_eog[token] != 0;
}

/* One sampled token: stop, or keep it, stream it and feed it back in. */
static sllm_status step(generation *g, bool *done) {
    sampler_result sampled;
    sllm_status status = sampler_sample(g->sampler, g->logits, g->generated.data, g->generated.len, &sampled);
    if (status != SLLM_OK) return status;
    if (g->generated.len == 0) g->t_first = now_ms();
    *done = true;
    if (is_end_of_generation(g, sampled.token)) {
        g->finish = SLLM_FINISH_STOP;
        return SLLM_OK;
    }
    if ((status = tok_ids_push(&g->generated, sampled.token)) != SLLM_OK) return status;
    if ((status = tok_ids_push(&g->sequence, sampled.token)) != SLLM_OK) return status;
    if ((status = record_logprobs(g, &sampled)) != SLLM_OK) return status;
    bool stop_matched;
    if ((status = stream_token(g, sampled.token, &stop_matched)) != SLLM_OK) return status;
    if (stop_matched) {
        g->stop_matched = true;
        g->finish = SLLM_FINISH_STOP;
        return SLLM_OK;
    }
    if (g->cancelled || cancel_requested(g)) { g->finish = SLLM_FINISH_CANCELLED; return SLLM_OK; }
    if (g->generated.len == g->max_new) { g->finish = SLLM_FINISH_LENGTH; return SLLM_OK; }
    *done = false;
    status = compute(g, 1);
    if (status == SLLM_OK) status = register_blocks(g);
    return status;
}

static sllm_status run(generation *g) {
    sllm_status status = build_prompt(g);
    if (status == SLLM_OK) status = admit(g);
    if (status == SLLM_OK) status = compute(g, g->n_prompt - g->n_kv);
    if (status == SLLM_OK) status = register_blocks(g);
    g->t_prefill_done = now_ms();
    if (status != SLLM_OK) return status;
    if (g->max_new == 0) {
        g->finish = SLLM_FINISH_LENGTH;
        return SLLM_OK;
    }
    bool done = false;
    while (status == SLLM_OK && !done) status = step(g, &done);
    if (status == SLLM_OK) status = flush_text(g);
    return status;
}

/* ---- result ------------------------------------------------------------------------ */

static sllm_status fill_result(generation *g, sllm_result *result) {
    double t_end = now_ms();
    result->text = malloc(g->text.len + 1);
    if (result->text == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "generate: out of memory for the result");
    if (g->text.len) memcpy(result->text, g->text.data, g->text.len);
    result->text[g->text.len] = '\0';
    result->text_len = g->text.len;
    result->tokens = g->generated.data;
    result->n_tokens = g->generated.len;
    g->generated.data = NULL;
    g->generated.len = g->generated.cap = 0;
    result->finish_reason = g->finish;
    result->prompt_tokens = g->n_prompt;
    result->cached_tokens = g->n_hit_blocks * g->cache->blocks.block_size;
    result->generated_tokens = result->n_tokens;
    result->prefill_ms = g->t_prefill_done - g->t_start;
    result->ttft_ms = (g->t_first > 0 ? g->t_first : g->t_prefill_done) - g->t_start;
    result->decode_ms = t_end - g->t_prefill_done;
    result->total_ms = t_end - g->t_start;
    result->logprobs = g->logprobs;
    result->top_logprobs = g->top_logprobs;
    result->n_top_logprobs = g->top_logprobs ? g->sampling.top_logprobs : 0;
    g->logprobs = NULL;
    g->top_logprobs = NULL;
    return SLLM_OK;
}

static void generation_free(generation *g) {
    release_blocks(g);
    sampler_free(g->sampler);
    free(g->bias);
    free(g->table);
    free(g->hashes);
    free(g->logits);
    stop_matcher_destroy(&g->stops);
    tok_ids_free(&g->sequence);
    tok_ids_free(&g->generated);
    tok_bytes_free(&g->piece);
    tok_bytes_free(&g->clean);
    tok_bytes_free(&g->text);
    free(g->logprobs);
    free(g->top_logprobs);
}

sllm_status engine_generate(sllm_cache *cache, sllm_request *req, const sllm_generate_params *params,
                            sllm_stream_fn stream, void *user, sllm_result *result,
                            const generate_hooks *hooks) {
    if (cache == NULL || req == NULL || result == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_generate: cache, request and result must not be NULL");
    if (result->struct_size < sizeof *result)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_result.struct_size is %zu; call sllm_result_init() first",
                         result->struct_size);
    sllm_result_free(result);
    generation g = { .cache = cache, .model = cache->model, .tok = cache->model->tokenizer, .req = req,
                     .hooks = hooks, .stream = stream, .stream_user = user, .t_start = now_ms() };
    atomic_store(&req->cancel_requested, 0);
    if (g.tok) tok_stream_init(&g.detok, g.tok, false);
    const char *stop_ptrs[REQUEST_MAX_STOP];
    sllm_status status = prepare(&g, params, stop_ptrs);
    if (status == SLLM_OK) status = run(&g);
    release_blocks(&g);
    if (status == SLLM_OK) status = fill_result(&g, result);
    if (status == SLLM_OK && g.finish == SLLM_FINISH_CANCELLED)
        status = core_fail(SLLM_ERR_CANCELLED, "generation cancelled after %zu tokens", result->n_tokens);
    generation_free(&g);
    return status;
}

SLLM_API sllm_status sllm_generate(sllm_cache *cache, sllm_request *req,
                                   const sllm_generate_params *params, sllm_stream_fn stream,
                                   void *user, sllm_result *result) {
    return engine_generate(cache, req, params, stream, user, result, NULL);
}
