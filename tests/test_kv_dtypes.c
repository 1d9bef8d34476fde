/* K/V element types of the cache: each dtype keeps the cache invisible; Q8_0 really
 * quantizes, and is refused with a message when head_dim is not a multiple of 32. */
#include <check.h>
#include <math.h>
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

static void check_dtype_keeps_cache_invisible(const char *model_name, sllm_kv_dtype dtype, const char *what) {
    sllm_model *model = fixture_load_model(model_name);
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

START_TEST(test_bf16_kv_cache_is_invisible) { check_dtype_keeps_cache_invisible("tiny", SLLM_KV_BF16, "bf16 kv"); }
END_TEST

START_TEST(test_f32_kv_cache_is_invisible) { check_dtype_keeps_cache_invisible("tiny", SLLM_KV_F32, "f32 kv"); }
END_TEST

/* "Q8_0" has head_dim 64 (width 256, 4 heads): two Q8_0 blocks per K/V row. */
START_TEST(test_q8_0_kv_cache_is_invisible) { check_dtype_keeps_cache_invisible("Q8_0", SLLM_KV_Q8_0, "q8_0 kv"); }
END_TEST

/* 8-bit K/V changes the logits (so the values really went through Q8_0) but only a
 * little: each stored value is off by at most half a step of amax / 127 of its 32-value
 * block (0.4% of the block's largest value), which these two random layers amplify to
 * 2.5% of the largest logit (measured: 0.076 of 3.02); 10% leaves a 4x margin and still
 * fails on garbled K/V, which moves logits by the order of the logits themselves. */
START_TEST(test_q8_0_kv_quantizes_and_stays_close_to_f16) {
    sllm_model *model = fixture_load_model("Q8_0");
    fixture_recording f16, q8;
    play(model, SLLM_KV_F16, 1, &f16);
    play(model, SLLM_KV_Q8_0, 1, &q8);
    ck_assert_uint_gt(f16.n_logits, 0);
    ck_assert_uint_gt(q8.n_logits, 0);
    /* The first vector is the first turn's prompt, identical in both runs. */
    double worst = 0.0, largest = 0.0;
    for (int64_t i = 0; i < f16.n_vocab; i++) {
        double diff = fabs((double)f16.logits[i] - (double)q8.logits[i]);
        if (diff > worst) worst = diff;
        if (fabs((double)f16.logits[i]) > largest) largest = fabs((double)f16.logits[i]);
    }
    ck_assert_msg(worst > 0.0, "q8_0 K/V gave the f16 logits bit for bit: nothing was quantized");
    ck_assert_msg(worst <= 0.10 * largest, "q8_0 K/V moved a logit by %.4g (largest |logit| %.4g)", worst, largest);
    fixture_recording_free(&f16);
    fixture_recording_free(&q8);
    sllm_model_free(model);
}
END_TEST

/* "tiny" has head_dim 16: no whole Q8_0 block per row. */
START_TEST(test_q8_0_kv_with_head_dim_not_a_multiple_of_32_is_refused) {
    sllm_model *model = fixture_load_model("tiny");
    sllm_cache_params cp;
    sllm_cache_params_init(&cp);
    cp.kv_dtype = SLLM_KV_Q8_0;
    sllm_cache *cache = NULL;
    ck_assert_int_eq(sllm_cache_create(model, &cp, &cache), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(cache);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "q8_0"));
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "head_dim 16"));
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
    tcase_add_test(tc, test_q8_0_kv_cache_is_invisible);
    tcase_add_test(tc, test_q8_0_kv_quantizes_and_stays_close_to_f16);
    tcase_add_test(tc, test_q8_0_kv_with_head_dim_not_a_multiple_of_32_is_refused);
    suite_add_tcase(suite, tc);
    int failures = testutil_run_suite(suite);
    fixture_remove_models();
    return failures == 0 ? 0 : 1;
}
