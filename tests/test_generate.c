/* Tests for sllm_generate() and the paged prefix cache: the cache never changes output
 * (tokens and logits bit-identical), salts isolate, hashes match sllm_hasher, collisions
 * are caught, eviction order, budgets, bad requests, stopping, streaming, logprobs and
 * cancellation. Models come from tests/tools/make_model (ChatML template, byte-level BPE). */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/generate.h"
#include "cache/hash_chain.h"
#include "cache/prefix_index.h"
#include "format/quantize.h"
#include "generate_fixture.h"
#include "statelessllm.h"
#include "testutil.h"

enum { MAX_TURNS = FIXTURE_MAX_TURNS, REPLY_TOKENS = 6 };

typedef fixture_recording recording;

/* ---- conversations ---------------------------------------------------------------------- */

typedef struct conversation_options {
    int n_turns;
    int clear_before_each_turn;
    size_t distractor_blocks;   /* > 0: before each turn, another request takes this many blocks */
    const sllm_generate_params *params;
    unsigned topic;             /* varies the user messages between conversations */
} conversation_options;

static int cancel_at_first_token(void *user, const char *text, size_t text_len, const int32_t *tokens,
                                 size_t n_tokens) {
    return 1;
}

/* Another tenant competing for the pool: a one-token prompt whose max_tokens reserves
 * `n_blocks` blocks at admission (evicting the conversation's cached blocks, least
 * recently used first), cancelled at its first token so that it costs no compute. */
static void run_distractor(sllm_cache *cache, size_t n_blocks, int turn) {
    int32_t token = 100 + turn;
    sllm_request *req = NULL;
    ck_assert_int_eq(sllm_request_create(&req), SLLM_OK);
    ck_assert_int_eq(sllm_request_set_prompt_tokens(req, &token, 1), SLLM_OK);
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.max_tokens = (int32_t)(n_blocks * FIXTURE_BLOCK_SIZE);
    sllm_result result;
    sllm_result_init(&result);
    ck_assert_msg(sllm_generate(cache, req, &params, cancel_at_first_token, NULL, &result) == SLLM_ERR_CANCELLED,
                  "distractor: %s", sllm_last_error());
    ck_assert_uint_eq(result.n_tokens, 1);
    sllm_result_free(&result);
    sllm_request_free(req);
}

/* Plays a conversation as a host does: every turn re-sends the whole history, the
 * assistant's replies with the token ids their results returned. */
static void run_conversation(sllm_cache *cache, const conversation_options *options, recording *rec) {
    fixture_conversation *conversation = fixture_conversation_create(options->topic, rec);
    for (int turn = 0; turn < options->n_turns; turn++) {
        if (options->clear_before_each_turn) ck_assert_int_eq(sllm_cache_clear(cache), SLLM_OK);
        if (options->distractor_blocks > 0) run_distractor(cache, options->distractor_blocks, turn);
        fixture_play_turn(cache, conversation, options->params);
    }
    free(conversation);
}

typedef struct cache_options {
    uint64_t budget_bytes;      /* 0: the default */
    int prefix_caching;
    int n_threads;
    sllm_kv_dtype kv_dtype;
} cache_options;

static sllm_cache *open_cache_with(sllm_model *model, const cache_options *options) {
    sllm_cache_params params;
    sllm_cache_params_init(&params);
    params.n_threads = options->n_threads;
    params.prefix_caching = options->prefix_caching;
    params.kv_dtype = options->kv_dtype;
    if (options->budget_bytes) params.budget_bytes = options->budget_bytes;
    sllm_cache *cache = NULL;
    ck_assert_msg(sllm_cache_create(model, &params, &cache) == SLLM_OK, "cache: %s", sllm_last_error());
    return cache;
}

/* One compute thread: the machine running the suite is small and shared. */
static sllm_cache *open_cache(sllm_model *model, uint64_t budget_bytes, int prefix_caching) {
    cache_options options = { budget_bytes, prefix_caching, 1, SLLM_KV_F16 };
    return open_cache_with(model, &options);
}

static sllm_cache_stats cache_stats(const sllm_cache *cache) {
    sllm_cache_stats stats = { .struct_size = sizeof stats };
    ck_assert_int_eq(sllm_cache_get_stats(cache, &stats), SLLM_OK);
    return stats;
}

static void assert_no_block_in_use(const sllm_cache *cache) {
    sllm_cache_stats stats = cache_stats(cache);
    ck_assert_uint_eq(stats.blocks_used, 0);
    ck_assert_uint_eq(stats.blocks_cached + stats.blocks_free, stats.blocks_total);
}

static size_t blocks_for(uint64_t n_tokens) { return (size_t)((n_tokens + FIXTURE_BLOCK_SIZE - 1) / FIXTURE_BLOCK_SIZE); }

/* Tokens of turn t's prompt that an earlier turn left in the cache: every full block of
 * what that turn computed (its prompt and all its reply tokens but the last one, which
 * a length limit leaves uncomputed), never the prompt's last token. */
static uint64_t expected_cached(const recording *rec, int turn) {
    if (turn == 0) return 0;
    uint64_t computed = rec->prompt[turn - 1] + rec->turn_tokens[turn - 1];
    if (rec->finish[turn - 1] == SLLM_FINISH_LENGTH) computed -= 1;
    uint64_t usable = computed < rec->prompt[turn] - 1 ? computed : rec->prompt[turn] - 1;
    return usable / FIXTURE_BLOCK_SIZE * FIXTURE_BLOCK_SIZE;
}

/* `reference` sets up the reference run's cache; the cleared-cache run uses
 * `cleared_threads` compute threads (a different count must not change a bit either). */
static void check_invisible(const char *weight_type, int n_turns, cache_options reference, int cleared_threads,
                            const sllm_generate_params *params) {
    cache_options setup = reference;
    sllm_model *model = fixture_load_model(weight_type);
    conversation_options options = { n_turns, 0, 0, params, 1 };
    recording cached, uncached, cleared, small;
    fixture_recording_init(&cached, model);
    fixture_recording_init(&uncached, model);
    fixture_recording_init(&cleared, model);
    fixture_recording_init(&small, model);

    sllm_cache *cache = open_cache_with(model, &setup);
    run_conversation(cache, &options, &cached);
    uint64_t bytes_per_block = cache_stats(cache).bytes_per_block;
    assert_no_block_in_use(cache);
    sllm_cache_free(cache);
    for (int turn = 0; turn < n_turns; turn++) {
        ck_assert_msg(cached.cached[turn] == expected_cached(&cached, turn),
                      "%s turn %d: %llu cached tokens, expected %llu", weight_type, turn,
                      (unsigned long long)cached.cached[turn], (unsigned long long)expected_cached(&cached, turn));
        if (turn > 0) ck_assert_uint_gt(cached.cached[turn], cached.cached[turn - 1]);
    }

    setup.prefix_caching = 0;
    cache = open_cache_with(model, &setup);
    run_conversation(cache, &options, &uncached);
    sllm_cache_free(cache);
    fixture_assert_recordings_equal(&cached, &uncached, "prefix_caching = 0");
    for (int turn = 0; turn < n_turns; turn++) ck_assert_uint_eq(uncached.cached[turn], 0);

    setup.prefix_caching = 1;
    setup.n_threads = cleared_threads;
    cache = open_cache_with(model, &setup);
    options.clear_before_each_turn = 1;
    run_conversation(cache, &options, &cleared);
    sllm_cache_free(cache);
    fixture_assert_recordings_equal(&cached, &cleared, "cleared before every turn");
    for (int turn = 0; turn < n_turns; turn++) ck_assert_uint_eq(cleared.cached[turn], 0);

    /* A few blocks more than the largest turn needs, and another tenant between turns: the
     * conversation loses part of its cached prefix (tail first) and recomputes it. */
    size_t largest = 0;
    for (int turn = 0; turn < n_turns; turn++) {
        size_t need = blocks_for(cached.prompt[turn] + REPLY_TOKENS - 1);
        if (need > largest) largest = need;
    }
    setup.n_threads = 1;
    setup.budget_bytes = (largest + 3) * bytes_per_block;
    cache = open_cache_with(model, &setup);
    ck_assert_uint_eq(cache_stats(cache).blocks_total, largest + 3);
    options.clear_before_each_turn = 0;
    options.distractor_blocks = largest;
    run_conversation(cache, &options, &small);
    sllm_cache_stats stats = cache_stats(cache);
    ck_assert_uint_gt(stats.evictions, 0);
    assert_no_block_in_use(cache);
    sllm_cache_free(cache);
    fixture_assert_recordings_equal(&cached, &small, "small pool");
    int n_turns_recomputed = 0;
    for (int turn = 0; turn < n_turns; turn++) n_turns_recomputed += small.cached[turn] < cached.cached[turn];
    ck_assert_int_gt(n_turns_recomputed, 0);

    fixture_recording_free(&cached);
    fixture_recording_free(&uncached);
    fixture_recording_free(&cleared);
    fixture_recording_free(&small);
    sllm_model_free(model);
}

