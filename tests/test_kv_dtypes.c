/* K/V element types of the cache: each supported dtype keeps the cache invisible; the
 * ones not implemented yet are refused with a message naming them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate.h"
#include "generate_fixture.h"
#include "testutil.h"

enum { N_TURNS = 4 };

/* Plays N_TURNS of one conversation on a fresh cache and records every logits vector. */
static void play(sllm_model *model, sllm_kv_dtype dtype, int prefix_caching, fixture_recording *rec) {
    sllm_cache_params cp;
    sllm_cache_params_init(&cp);
    cp.n_threads = 1;
    cp.kv_dtype = dtype;
    cp.prefix_caching = prefix_caching;
    cp.budget_bytes = 8u << 20;
    sllm_cache *cache = NULL;
    ck_assert_msg(sllm_cache_create(model, &cp, &cache) == SLLM_OK, "%s", sllm_last_error());
    sllm_generate_params gp;
    sllm_generate_params_init(&gp);
    gp.temperature = 0;
    gp.max_tokens = 12;
    fixture_recording_init(rec, model);
    fixture_conversation *conversation = fixture_conversation_create(3, rec);
    for (int turn = 0; turn < N_TURNS; turn++) fixture_play_turn(cache, conversation, &gp);
    free(conversation);
    sllm_cache_free(cache);
}

static void check_dtype_keeps_cache_invisible(sllm_kv_dtype dtype, const char *what) {
    sllm_model *model = fixture_load_model("tiny");
    fixture_recording cached, uncached;
    play(model, dtype, 1, &cached);
    play(model, dtype, 0, &uncached);
    fixture_assert_recordings_equal(&cached, &uncached, what);
    /* The cache was really used: some later turn found its history. */
    uint64_t hits = 0;
    for (int turn = 1; turn < N_TURNS; turn++) hits += cached.cached[turn];
    ck_assert_uint_gt(hits, 0);
    fixture_recording_free(&cached);
    fixture_recording_free(&uncached);
    sllm_model_free(model);
}

START_TEST(test_bf16_kv_cache_is_invisible) { check_dtype_keeps_cache_invisible(SLLM_KV_BF16, "bf16 kv"); }
END_TEST

START_TEST(test_f32_kv_cache_is_invisible) { check_dtype_keeps_cache_invisible(SLLM_KV_F32, "f32 kv"); }
END_TEST

START_TEST(test_q8_0_kv_is_refused_with_a_message) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache_params cp;
    sllm_cache_params_init(&cp);
    cp.kv_dtype = SLLM_KV_Q8_0;
    sllm_cache *cache = NULL;
    ck_assert_int_eq(sllm_cache_create(model, &cp, &cache), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(cache);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "q8_0"));
    sllm_model_free(model);
}
END_TEST

int main(void) {
    if (fixture_make_models() != 0) return 1;
    Suite *suite = suite_create("kv_dtypes");
    TCase *tc = tcase_create("kv_dtypes");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_bf16_kv_cache_is_invisible);
    tcase_add_test(tc, test_f32_kv_cache_is_invisible);
    tcase_add_test(tc, test_q8_0_kv_is_refused_with_a_message);
    suite_add_tcase(suite, tc);
    int failures = testutil_run_suite(suite);
    fixture_remove_models();
    return failures == 0 ? 0 : 1;
}
