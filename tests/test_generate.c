/* Tests for sllm_generate() and the paged prefix cache: the cache never changes output
 * (tokens and logits bit-identical), salts isolate, hashes match sllm_hasher, collisions
 * are caught, eviction order, budgets, bad requests, stopping, streaming, logprobs and
 * cancellation. Models come from tests/tools/make_model (ChatML template, byte-level BPE). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/generate.h"
#include "format/quantize.h"
#include "generate_fixture.h"
#include "statelessllm.h"
#include "testutil.h"

enum { MAX_TURNS = 12, REPLY_TOKENS = 6 };

/* ---- recording every logits vector and token a conversation produces ------------------ */

typedef struct recording {
    int64_t n_vocab;
    float *logits;              /* n_logits vectors of n_vocab */
    size_t n_logits, cap_logits;
    int32_t tokens[MAX_TURNS * 64];
    size_t n_tokens;
    size_t turn_tokens[MAX_TURNS];
    uint64_t prompt[MAX_TURNS], cached[MAX_TURNS];
    sllm_finish_reason finish[MAX_TURNS];
} recording;

static void record_logits(void *user, const float *logits, int64_t n_vocab) {
    recording *rec = user;
    ck_assert_int_eq(n_vocab, rec->n_vocab);
    if (rec->n_logits == rec->cap_logits) {
        rec->cap_logits = rec->cap_logits ? 2 * rec->cap_logits : 64;
        rec->logits = realloc(rec->logits, rec->cap_logits * (size_t)n_vocab * sizeof *rec->logits);
        ck_assert_ptr_nonnull(rec->logits);
    }
    memcpy(rec->logits + rec->n_logits++ * (size_t)n_vocab, logits, (size_t)n_vocab * sizeof *logits);
}

static void recording_init(recording *rec, const sllm_model *model) {
    memset(rec, 0, sizeof *rec);
    rec->n_vocab = sllm_model_n_vocab(model);
}

static void recording_free(recording *rec) { free(rec->logits); }

static void assert_recordings_equal(const recording *a, const recording *b, const char *what) {
    ck_assert_msg(a->n_tokens == b->n_tokens, "%s: %zu tokens vs %zu", what, a->n_tokens, b->n_tokens);
    ck_assert_msg(memcmp(a->tokens, b->tokens, a->n_tokens * sizeof a->tokens[0]) == 0, "%s: tokens differ", what);
    ck_assert_msg(memcmp(a->turn_tokens, b->turn_tokens, sizeof a->turn_tokens) == 0, "%s: turn lengths differ", what);
    ck_assert_msg(memcmp(a->prompt, b->prompt, sizeof a->prompt) == 0, "%s: prompt lengths differ", what);
    ck_assert_msg(memcmp(a->finish, b->finish, sizeof a->finish) == 0, "%s: finish reasons differ", what);
    ck_assert_msg(a->n_logits == b->n_logits, "%s: %zu logits vectors vs %zu", what, a->n_logits, b->n_logits);
    for (size_t i = 0; i < a->n_logits; i++)
        ck_assert_msg(memcmp(a->logits + i * (size_t)a->n_vocab, b->logits + i * (size_t)b->n_vocab,
                             (size_t)a->n_vocab * sizeof(float)) == 0,
                      "%s: logits vector %zu differs", what, i);
}

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
    char replies[MAX_TURNS][512];
    int32_t reply_tokens[MAX_TURNS][64];
    size_t reply_len[MAX_TURNS], reply_n_tokens[MAX_TURNS];
    generate_hooks hooks = { record_logits, rec };
    for (int turn = 0; turn < options->n_turns; turn++) {
        if (options->clear_before_each_turn) ck_assert_int_eq(sllm_cache_clear(cache), SLLM_OK);
        if (options->distractor_blocks > 0) run_distractor(cache, options->distractor_blocks, turn);
        sllm_request *req = fixture_conversation_request(options->topic, turn, replies, reply_len, reply_tokens,
                                                         reply_n_tokens);
        sllm_result result;
        sllm_result_init(&result);
        sllm_status status = engine_generate(cache, req, options->params, NULL, NULL, &result, &hooks);
        ck_assert_msg(status == SLLM_OK, "turn %d: %s", turn, sllm_last_error());
        ck_assert_uint_le(result.n_tokens, 64);
        ck_assert_uint_lt(result.text_len, sizeof replies[0]);
        memcpy(replies[turn], result.text, result.text_len);
        reply_len[turn] = result.text_len;
        memcpy(reply_tokens[turn], result.tokens, result.n_tokens * sizeof *result.tokens);
        reply_n_tokens[turn] = result.n_tokens;
        memcpy(rec->tokens + rec->n_tokens, result.tokens, result.n_tokens * sizeof *result.tokens);
        rec->n_tokens += result.n_tokens;
        rec->turn_tokens[turn] = result.n_tokens;
        rec->prompt[turn] = result.prompt_tokens;
        rec->cached[turn] = result.cached_tokens;
        rec->finish[turn] = result.finish_reason;
        sllm_result_free(&result);
        sllm_request_free(req);
    }
}