static const char *const invisible_types[] = { "F32", "Q8_0", "Q4_K" };

START_TEST(test_cache_is_invisible_greedy) {
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.temperature = 0.0f;
    params.max_tokens = REPLY_TOKENS;
    /* K/V in F16 (the default) for F32 weights, in F32 for the quantized ones. */
    cache_options reference = { 0, 1, 1, _i == 0 ? SLLM_KV_F16 : SLLM_KV_F32 };
    check_invisible(invisible_types[_i], MAX_TURNS, reference, _i == 0 ? 2 : 1, &params);
}
END_TEST

START_TEST(test_cache_is_invisible_sampled) {
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.temperature = 0.8f;
    params.top_p = 0.9f;
    params.seed = 1234;
    params.max_tokens = REPLY_TOKENS;
    cache_options reference = { 0, 1, 1, SLLM_KV_F16 };
    check_invisible(invisible_types[_i], 6, reference, 1, &params);
}
END_TEST

/* ---- helpers for single requests --------------------------------------------------------- */

static sllm_request *tokens_request(const int32_t *tokens, size_t n_tokens) {
    sllm_request *req = NULL;
    ck_assert_int_eq(sllm_request_create(&req), SLLM_OK);
    ck_assert_int_eq(sllm_request_set_prompt_tokens(req, tokens, n_tokens), SLLM_OK);
    return req;
}

static sllm_request *user_request(const char *text) {
    sllm_request *req = NULL;
    ck_assert_int_eq(sllm_request_create(&req), SLLM_OK);
    ck_assert_int_eq(sllm_request_add_message(req, "user", text, strlen(text)), SLLM_OK);
    return req;
}

static void greedy_params(sllm_generate_params *params, int32_t max_tokens) {
    sllm_generate_params_init(params);
    params->temperature = 0.0f;
    params->max_tokens = max_tokens;
}

/* Generates and returns the result; the recording (may be NULL) gets every logits vector. */
static sllm_status generate_recorded(sllm_cache *cache, sllm_request *req, const sllm_generate_params *params,
                                     recording *rec, sllm_result *result) {
    generate_hooks hooks = { fixture_record_logits, rec };
    sllm_result_init(result);
    return engine_generate(cache, req, params, NULL, NULL, result, rec ? &hooks : NULL);
}

/* Distinct pseudo-random prompt tokens in [0, 500) (below the control tokens). */
static void fill_tokens(int32_t *tokens, size_t n_tokens, uint32_t seed) {
    uint32_t state = seed * 2654435761u + 1;
    for (size_t i = 0; i < n_tokens; i++) {
        state = state * 1664525u + 1013904223u;
        tokens[i] = (int32_t)((state >> 8) % 500);
    }
}

static uint64_t generate_tokens_cached(sllm_cache *cache, const int32_t *tokens, size_t n_tokens,
                                       const sllm_generate_params *params, int32_t *out, size_t *n_out) {
    sllm_request *req = tokens_request(tokens, n_tokens);
    sllm_result result;
    ck_assert_msg(generate_recorded(cache, req, params, NULL, &result) == SLLM_OK, "generate: %s", sllm_last_error());
    if (out) {
        memcpy(out, result.tokens, result.n_tokens * sizeof *out);
        *n_out = result.n_tokens;
    }
    uint64_t cached = result.cached_tokens;
    sllm_result_free(&result);
    sllm_request_free(req);
    return cached;
}

/* ---- salts and hashes ------------------------------------------------------------------------ */

START_TEST(test_salts_isolate_cached_blocks) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    int32_t prompt[50], first[4], again[4];
    size_t n_first, n_again;
    fill_tokens(prompt, 50, 1);
    sllm_generate_params params;
    greedy_params(&params, 4);
    params.salt = (const uint8_t *)"tenant-a";
    params.salt_len = 8;
    ck_assert_uint_eq(generate_tokens_cached(cache, prompt, 50, &params, first, &n_first), 0);
    params.salt = (const uint8_t *)"tenant-b";
    ck_assert_uint_eq(generate_tokens_cached(cache, prompt, 50, &params, again, &n_again), 0);
    ck_assert_uint_eq(n_again, n_first);
    ck_assert_mem_eq(again, first, n_first * sizeof *first);
    params.salt = NULL;
    params.salt_len = 0;
    ck_assert_uint_eq(generate_tokens_cached(cache, prompt, 50, &params, NULL, NULL), 0);
    /* 50 prompt + 3 computed reply tokens = 3 full blocks per salt, none shared. */
    ck_assert_uint_eq(cache_stats(cache).blocks_cached, 9);
    params.salt = (const uint8_t *)"tenant-a";
    params.salt_len = 8;
    ck_assert_uint_eq(generate_tokens_cached(cache, prompt, 50, &params, again, &n_again), 48);
    ck_assert_mem_eq(again, first, n_first * sizeof *first);
    /* A salt that is a prefix of another is still another salt. */
    params.salt_len = 7;
    ck_assert_uint_eq(generate_tokens_cached(cache, prompt, 50, &params, NULL, NULL), 0);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

static int cache_holds(sllm_cache *cache, const uint8_t *hash, const int32_t *tokens) {
    block_hash h;
    memcpy(h.bytes, hash, HASH_BYTES);
    int32_t id = prefix_index_find(&cache->blocks.index, &h);
    if (id < 0) return 0;
    ck_assert_mem_eq(cache->blocks.tokens + (size_t)id * FIXTURE_BLOCK_SIZE, tokens,
                     FIXTURE_BLOCK_SIZE * sizeof *tokens);
    return 1;
}

