/* Tests for sllm_generate() from many threads on one cache: 8 threads x 20 conversations
 * give exactly the tokens and logits of sequential runs, with a roomy pool and with one so
 * small that requests wait for each other's blocks; nothing stays pinned afterwards. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate_fixture.h"
#include "statelessllm.h"
#include "testutil.h"

enum { N_THREADS = 8, N_PER_THREAD = 20, N_CONVERSATIONS = N_THREADS * N_PER_THREAD, N_TURNS = 3 };

typedef struct run {
    fixture_recording rec[N_CONVERSATIONS];
    fixture_conversation *conversation[N_CONVERSATIONS];
} run;

typedef struct worker {
    sllm_cache *cache;
    const sllm_generate_params *params;
    run *run;
    int first;                  /* conversations first .. first + N_PER_THREAD - 1 */
    sllm_status status;
    char error[512];
} worker;

static void run_open(run *r, const sllm_model *model) {
    for (int c = 0; c < N_CONVERSATIONS; c++) {
        fixture_recording_init(&r->rec[c], model);
        r->conversation[c] = fixture_conversation_create((unsigned)c, &r->rec[c]);
    }
}

static void run_close(run *r) {
    for (int c = 0; c < N_CONVERSATIONS; c++) {
        fixture_recording_free(&r->rec[c]);
        free(r->conversation[c]);
    }
}

/* A thread's conversations advance round-robin, one turn each, so that every thread has
 * many conversations in flight and they compete for the pool. */
static void *play(void *arg) {
    worker *w = arg;
    w->status = SLLM_OK;
    for (int turn = 0; turn < N_TURNS && w->status == SLLM_OK; turn++)
        for (int k = 0; k < N_PER_THREAD && w->status == SLLM_OK; k++)
            w->status = fixture_try_turn(w->cache, w->run->conversation[w->first + k], w->params, w->error,
                                         sizeof w->error);
    return NULL;
}

static sllm_cache *open_cache(sllm_model *model, uint64_t budget_bytes) {
    sllm_cache_params params;
    sllm_cache_params_init(&params);
    params.n_threads = 1; /* the compute is serialized per cache; pool workers would only spin */
    if (budget_bytes) params.budget_bytes = budget_bytes;
    sllm_cache *cache = NULL;
    ck_assert_msg(sllm_cache_create(model, &params, &cache) == SLLM_OK, "cache: %s", sllm_last_error());
    return cache;
}

static void reply_params(sllm_generate_params *params) {
    sllm_generate_params_init(params);
    params->temperature = 0.8f;
    params->top_p = 0.95f;
    params->seed = 99;
    params->max_tokens = 4;
}

static void run_sequential(sllm_model *model, const sllm_generate_params *params, run *sequential,
                           uint64_t *bytes_per_block) {
    sllm_cache *cache = open_cache(model, 0);
    sllm_cache_stats stats = { .struct_size = sizeof stats };
    ck_assert_int_eq(sllm_cache_get_stats(cache, &stats), SLLM_OK);
    *bytes_per_block = stats.bytes_per_block;
    for (int c = 0; c < N_CONVERSATIONS; c++)
        for (int turn = 0; turn < N_TURNS; turn++) fixture_play_turn(cache, sequential->conversation[c], params);
    sllm_cache_free(cache);
}

static void check_concurrent(sllm_model *model, const sllm_generate_params *params, const run *sequential,
                             uint64_t budget_bytes) {
    run *concurrent = malloc(sizeof *concurrent);
    ck_assert_ptr_nonnull(concurrent);
    run_open(concurrent, model);
    sllm_cache *cache = open_cache(model, budget_bytes);
    worker workers[N_THREADS];
    pthread_t threads[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        workers[t] = (worker){ .cache = cache, .params = params, .run = concurrent, .first = t * N_PER_THREAD };
        ck_assert_int_eq(pthread_create(&threads[t], NULL, play, &workers[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++) pthread_join(threads[t], NULL);
    for (int t = 0; t < N_THREADS; t++) ck_assert_msg(workers[t].status == SLLM_OK, "thread %d: %s", t, workers[t].error);

    uint64_t prompt_tokens = 0, cached_tokens = 0;
    for (int c = 0; c < N_CONVERSATIONS; c++) {
        char what[64];
        snprintf(what, sizeof what, "conversation %d", c);
        fixture_assert_recordings_equal(&concurrent->rec[c], &sequential->rec[c], what);
        for (int turn = 0; turn < N_TURNS; turn++) {
            prompt_tokens += concurrent->rec[c].prompt[turn];
            cached_tokens += concurrent->rec[c].cached[turn];
        }
    }
    sllm_cache_stats stats = { .struct_size = sizeof stats };
    ck_assert_int_eq(sllm_cache_get_stats(cache, &stats), SLLM_OK);
    ck_assert_uint_eq(stats.requests, N_CONVERSATIONS * N_TURNS);
    ck_assert_uint_eq(stats.query_tokens, prompt_tokens);
    ck_assert_uint_eq(stats.hit_tokens, cached_tokens);
    ck_assert_uint_gt(cached_tokens, 0);
    ck_assert_uint_eq(stats.blocks_used, 0);
    ck_assert_uint_eq(stats.blocks_cached + stats.blocks_free, stats.blocks_total);
    if (budget_bytes > 0) ck_assert_uint_gt(stats.evictions, 0);
    /* 8 threads stepping at once: some steps queue behind a running pass and share the
     * next one (the results above are nonetheless the sequential ones). */
    if (budget_bytes == 0) ck_assert_uint_gt(stats.batched_steps, 0);
    ck_assert_uint_gt(stats.forward_passes, 0);
    sllm_cache_free(cache);
    run_close(concurrent);
    free(concurrent);
}

/* With the default pool, and with room for about two requests at once (the others wait at
 * admission for blocks, and cached prefixes are evicted all the time). */
START_TEST(test_threads_give_the_sequential_results) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_generate_params params;
    reply_params(&params);
    run *sequential = malloc(sizeof *sequential);
    ck_assert_ptr_nonnull(sequential);
    run_open(sequential, model);
    uint64_t bytes_per_block;
    run_sequential(model, &params, sequential, &bytes_per_block);
    check_concurrent(model, &params, sequential, 0);
    check_concurrent(model, &params, sequential, 24 * bytes_per_block);
    run_close(sequential);
    free(sequential);
    sllm_model_free(model);
}
END_TEST

static Suite *concurrency_suite(void) {
    Suite *s = suite_create("generate_concurrency");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_threads_give_the_sequential_results);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    if (fixture_make_models() != 0) return 1;
    int failures = testutil_run_suite(concurrency_suite());
    fixture_remove_models();
    return failures == 0 ? 0 : 1;
}