static sllm_cache *open_cache(sllm_model *model, uint64_t budget_bytes, int prefix_caching) {
    sllm_cache_params params;
    sllm_cache_params_init(&params);
    params.n_threads = 2;
    params.prefix_caching = prefix_caching;
    if (budget_bytes) params.budget_bytes = budget_bytes;
    sllm_cache *cache = NULL;
    ck_assert_msg(sllm_cache_create(model, &params, &cache) == SLLM_OK, "cache: %s", sllm_last_error());
    return cache;
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

static void check_invisible(const char *weight_type, int n_turns, const sllm_generate_params *params) {
    sllm_model *model = fixture_load_model(weight_type);
    conversation_options options = { n_turns, 0, 0, params, 1 };
    recording cached, uncached, cleared, small;
    recording_init(&cached, model);
    recording_init(&uncached, model);
    recording_init(&cleared, model);
    recording_init(&small, model);

    sllm_cache *cache = open_cache(model, 0, 1);
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

    cache = open_cache(model, 0, 0);
    run_conversation(cache, &options, &uncached);
    sllm_cache_free(cache);
    assert_recordings_equal(&cached, &uncached, "prefix_caching = 0");
    for (int turn = 0; turn < n_turns; turn++) ck_assert_uint_eq(uncached.cached[turn], 0);

    cache = open_cache(model, 0, 1);
    options.clear_before_each_turn = 1;
    run_conversation(cache, &options, &cleared);
    sllm_cache_free(cache);
    assert_recordings_equal(&cached, &cleared, "cleared before every turn");
    for (int turn = 0; turn < n_turns; turn++) ck_assert_uint_eq(cleared.cached[turn], 0);

    /* A few blocks more than the largest turn needs, and another tenant between turns: the
     * conversation loses part of its cached prefix (tail first) and recomputes it. */
    size_t largest = 0;
    for (int turn = 0; turn < n_turns; turn++) {
        size_t need = blocks_for(cached.prompt[turn] + REPLY_TOKENS - 1);
        if (need > largest) largest = need;
    }
    cache = open_cache(model, (largest + 3) * bytes_per_block, 1);
    ck_assert_uint_eq(cache_stats(cache).blocks_total, largest + 3);
    options.clear_before_each_turn = 0;
    options.distractor_blocks = largest;
    run_conversation(cache, &options, &small);
    sllm_cache_stats stats = cache_stats(cache);
    ck_assert_uint_gt(stats.evictions, 0);
    assert_no_block_in_use(cache);
    sllm_cache_free(cache);
    assert_recordings_equal(&cached, &small, "small pool");
    int n_turns_recomputed = 0;
    for (int turn = 0; turn < n_turns; turn++) n_turns_recomputed += small.cached[turn] < cached.cached[turn];
    ck_assert_int_gt(n_turns_recomputed, 0);

    recording_free(&cached);
    recording_free(&uncached);
    recording_free(&cleared);
    recording_free(&small);
    sllm_model_free(model);
}

static const char *const invisible_types[] = { "F32", "Q8_0", "Q4_K" };

START_TEST(test_cache_is_invisible_greedy) {
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.temperature = 0.0f;
    params.max_tokens = REPLY_TOKENS;
    check_invisible(invisible_types[_i], MAX_TURNS, &params);
}
END_TEST

START_TEST(test_cache_is_invisible_sampled) {
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.temperature = 0.8f;
    params.top_p = 0.9f;
    params.seed = 1234;
    params.max_tokens = REPLY_TOKENS;
    check_invisible(invisible_types[_i], 6, &params);
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
    return s;
}

int main(void) {
    if (fixture_make_models() != 0) return 1;
    int failures = testutil_run_suite(generate_suite());
    fixture_remove_models();
    return failures == 0 ? 0 : 1;
}