START_TEST(test_hasher_gives_the_cache_hashes) {
    sllm_model *model = fixture_load_model("tiny");
    uint8_t key[SLLM_HASH_KEY_BYTES], other_key[SLLM_HASH_KEY_BYTES];
    for (int i = 0; i < SLLM_HASH_KEY_BYTES; i++) key[i] = (uint8_t)(3 * i + 1), other_key[i] = (uint8_t)(5 * i);
    sllm_cache_params cache_params;
    sllm_cache_params_init(&cache_params);
    cache_params.n_threads = 1;
    cache_params.key = key;
    sllm_cache *cache = NULL;
    ck_assert_int_eq(sllm_cache_create(model, &cache_params, &cache), SLLM_OK);

    int32_t sequence[50 + 30];
    size_t n_generated;
    fill_tokens(sequence, 50, 2);
    sllm_generate_params params;
    greedy_params(&params, 30);
    params.ignore_eos = 1;
    params.salt = (const uint8_t *)"s1";
    params.salt_len = 2;
    generate_tokens_cached(cache, sequence, 50, &params, sequence + 50, &n_generated);
    ck_assert_uint_eq(n_generated, 30);

    /* The prompt and the reply tokens whose K/V were computed (all but the last): 79 tokens,
     * 4 full blocks. */
    sllm_hasher_params hasher_params;
    sllm_hasher_params_init(&hasher_params);
    hasher_params.key = key;
    sllm_hasher *hasher = NULL, *other = NULL;
    ck_assert_int_eq(sllm_hasher_create(model, &hasher_params, &hasher), SLLM_OK);
    hasher_params.key = other_key;
    ck_assert_int_eq(sllm_hasher_create(model, &hasher_params, &other), SLLM_OK);
    uint8_t hashes[5 * SLLM_HASH_BYTES];
    size_t n_blocks;
    ck_assert_int_eq(sllm_hasher_chain(hasher, params.salt, 2, sequence, 79, hashes, 5, &n_blocks), SLLM_OK);
    ck_assert_uint_eq(n_blocks, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(cache_holds(cache, hashes + i * SLLM_HASH_BYTES, sequence + i * FIXTURE_BLOCK_SIZE),
                      "block %zu's hash is not in the cache", i);
    ck_assert_uint_eq(cache_stats(cache).blocks_cached, 4);
    ck_assert_int_eq(sllm_hasher_chain(hasher, NULL, 0, sequence, 79, hashes, 5, &n_blocks), SLLM_OK);
    for (size_t i = 0; i < 4; i++) ck_assert(!cache_holds(cache, hashes + i * SLLM_HASH_BYTES, NULL));
    ck_assert_int_eq(sllm_hasher_chain(other, params.salt, 2, sequence, 79, hashes, 5, &n_blocks), SLLM_OK);
    for (size_t i = 0; i < 4; i++) ck_assert(!cache_holds(cache, hashes + i * SLLM_HASH_BYTES, NULL));
    sllm_hasher_free(hasher);
    sllm_hasher_free(other);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

/* ---- forced hash collisions -------------------------------------------------------------------- */

/* The engine's weakened chain hash of one block after `parent` (see engine.h). */
static block_hash weak_hash(const sllm_cache *cache, const block_hash *parent, const int32_t *tokens) {
    block_hash h;
    hash_chain_next(cache->key, parent, tokens, FIXTURE_BLOCK_SIZE, &h);
    memset(h.bytes + 1, 0, HASH_BYTES - 1);
    return h;
}

static void collision_run(sllm_cache *cache, const int32_t *tokens, size_t n_tokens, recording *rec, uint64_t *cached) {
    sllm_generate_params params;
    greedy_params(&params, 3);
    params.ignore_eos = 1;
    sllm_request *req = tokens_request(tokens, n_tokens);
    sllm_result result;
    ck_assert_int_eq(generate_recorded(cache, req, &params, rec, &result), SLLM_OK);
    memcpy(rec->tokens + rec->n_tokens, result.tokens, result.n_tokens * sizeof *result.tokens);
    rec->n_tokens += result.n_tokens;
    if (cached) *cached = result.cached_tokens;
    sllm_result_free(&result);
    sllm_request_free(req);
}

/* Block 0 of prompts X|Y and Z|Y collide (weak hashes); X|Y is computed while Z's block is
 * indexed, so its block Y has the right hash chain but was computed after X, not Z. A
 * request for Z|Y must not be served that block. */
START_TEST(test_forced_collision_never_serves_another_prefix) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *weak = open_cache(model, 0, 1), *fresh = open_cache(model, 0, 1);
    weak->test_weak_hashes = 1;
    block_hash root;
    hash_chain_root(weak->key, model->model_id, weak->kv_layout_name, NULL, 0, &root);
    int32_t xy[33], zy[33];
    fill_tokens(xy, 33, 3);
    memcpy(zy, xy, sizeof xy);
    block_hash hx = weak_hash(weak, &root, xy), hz;
    /* Search Z among prefixes that differ from X (one byte of hash collides within a few
     * hundred tries; varying two tokens means the search never wraps back to X itself, which
     * the random cache key made happen in ~14% of runs with one token). */
    uint32_t attempt = 0;
    do {
        attempt++;
        zy[0] = (int32_t)(((uint32_t)xy[0] + attempt) % 500);
        zy[1] = (int32_t)(((uint32_t)xy[1] + attempt / 500) % 500);
        hz = weak_hash(weak, &root, zy);
    } while (hz.bytes[0] != hx.bytes[0]);
    ck_assert(memcmp(xy, zy, 16 * sizeof *xy) != 0);
    /* Z's block first, then X|Y (its block 0 cannot be indexed: the hash is taken). */
    recording scratch, served, expected;
    fixture_recording_init(&scratch, model);
    fixture_recording_init(&served, model);
    fixture_recording_init(&expected, model);
    collision_run(weak, zy, 17, &scratch, NULL);
    collision_run(weak, xy, 33, &scratch, NULL);
    uint64_t cached;
    collision_run(weak, zy, 33, &served, &cached);
    collision_run(fresh, zy, 33, &expected, NULL);
    fixture_assert_recordings_equal(&served, &expected, "weak hashes");
    ck_assert_uint_eq(cached, 16);
    fixture_recording_free(&scratch);
    fixture_recording_free(&served);
    fixture_recording_free(&expected);
    sllm_cache_free(weak);
    sllm_cache_free(fresh);
    sllm_model_free(model);
}
END_TEST

/* Two conversations interleaved on one cache whose hashes collide all the time give exactly
 * what they give with real hashes. */
START_TEST(test_weak_hashes_change_no_output) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_generate_params params;
    greedy_params(&params, REPLY_TOKENS);
    recording normal[2], weakened[2];
    for (int weak = 0; weak < 2; weak++) {
        sllm_cache *cache = open_cache(model, 0, 1);
        cache->test_weak_hashes = weak;
        recording *rec = weak ? weakened : normal;
        fixture_recording_init(&rec[0], model);
        fixture_recording_init(&rec[1], model);
        /* Turn by turn each conversation replays from the start, so interleaving means
         * playing n turns of one, then n turns of the other, for growing n. */
        for (int n_turns = 1; n_turns <= 4; n_turns++)
            for (int c = 0; c < 2; c++) {
                fixture_recording_free(&rec[c]);
                fixture_recording_init(&rec[c], model);
                conversation_options options = { n_turns, 0, 0, &params, 20 + (unsigned)c };
                run_conversation(cache, &options, &rec[c]);
            }
        assert_no_block_in_use(cache);
        sllm_cache_free(cache);
    }
    for (int c = 0; c < 2; c++) {
        fixture_assert_recordings_equal(&normal[c], &weakened[c], "weak hashes");
        fixture_recording_free(&normal[c]);
        fixture_recording_free(&weakened[c]);
    }
    sllm_model_free(model);
}
END_TEST

/* ---- eviction and budgets ------------------------------------------------------------------------ */

START_TEST(test_eviction_is_lru_and_tail_first) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *probe = open_cache(model, 0, 1);
    uint64_t bytes_per_block = cache_stats(probe).bytes_per_block;
    sllm_cache_free(probe);
    sllm_cache *cache = open_cache(model, 6 * bytes_per_block, 1);
    int32_t a[49], b[49];
    fill_tokens(a, 49, 4);
    fill_tokens(b, 49, 5);
    sllm_generate_params params;
    greedy_params(&params, 1);
    /* A: 4 blocks, 3 full ones cached. B: 4 blocks, 3 free + 1 evicted: A's tail (block 2). */
    ck_assert_uint_eq(generate_tokens_cached(cache, a, 49, &params, NULL, NULL), 0);
    ck_assert_uint_eq(generate_tokens_cached(cache, b, 49, &params, NULL, NULL), 0);
    ck_assert_uint_eq(cache_stats(cache).evictions, 1);
    /* A again finds its first two blocks; its two new blocks take the free one and evict the
     * least recently used: B's tail, not A's more recent... nor B's head. */
    ck_assert_uint_eq(generate_tokens_cached(cache, a, 49, &params, NULL, NULL), 32);
    ck_assert_uint_eq(cache_stats(cache).evictions, 2);
    ck_assert_uint_eq(generate_tokens_cached(cache, b, 49, &params, NULL, NULL), 32);
    ck_assert_uint_eq(cache_stats(cache).evictions, 3);
    /* B took A's... the LRU then held A's blocks 0, 1 and 2 after B's: A keeps two of them. */
    ck_assert_uint_eq(generate_tokens_cached(cache, a, 49, &params, NULL, NULL), 32);
    assert_no_block_in_use(cache);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_budget_below_one_request_is_kv_budget) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *probe = open_cache(model, 0, 1);
    uint64_t bytes_per_block = cache_stats(probe).bytes_per_block;
    sllm_cache_free(probe);

    sllm_cache_params cache_params;
    sllm_cache_params_init(&cache_params);
    cache_params.budget_bytes = bytes_per_block - 1;
    sllm_cache *cache = NULL;
    ck_assert_int_eq(sllm_cache_create(model, &cache_params, &cache), SLLM_ERR_KV_BUDGET);
    ck_assert_ptr_null(cache);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "holds no block"));

    cache = open_cache(model, 2 * bytes_per_block, 1);
    int32_t prompt[49];
    fill_tokens(prompt, 49, 6);
    sllm_generate_params params;
    greedy_params(&params, 1);
    sllm_request *req = tokens_request(prompt, 49);
    sllm_result result;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_ERR_KV_BUDGET);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "needs 4 K/V blocks"));
    ck_assert_ptr_null(result.text);
    ck_assert_uint_eq(result.n_tokens, 0);
    sllm_request_free(req);
    /* max_tokens counts too: 17 prompt tokens + 17 new (the last one never computed) need
     * 33 positions, 3 blocks; 16 new fit in 2. */
    req = tokens_request(prompt, 17);
    params.max_tokens = 17;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_ERR_KV_BUDGET);
    params.max_tokens = 16;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_OK);
    sllm_result_free(&result);
    sllm_request_free(req);
    assert_no_block_in_use(cache);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_stats_count_tokens_blocks_and_render_as_prometheus) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    int32_t prompt[40];
    fill_tokens(prompt, 40, 9);
    sllm_generate_params params;
    greedy_params(&params, 2);
    generate_tokens_cached(cache, prompt, 40, &params, NULL, NULL);
    ck_assert_uint_eq(generate_tokens_cached(cache, prompt, 40, &params, NULL, NULL), 32);
    sllm_cache_stats stats = cache_stats(cache);
    ck_assert_uint_eq(stats.requests, 2);
    ck_assert_uint_eq(stats.query_tokens, 80);
    ck_assert_uint_eq(stats.hit_tokens, 32);
    ck_assert_uint_eq(stats.blocks_used, 0);
    ck_assert_uint_eq(stats.blocks_cached, 2); /* 40 + 1 computed reply token: 2 full blocks */
    ck_assert_uint_eq(stats.blocks_free, stats.blocks_total - 2);
    ck_assert_uint_eq(stats.bytes_total, stats.blocks_total * stats.bytes_per_block);
    /* K and V, 2 layers, 2 KV heads of 16 dims, 16 tokens, F16. */
    ck_assert_uint_eq(stats.bytes_per_block, 2 * 2 * 2 * 16 * 16 * 2);

    char text[4096];
    size_t len;
    ck_assert_int_eq(sllm_cache_stats_prometheus(cache, NULL, 0, &len), SLLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sllm_cache_stats_prometheus(cache, text, len, &len), SLLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sllm_cache_stats_prometheus(cache, text, len + 1, &len), SLLM_OK);
    ck_assert_uint_eq(strlen(text), len);
    char line[128];
    snprintf(line, sizeof line, "\nsllm_cache_hit_tokens_total 32\n");
    ck_assert_ptr_nonnull(strstr(text, line));
    snprintf(line, sizeof line, "\nsllm_cache_blocks{state=\"cached\"} 2\n");
    ck_assert_ptr_nonnull(strstr(text, line));
    snprintf(line, sizeof line, "\nsllm_cache_blocks_total %llu\n", (unsigned long long)stats.blocks_total);
    ck_assert_ptr_nonnull(strstr(text, line));

    /* A host built against an older, shorter struct gets only the fields it knows. */
    sllm_cache_stats old;
    memset(&old, 0xAB, sizeof old);
    old.struct_size = offsetof(sllm_cache_stats, blocks_total);
    ck_assert_int_eq(sllm_cache_get_stats(cache, &old), SLLM_OK);
    ck_assert_uint_eq(old.query_tokens, 80);
    ck_assert_uint_eq(old.hit_tokens, 32);
    ck_assert_uint_eq(old.blocks_total, 0xABABABABABABABABull);
    ck_assert_uint_eq(old.requests, 0xABABABABABABABABull);
    old.struct_size = sizeof(size_t);
    ck_assert_int_eq(sllm_cache_get_stats(cache, &old), SLLM_ERR_INVALID_ARGUMENT);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

/* ---- bad requests -------------------------------------------------------------------------------- */

/* A request every bad-request check is followed by; its output must equal a fresh cache's. */
static void valid_request_output(sllm_cache *cache, recording *rec) {
    sllm_request *req = user_request("a valid question after a bad one");
    sllm_generate_params params;
    greedy_params(&params, 5);
    sllm_result result;
    ck_assert_msg(generate_recorded(cache, req, &params, rec, &result) == SLLM_OK, "%s", sllm_last_error());
    memcpy(rec->tokens + rec->n_tokens, result.tokens, result.n_tokens * sizeof *result.tokens);
    rec->n_tokens += result.n_tokens;
    sllm_result_free(&result);
    sllm_request_free(req);
}

static void expect_generate_error(sllm_cache *cache, sllm_request *req, const sllm_generate_params *params,
                                  sllm_status expected, const char *what) {
    sllm_result result;
    sllm_result_init(&result);
    sllm_status status = sllm_generate(cache, req, params, NULL, NULL, &result);
    ck_assert_msg(status == expected, "%s: status %d (%s), expected %d", what, (int)status, sllm_last_error(),
                  (int)expected);
    ck_assert_msg(strlen(sllm_last_error()) > 0, "%s: no message", what);
    ck_assert_ptr_null(result.text);
    ck_assert_ptr_null(result.tokens);
    sllm_result_free(&result);
    assert_no_block_in_use(cache);
}

static void expect_json_error(const char *json, sllm_status expected, const char *needle) {
    sllm_request *req = NULL;
    sllm_status status = sllm_request_from_json(json, strlen(json), &req);
    ck_assert_msg(status == expected, "%s: status %d (%s), expected %d", json, (int)status, sllm_last_error(),
                  (int)expected);
    ck_assert_ptr_null(req);
    ck_assert_msg(strstr(sllm_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", json, sllm_last_error(),
                  needle);
}

START_TEST(test_bad_requests_get_specific_errors_and_leave_the_cache_consistent) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1), *fresh = open_cache(model, 0, 1);
    recording before, after, expected;
    fixture_recording_init(&before, model);
    fixture_recording_init(&after, model);
    fixture_recording_init(&expected, model);
    valid_request_output(cache, &before);

    expect_json_error("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}", SLLM_ERR_INVALID_JSON, "line 1");
    expect_json_error("{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}", SLLM_ERR_INVALID_ROLE, "wizard");
    expect_json_error("{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}]}", SLLM_ERR_INVALID_UTF8, "UTF-8");
    expect_json_error("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_p\": 2}",
                      SLLM_ERR_INVALID_SAMPLING, "top_p");
    expect_json_error("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": -3}",
                      SLLM_ERR_INVALID_REQUEST, "max_tokens");
    expect_json_error("{\"messages\": []}", SLLM_ERR_INVALID_REQUEST, "messages");

    sllm_request *req = NULL;
    ck_assert_int_eq(sllm_request_create(&req), SLLM_OK);
    ck_assert_int_eq(sllm_request_add_message(req, "wizard", "hi", 2), SLLM_ERR_INVALID_ROLE);
    ck_assert_int_eq(sllm_request_add_message(req, "user", "a\xc3(", 3), SLLM_ERR_INVALID_UTF8);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "byte 1"));
    sllm_generate_params params;
    greedy_params(&params, 5);
    expect_generate_error(cache, req, &params, SLLM_ERR_INVALID_REQUEST, "no messages");
    sllm_request_free(req);

    req = user_request("hello");
    params.top_p = 2.0f;
    params.temperature = 0.7f;
    expect_generate_error(cache, req, &params, SLLM_ERR_INVALID_SAMPLING, "top_p = 2");
    greedy_params(&params, -2);
    expect_generate_error(cache, req, &params, SLLM_ERR_INVALID_REQUEST, "max_tokens = -2");
    greedy_params(&params, 5);
    int32_t bias_token = FIXTURE_N_VOCAB;
    float bias_value = 1.0f;
    params.logit_bias_tokens = &bias_token;
    params.logit_bias_values = &bias_value;
    params.n_logit_bias = 1;
    expect_generate_error(cache, req, &params, SLLM_ERR_INVALID_SAMPLING, "logit_bias token out of range");
    sllm_request_free(req);
    greedy_params(&params, 5);

    /* A prompt of n_ctx tokens leaves no room for a reply; so does a long message. */
    static int32_t long_prompt[FIXTURE_TINY_N_CTX];
    fill_tokens(long_prompt, FIXTURE_TINY_N_CTX, 7);
    req = tokens_request(long_prompt, FIXTURE_TINY_N_CTX);
    expect_generate_error(cache, req, &params, SLLM_ERR_CONTEXT_OVERFLOW, "prompt of n_ctx tokens");
    sllm_request_free(req);
    static char long_text[4 * FIXTURE_TINY_N_CTX + 1];
    for (size_t i = 0; i < 4 * FIXTURE_TINY_N_CTX; i++) long_text[i] = "ab cd"[i % 5];
    req = user_request(long_text);
    expect_generate_error(cache, req, &params, SLLM_ERR_CONTEXT_OVERFLOW, "long message");
    sllm_request_free(req);

    int32_t bad_tokens[3] = { 5, FIXTURE_N_VOCAB, 7 };
    req = tokens_request(bad_tokens, 3);
    expect_generate_error(cache, req, &params, SLLM_ERR_INVALID_TOKEN, "prompt token = n_vocab");
    sllm_request_free(req);
    bad_tokens[1] = -1;
    ck_assert_int_eq(sllm_request_create(&req), SLLM_OK);
    ck_assert_int_eq(sllm_request_add_message(req, "user", "hi", 2), SLLM_OK);
    ck_assert_int_eq(sllm_request_add_message_tokens(req, "assistant", "x", 1, bad_tokens, 3), SLLM_OK);
    ck_assert_int_eq(sllm_request_add_message(req, "user", "again", 5), SLLM_OK);
    expect_generate_error(cache, req, &params, SLLM_ERR_INVALID_TOKEN, "message token = -1");
    sllm_request_free(req);
    req = tokens_request(bad_tokens, 0);
    expect_generate_error(cache, req, &params, SLLM_ERR_INVALID_REQUEST, "no prompt tokens");
    sllm_request_free(req);

    valid_request_output(cache, &after);
    valid_request_output(fresh, &expected);
    fixture_assert_recordings_equal(&before, &expected, "before the bad requests");
    fixture_assert_recordings_equal(&after, &expected, "after the bad requests");
    assert_no_block_in_use(cache);
    fixture_recording_free(&before);
    fixture_recording_free(&after);
    fixture_recording_free(&expected);
    sllm_cache_free(cache);
    sllm_cache_free(fresh);
    sllm_model_free(model);
}
END_TEST

/* A JSON request carries its own sampling, limits, stop strings and salt. */
START_TEST(test_json_request_equals_the_same_request_built_by_calls) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    sllm_generate_params params;
    greedy_params(&params, 7);
    params.ignore_eos = 1;
    params.salt = (const uint8_t *)"t1";
    params.salt_len = 2;
    sllm_request *req = NULL;
    ck_assert_int_eq(sllm_request_create(&req), SLLM_OK);
    ck_assert_int_eq(sllm_request_add_message(req, "system", "Be brief.", 9), SLLM_OK);
    ck_assert_int_eq(sllm_request_add_message(req, "user", "What is the cache for, and why?", 31), SLLM_OK);
    sllm_result expected;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &expected), SLLM_OK);
    sllm_request_free(req);

    static const char json[] =
        "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
        " {\"role\": \"user\", \"content\": \"What is the cache for, and why?\"}],"
        " \"max_tokens\": 7, \"temperature\": 0, \"cache_salt\": \"t1\", \"logprobs\": true, \"top_logprobs\": 2}";
    ck_assert_int_eq(sllm_request_from_json(json, strlen(json), &req), SLLM_OK);
    /* The call's sampling is replaced by the JSON's: this temperature does not apply. */
    sllm_generate_params ignored;
    sllm_generate_params_init(&ignored);
    ignored.temperature = 1.5f;
    ignored.ignore_eos = 1;
    sllm_result result;
    ck_assert_int_eq(generate_recorded(cache, req, &ignored, NULL, &result), SLLM_OK);
    ck_assert_uint_eq(result.n_tokens, expected.n_tokens);
    ck_assert_mem_eq(result.tokens, expected.tokens, expected.n_tokens * sizeof *expected.tokens);
    ck_assert_uint_eq(result.prompt_tokens, expected.prompt_tokens);
    ck_assert_uint_eq(result.cached_tokens, (expected.prompt_tokens - 1) / FIXTURE_BLOCK_SIZE * FIXTURE_BLOCK_SIZE);
    ck_assert_int_eq(result.n_top_logprobs, 2);
    ck_assert_ptr_nonnull(result.logprobs);
    sllm_result_free(&result);
    sllm_request_free(req);

    /* Another cache_salt shares nothing; the reply re-sent with its token_ids hits the cache. */
    char json2[1024];
    size_t n = (size_t)snprintf(json2, sizeof json2,
                                "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                                " {\"role\": \"user\", \"content\": \"What is the cache for, and why?\"},"
                                " {\"role\": \"assistant\", \"content\": \"x\", \"token_ids\": [");
    for (size_t i = 0; i < expected.n_tokens; i++)
        n += (size_t)snprintf(json2 + n, sizeof json2 - n, "%s%d", i ? ", " : "", (int)expected.tokens[i]);
    snprintf(json2 + n, sizeof json2 - n, "]}, {\"role\": \"user\", \"content\": \"More.\"}], \"max_tokens\": 3,"
                                          " \"temperature\": 0, \"cache_salt\": \"%s\"}", "t2");
    ck_assert_int_eq(sllm_request_from_json(json2, strlen(json2), &req), SLLM_OK);
    ck_assert_int_eq(generate_recorded(cache, req, NULL, NULL, &result), SLLM_OK);
    ck_assert_uint_eq(result.cached_tokens, 0);
    sllm_result_free(&result);
    sllm_request_free(req);
    memcpy(strstr(json2, "\"t2\""), "\"t1\"", 4);
    ck_assert_int_eq(sllm_request_from_json(json2, strlen(json2), &req), SLLM_OK);
    ck_assert_int_eq(generate_recorded(cache, req, NULL, NULL, &result), SLLM_OK);
    /* The first call computed its prompt and 6 of its 7 reply tokens. */
    ck_assert_uint_eq(result.cached_tokens, (expected.prompt_tokens + 6) / FIXTURE_BLOCK_SIZE * FIXTURE_BLOCK_SIZE);
    sllm_result_free(&result);
    sllm_request_free(req);
    sllm_result_free(&expected);
    assert_no_block_in_use(cache);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

/* ---- stopping and streaming -------------------------------------------------------------------- */

/* Independent UTF-8 check (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static int utf8_valid(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || i + n > len) return 0;
        uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1Fu : n == 3 ? c & 0x0Fu : c & 0x07u;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += n;
    }
    return 1;
}

typedef struct stream_capture {
    char text[4096];
    size_t text_len;
    int32_t tokens[1024];
    size_t n_tokens;
    size_t n_chunks;
    int all_valid;
    const char *forbidden;      /* must never appear inside a chunk */
    int cancel_after;           /* > 0: return non-zero once this many tokens arrived */
} stream_capture;

static int capture_stream(void *user, const char *text, size_t text_len, const int32_t *tokens, size_t n_tokens) {
    stream_capture *cap = user;
    ck_assert_uint_lt(cap->text_len + text_len, sizeof cap->text);
    ck_assert_uint_le(cap->n_tokens + n_tokens, 1024);
    if (!utf8_valid((const uint8_t *)text, text_len)) cap->all_valid = 0;
    if (cap->forbidden && text_len > 0) {
        char chunk[4096];
        memcpy(chunk, text, text_len);
        chunk[text_len] = '\0';
        ck_assert_msg(strstr(chunk, cap->forbidden) == NULL, "chunk '%s' holds the stop string", chunk);
    }
    memcpy(cap->text + cap->text_len, text, text_len);
    cap->text_len += text_len;
    memcpy(cap->tokens + cap->n_tokens, tokens, n_tokens * sizeof *tokens);
    cap->n_tokens += n_tokens;
    cap->n_chunks++;
    return cap->cancel_after > 0 && cap->n_tokens >= (size_t)cap->cancel_after;
}

static void assert_stream_matches(const stream_capture *cap, const sllm_result *result) {
    ck_assert(cap->all_valid);
    ck_assert_uint_eq(cap->text_len, result->text_len);
    ck_assert_mem_eq(cap->text, result->text, result->text_len);
    ck_assert_uint_eq(result->text[result->text_len], '\0');
    ck_assert_uint_eq(cap->n_tokens, result->n_tokens);
    ck_assert_mem_eq(cap->tokens, result->tokens, result->n_tokens * sizeof *result->tokens);
}

static sllm_status generate_streamed(sllm_cache *cache, sllm_request *req, const sllm_generate_params *params,
                                     stream_capture *cap, sllm_result *result) {
    cap->all_valid = 1;
    sllm_result_init(result);
    return sllm_generate(cache, req, params, capture_stream, cap, result);
}

/* Bans every non-ASCII byte token and the control tokens, so the reply is long ASCII. */
static void ascii_only(sllm_generate_params *params, int32_t *tokens, float *values) {
    size_t n = 0;
    for (int32_t t = 128; t < 256; t++) tokens[n] = t, values[n++] = -INFINITY;
    for (int32_t t = FIXTURE_N_VOCAB - 3; t < FIXTURE_N_VOCAB; t++) tokens[n] = t, values[n++] = -INFINITY;
    params->logit_bias_tokens = tokens;
    params->logit_bias_values = values;
    params->n_logit_bias = n;
}

START_TEST(test_stop_string_is_never_emitted) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    sllm_generate_params params;
    greedy_params(&params, 40);
    params.temperature = 1.0f;
    params.seed = 5;
    int32_t bias_tokens[131];
    float bias_values[131];
    ascii_only(&params, bias_tokens, bias_values);
    sllm_request *req = user_request("Tell me a story about the river.");
    stream_capture full = { 0 };
    sllm_result unstopped;
    ck_assert_int_eq(generate_streamed(cache, req, &params, &full, &unstopped), SLLM_OK);
    ck_assert_uint_eq(unstopped.n_tokens, 40);
    ck_assert_int_eq(unstopped.finish_reason, SLLM_FINISH_LENGTH);
    assert_stream_matches(&full, &unstopped);

    /* A stop string spanning the boundary after token 20: its last byte and the next token's
     * first two (pieces are ASCII, one byte per character). */
    size_t boundary = 0;
    for (size_t i = 0; i <= 20; i++) {
        char piece[64];
        size_t piece_len;
        ck_assert_int_eq(sllm_token_piece(model, unstopped.tokens[i], piece, sizeof piece, &piece_len), SLLM_OK);
        if (i < 20) boundary += piece_len;
    }
    char stop[4] = { unstopped.text[boundary - 1], unstopped.text[boundary], unstopped.text[boundary + 1], 0 };
    size_t at = (size_t)(strstr(unstopped.text, stop) - unstopped.text);
    ck_assert_uint_le(at, boundary - 1);
    const char *stops[2] = { "never appears \x01", stop };
    params.stop = stops;
    params.n_stop = 2;
    stream_capture cap = { .forbidden = stop };
    sllm_result stopped;
    ck_assert_int_eq(generate_streamed(cache, req, &params, &cap, &stopped), SLLM_OK);
    ck_assert_int_eq(stopped.finish_reason, SLLM_FINISH_STOP);
    ck_assert_uint_eq(stopped.text_len, at);
    ck_assert_mem_eq(stopped.text, unstopped.text, at);
    assert_stream_matches(&cap, &stopped);
    /* The reply's tokens end with the one that completed the stop string. */
    size_t covered = 0, n_expected = 0;
    while (covered < at + 3) {
        char piece[64];
        size_t piece_len;
        ck_assert_int_eq(sllm_token_piece(model, unstopped.tokens[n_expected++], piece, sizeof piece, &piece_len), SLLM_OK);
        covered += piece_len;
    }
    ck_assert_uint_eq(stopped.n_tokens, n_expected);
    ck_assert_mem_eq(stopped.tokens, unstopped.tokens, n_expected * sizeof *stopped.tokens);
    sllm_result_free(&stopped);
    sllm_result_free(&unstopped);
    sllm_request_free(req);
    assert_no_block_in_use(cache);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_finish_reasons) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    sllm_generate_params params;
    greedy_params(&params, 5);
    params.ignore_eos = 1;
    sllm_request *req = user_request("Count to ten.");
    sllm_result result;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_OK);
    ck_assert_int_eq(result.finish_reason, SLLM_FINISH_LENGTH);
    ck_assert_uint_eq(result.n_tokens, 5);
    ck_assert_uint_eq(result.generated_tokens, 5);
    sllm_result_free(&result);

    /* The end-of-turn token, made certain: the reply ends at once, without it. */
    int32_t eot = sllm_token_eot(model);
    ck_assert_int_eq(eot, FIXTURE_N_VOCAB - 1);
    float big = 100.0f;
    params.ignore_eos = 0;
    params.logit_bias_tokens = &eot;
    params.logit_bias_values = &big;
    params.n_logit_bias = 1;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_OK);
    ck_assert_int_eq(result.finish_reason, SLLM_FINISH_STOP);
    ck_assert_uint_eq(result.n_tokens, 0);
    ck_assert_uint_eq(result.text_len, 0);
    ck_assert_str_eq(result.text, "");
    sllm_result_free(&result);
    /* ignore_eos keeps going through it. */
    params.ignore_eos = 1;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_OK);
    ck_assert_int_eq(result.finish_reason, SLLM_FINISH_LENGTH);
    ck_assert_uint_eq(result.n_tokens, 5);
    for (size_t i = 0; i < 5; i++) ck_assert_int_eq(result.tokens[i], eot);
    sllm_result_free(&result);
    sllm_request_free(req);

    /* The context limit: 3 tokens of room, with max_tokens -1 and with a larger max_tokens. */
    ck_assert_int_eq(sllm_model_n_ctx(model), FIXTURE_TINY_N_CTX);
    static int32_t prompt[FIXTURE_TINY_N_CTX];
    fill_tokens(prompt, FIXTURE_TINY_N_CTX - 3, 8);
    req = tokens_request(prompt, FIXTURE_TINY_N_CTX - 3);
    greedy_params(&params, -1);
    params.ignore_eos = 1;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_OK);
    ck_assert_int_eq(result.finish_reason, SLLM_FINISH_LENGTH);
    ck_assert_uint_eq(result.n_tokens, 3);
    ck_assert_uint_eq(result.prompt_tokens, FIXTURE_TINY_N_CTX - 3);
    sllm_result_free(&result);
    params.max_tokens = 100;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_OK);
    ck_assert_int_eq(result.finish_reason, SLLM_FINISH_LENGTH);
    ck_assert_uint_eq(result.n_tokens, 3);
    ck_assert_uint_eq(result.cached_tokens, (FIXTURE_TINY_N_CTX - 4) / FIXTURE_BLOCK_SIZE * FIXTURE_BLOCK_SIZE);
    sllm_result_free(&result);
    /* max_tokens 0: nothing generated, finish LENGTH. */
    params.max_tokens = 0;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &result), SLLM_OK);
    ck_assert_int_eq(result.finish_reason, SLLM_FINISH_LENGTH);
    ck_assert_uint_eq(result.n_tokens, 0);
    sllm_result_free(&result);
    sllm_request_free(req);
    assert_no_block_in_use(cache);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

/* Replaces each byte that does not start a valid UTF-8 sequence with U+FFFD (what the
 * engine promises for streamed text), computed independently of it. */
static size_t replace_invalid_utf8(const char *in, size_t len, char *out) {
    size_t n_out = 0, i = 0;
    while (i < len) {
        size_t n = 0;
        for (size_t k = 1; k <= 4 && i + k <= len && n == 0; k++)
            if (utf8_valid((const uint8_t *)in + i, k)) n = k;
        if (n > 0) {
            memcpy(out + n_out, in + i, n);
            n_out += n;
            i += n;
        } else {
            memcpy(out + n_out, "\xEF\xBF\xBD", 3);
            n_out += 3;
            i++;
        }
    }
    return n_out;
}

START_TEST(test_streamed_text_is_valid_utf8_and_equals_the_result) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.temperature = 1.5f;
    params.max_tokens = 200;
    params.ignore_eos = 1;
    int replaced = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        params.seed = seed;
        sllm_request *req = user_request("Write something in many scripts: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
        stream_capture cap = { 0 };
        sllm_result result;
        ck_assert_int_eq(generate_streamed(cache, req, &params, &cap, &result), SLLM_OK);
        ck_assert_uint_eq(result.n_tokens, 200);
        assert_stream_matches(&cap, &result);
        ck_assert_uint_gt(cap.n_chunks, 1);
        /* The text is the tokens' bytes with every invalid byte replaced. */
        static char raw[8192], expected[3 * 8192];
        size_t raw_len;
        ck_assert_int_eq(sllm_detokenize(model, result.tokens, result.n_tokens, 0, raw, sizeof raw, &raw_len), SLLM_OK);
        size_t expected_len = replace_invalid_utf8(raw, raw_len, expected);
        ck_assert_uint_eq(result.text_len, expected_len);
        ck_assert_mem_eq(result.text, expected, expected_len);
        replaced += expected_len != raw_len;
        sllm_result_free(&result);
        sllm_request_free(req);
    }
    ck_assert_int_gt(replaced, 0); /* the random model does emit stray bytes */
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

/* ---- logprobs ---------------------------------------------------------------------------------------- */

static double log_softmax_at(const float *logits, int64_t n_vocab, int32_t token) {
    double max_logit = logits[0];
    for (int64_t i = 1; i < n_vocab; i++) max_logit = logits[i] > max_logit ? logits[i] : max_logit;
    double sum = 0.0;
    for (int64_t i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - max_logit);
    return (double)logits[token] - max_logit - log(sum);
}

static void check_logprobs(float temperature) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    sllm_generate_params params;
    greedy_params(&params, 12);
    params.temperature = temperature;
    params.seed = 77;
    params.logprobs = 1;
    params.top_logprobs = 5;
    params.ignore_eos = 1;
    sllm_request *req = user_request("What are log probabilities?");
    recording rec;
    fixture_recording_init(&rec, model);
    sllm_result result;
    ck_assert_int_eq(generate_recorded(cache, req, &params, &rec, &result), SLLM_OK);
    ck_assert_uint_eq(result.n_tokens, 12);
    ck_assert_uint_eq(rec.n_logits, 12); /* the last token is not fed back */
    ck_assert_ptr_nonnull(result.logprobs);
    ck_assert_ptr_nonnull(result.top_logprobs);
    ck_assert_int_eq(result.n_top_logprobs, 5);
    int64_t n_vocab = rec.n_vocab;
    for (size_t i = 0; i < result.n_tokens; i++) {
        const float *logits = rec.logits + i * (size_t)n_vocab;
        double expected = log_softmax_at(logits, n_vocab, result.tokens[i]);
        ck_assert_msg(fabs(result.logprobs[i] - expected) < 1e-5, "token %zu: logprob %.9g, expected %.9g", i,
                      (double)result.logprobs[i], expected);
        const sllm_token_logprob *top = result.top_logprobs + i * 5;
        for (int k = 0; k < 5; k++) {
            ck_assert_int_ge(top[k].token, 0);
            ck_assert_int_lt(top[k].token, n_vocab);
            ck_assert(fabs(top[k].logprob - log_softmax_at(logits, n_vocab, top[k].token)) < 1e-5);
            if (k > 0) ck_assert(top[k].logprob <= top[k - 1].logprob);
            for (int j = 0; j < k; j++) ck_assert_int_ne(top[j].token, top[k].token);
        }
        /* They are the five largest logits: no other token beats the fifth. */
        for (int64_t t = 0; t < n_vocab; t++) {
            int listed = 0;
            for (int k = 0; k < 5; k++) listed |= top[k].token == t;
            if (!listed) ck_assert(logits[t] <= logits[top[4].token]);
        }
        if (temperature == 0.0f) ck_assert_int_eq(top[0].token, result.tokens[i]);
    }
    sllm_result_free(&result);
    sllm_request_free(req);
    fixture_recording_free(&rec);
    sllm_cache_free(cache);
    sllm_model_free(model);
}

START_TEST(test_logprobs_are_the_log_softmax_of_the_logits) {
    check_logprobs(0.0f);
    check_logprobs(0.9f);
}
END_TEST

/* ---- cancellation ------------------------------------------------------------------------------------ */

static void assert_same_as_fresh(sllm_model *model, sllm_cache *cache, sllm_request *req,
                                 const sllm_generate_params *params) {
    sllm_cache *fresh = open_cache(model, 0, 1);
    recording again, expected;
    fixture_recording_init(&again, model);
    fixture_recording_init(&expected, model);
    sllm_result a, b;
    ck_assert_int_eq(generate_recorded(cache, req, params, &again, &a), SLLM_OK);
    ck_assert_int_eq(generate_recorded(fresh, req, params, &expected, &b), SLLM_OK);
    ck_assert_uint_eq(a.n_tokens, b.n_tokens);
    ck_assert_mem_eq(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens);
    ck_assert_uint_gt(a.cached_tokens, 0);
    fixture_assert_recordings_equal(&again, &expected, "after a cancelled request");
    sllm_result_free(&a);
    sllm_result_free(&b);
    fixture_recording_free(&again);
    fixture_recording_free(&expected);
    sllm_cache_free(fresh);
}

START_TEST(test_cancel_from_the_stream_callback) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    sllm_generate_params params;
    greedy_params(&params, 40);
    params.ignore_eos = 1;
    sllm_request *req = user_request("A long answer, please, about everything under the green hills.");
    sllm_result full;
    ck_assert_int_eq(generate_recorded(cache, req, &params, NULL, &full), SLLM_OK);
    ck_assert_int_eq(sllm_cache_clear(cache), SLLM_OK);

    stream_capture cap = { .cancel_after = 3 };
    sllm_result result;
    ck_assert_int_eq(generate_streamed(cache, req, &params, &cap, &result), SLLM_ERR_CANCELLED);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "cancel"));
    ck_assert_int_eq(result.finish_reason, SLLM_FINISH_CANCELLED);
    ck_assert_uint_eq(result.n_tokens, 3);
    ck_assert_mem_eq(result.tokens, full.tokens, 3 * sizeof *full.tokens);
    assert_stream_matches(&cap, &result);
    assert_no_block_in_use(cache);
    sllm_result_free(&result);
    assert_same_as_fresh(model, cache, req, &params);
    sllm_result_free(&full);
    sllm_request_free(req);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

/* The stream callback lets another thread call sllm_cancel() after `at` tokens and waits
 * until it has: the call stops right there, deterministically. */
typedef struct cancel_sync {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    sllm_request *req;
    size_t n_tokens, at;
    int cancel_wanted, cancel_done;
} cancel_sync;

static int signal_canceller(void *user, const char *text, size_t text_len, const int32_t *tokens, size_t n_tokens) {
    cancel_sync *sync = user;
    pthread_mutex_lock(&sync->mutex);
    sync->n_tokens += n_tokens;
    if (sync->n_tokens >= sync->at && !sync->cancel_wanted) {
        sync->cancel_wanted = 1;
        pthread_cond_broadcast(&sync->cond);
        while (!sync->cancel_done) pthread_cond_wait(&sync->cond, &sync->mutex);
    }
    pthread_mutex_unlock(&sync->mutex);
    return 0;
}

static void *canceller(void *arg) {
    cancel_sync *sync = arg;
    pthread_mutex_lock(&sync->mutex);
    while (!sync->cancel_wanted) pthread_cond_wait(&sync->cond, &sync->mutex);
    sllm_cancel(sync->req);
    sllm_cancel(sync->req); /* any number of times */
    sync->cancel_done = 1;
    pthread_cond_broadcast(&sync->cond);
    pthread_mutex_unlock(&sync->mutex);
    return NULL;
}

START_TEST(test_cancel_from_another_thread) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache *cache = open_cache(model, 0, 1);
    sllm_generate_params params;
    greedy_params(&params, 40);
    params.ignore_eos = 1;
    sllm_request *req = user_request("Another long answer about the quiet river and the stone.");
    cancel_sync sync = { .req = req, .at = 4 };
    pthread_mutex_init(&sync.mutex, NULL);
    pthread_cond_init(&sync.cond, NULL);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, canceller, &sync), 0);
    sllm_result result;
    sllm_result_init(&result);
    ck_assert_int_eq(sllm_generate(cache, req, &params, signal_canceller, &sync, &result), SLLM_ERR_CANCELLED);
    pthread_join(thread, NULL);
    ck_assert_int_eq(result.finish_reason, SLLM_FINISH_CANCELLED);
    ck_assert_uint_eq(result.n_tokens, 4);
    assert_no_block_in_use(cache);
    sllm_result_free(&result);
    /* The cancel flag is cleared when the next call starts. */
    assert_same_as_fresh(model, cache, req, &params);
    pthread_cond_destroy(&sync.cond);
    pthread_mutex_destroy(&sync.mutex);
    sllm_request_free(req);
    sllm_cache_free(cache);
    sllm_model_free(model);
}
END_TEST

static Suite *generate_suite(void) {
    Suite *s = suite_create("generate");
    TCase *tc = tcase_create("invisible_greedy");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_cache_is_invisible_greedy, 0, 3);
    suite_add_tcase(s, tc);
    tc = tcase_create("invisible_sampled");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_cache_is_invisible_sampled, 0, 3);
    suite_add_tcase(s, tc);
    tc = tcase_create("cache");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_salts_isolate_cached_blocks);
    tcase_add_test(tc, test_hasher_gives_the_cache_hashes);
    tcase_add_test(tc, test_forced_collision_never_serves_another_prefix);
    tcase_add_test(tc, test_weak_hashes_change_no_output);
    tcase_add_test(tc, test_eviction_is_lru_and_tail_first);
    tcase_add_test(tc, test_budget_below_one_request_is_kv_budget);
    tcase_add_test(tc, test_stats_count_tokens_blocks_and_render_as_prometheus);
    suite_add_tcase(s, tc);
    tc = tcase_create("requests");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_bad_requests_get_specific_errors_and_leave_the_cache_consistent);
    tcase_add_test(tc, test_json_request_equals_the_same_request_built_by_calls);
    tcase_add_test(tc, test_stop_string_is_never_emitted);
    tcase_add_test(tc, test_finish_reasons);
    tcase_add_test(tc, test_streamed_text_is_valid_utf8_and_equals_the_result);
    tcase_add_test(tc, test_logprobs_are_the_log_softmax_of_the_logits);
    tcase_add_test(tc, test_cancel_from_the_stream_callback);
    tcase_add_test(tc, test_cancel_from_another_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    if (fixture_make_models() != 0) return 1;
    int failures = testutil_run_suite(generate_suite());
    fixture_remove_models();
    return failures == 0 ? 0 : 1;
}
