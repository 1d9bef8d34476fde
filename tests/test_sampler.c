/* Sampler: generator known answers, greedy, distribution, truncation sets, penalties, bias,
 * log-probabilities, determinism and parameter validation. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sampler.h"
#include "testutil.h"

static sampler *make_sampler(const sampler_params *params, int32_t n_vocab) {
    sampler *s = NULL;
    ck_assert_msg(sampler_create(params, n_vocab, &s) == SLLM_OK, "%s", sllm_last_error());
    return s;
}

static int32_t sample_one(sampler *s, const float *logits) {
    sampler_result result;
    ck_assert_msg(sampler_sample(s, logits, NULL, 0, &result) == SLLM_OK, "%s", sllm_last_error());
    return result.token;
}

/* Deterministic test logits (a 64-bit LCG, Knuth's MMIX constants), independent of the
 * sampler's generator. */
static void fill_logits(float *logits, int32_t n, uint64_t seed) {
    for (int32_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        logits[i] = (float)((double)(seed >> 40) / (double)(1ull << 24) * 20.0 - 10.0);
    }
}

/* Reference log_softmax in double. */
static void log_softmax(const float *logits, int32_t n, double *out) {
    double max = -INFINITY;
    for (int32_t i = 0; i < n; i++) max = fmax(max, logits[i]);
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += exp((double)logits[i] - max);
    for (int32_t i = 0; i < n; i++) out[i] = (double)logits[i] - max - log(sum);
}

START_TEST(test_generator_matches_reference_outputs) {
    /* splitmix64 from state 0 yields 0xE220A8397B1DCDAF first (Vigna's reference); the
     * xoshiro256** outputs come from an independent Python implementation of Vigna's
     * reference code (xoshiro256starstar.c), seeded with four splitmix64 outputs. */
    sampler_rng rng;
    sampler_rng_seed(&rng, 0);
    ck_assert_uint_eq(rng.state[0], 0xE220A8397B1DCDAFull);
    ck_assert_uint_eq(sampler_rng_next(&rng), 0x99ec5f36cb75f2b4ull);
    ck_assert_uint_eq(sampler_rng_next(&rng), 0xbf6e1f784956452aull);
    ck_assert_uint_eq(sampler_rng_next(&rng), 0x1a5f849d4933e6e0ull);
    sampler_rng_seed(&rng, 12345);
    ck_assert_uint_eq(sampler_rng_next(&rng), 0xbe6a36374160d49bull);
    ck_assert_uint_eq(sampler_rng_next(&rng), 0x214aaa0637a688c6ull);
    ck_assert_uint_eq(sampler_rng_next(&rng), 0xf69d16de9954d388ull);
    for (int i = 0; i < 1000; i++) {
        double u = sampler_rng_uniform(&rng);
        ck_assert(u >= 0.0 && u < 1.0);
    }
}
END_TEST

START_TEST(test_greedy_is_argmax_with_lowest_id_on_ties) {
    sampler_params params;
    sampler_params_init(&params);
    params.temperature = 0.0f;
    float logits[] = {0.1f, 0.7f, 0.7f, -2.0f};
    sampler *s = make_sampler(&params, 4);
    ck_assert_int_eq(sample_one(s, logits), 1);
    sampler_free(s);

    enum { N_VOCAB = 151936 };
    float *big = malloc(N_VOCAB * sizeof *big);
    fill_logits(big, N_VOCAB, 7);
    int32_t expected = 0;
    for (int32_t i = 1; i < N_VOCAB; i++)
        if (big[i] > big[expected]) expected = i;
    s = make_sampler(&params, N_VOCAB);
    ck_assert_int_eq(sample_one(s, big), expected);
    big[N_VOCAB - 1] = big[expected]; /* a later tie does not win */
    ck_assert_int_eq(sample_one(s, big), expected);
    sampler_free(s);
    free(big);
}
END_TEST

START_TEST(test_temperature_sampling_matches_reference_counts) {
    /* 20000 draws at temperature 0.8 from logits {2, 1, 0.5, -1, 0}, seed 1234. The exact
     * counts come from an independent Python implementation of the documented procedure
     * (splitmix64-seeded xoshiro256**, u = (next >> 11) * 2^-53, inverse CDF over the
     * candidates in token order). Probabilities softmax(l / 0.8) computed in Python:
     * 0.647055, 0.185385, 0.099229, 0.015217, 0.053114. */
    static const double probs[] = {0.64705548381108, 0.1853845033996209, 0.09922917503910837, 0.01521728727333815,
                                   0.05311355047685255};
    static const int expected_counts[] = {13090, 3629, 1934, 334, 1013};
    float logits[] = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f};
    sampler_params params;
    sampler_params_init(&params);
    params.temperature = 0.8f;
    params.seed = 1234;
    sampler *s = make_sampler(&params, 5);
    int counts[5] = {0};
    enum { N_DRAWS = 20000 };
    for (int i = 0; i < N_DRAWS; i++) counts[sample_one(s, logits)]++;
    sampler_free(s);
    double chi2 = 0.0;
    for (int i = 0; i < 5; i++) {
        double expected = N_DRAWS * probs[i];
        chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
        ck_assert_int_eq(counts[i], expected_counts[i]);
    }
    ck_assert_msg(chi2 < 20.5, "chi-square %g with 4 degrees of freedom", chi2); /* p < 0.0004 */
}
END_TEST

/* Draws `n_draws` times and returns the set of tokens seen as a bit mask. */
static unsigned observed_set(const sampler_params *params, const float *logits, int32_t n_vocab, int n_draws) {
    sampler *s = make_sampler(params, n_vocab);
    unsigned seen = 0;
    for (int i = 0; i < n_draws; i++) seen |= 1u << sample_one(s, logits);
    sampler_free(s);
    return seen;
}

START_TEST(test_top_k_keeps_exact_set) {
    float logits[] = {1.0f, 5.0f, 3.0f, 5.0f, 2.0f, 4.0f};
    sampler_params params;
    sampler_params_init(&params);
    params.seed = 3;
    params.top_k = 3;
    ck_assert_uint_eq(observed_set(&params, logits, 6, 3000), (1u << 1) | (1u << 3) | (1u << 5));
    params.top_k = 1;
    ck_assert_uint_eq(observed_set(&params, logits, 6, 200), 1u << 1); /* tie 1/3: lowest id */
    params.top_k = 6;
    ck_assert_uint_eq(observed_set(&params, logits, 6, 20000), 0x3Fu);
}
END_TEST

START_TEST(test_top_k_on_large_vocabulary_stays_in_true_top_k) {
    enum { N_VOCAB = 151936, TOP_K = 40 };
    float *logits = malloc(N_VOCAB * sizeof *logits);
    float *sorted = malloc(N_VOCAB * sizeof *sorted);
    fill_logits(logits, N_VOCAB, 99);
    memcpy(sorted, logits, N_VOCAB * sizeof *sorted);
    /* 40th largest by selection in the test (repeated max removal, independent of the heap). */
    float threshold = INFINITY;
    for (int k = 0; k < TOP_K; k++) {
        float best = -INFINITY;
        for (int32_t i = 0; i < N_VOCAB; i++)
            if (sorted[i] < threshold && sorted[i] > best) best = sorted[i];
        threshold = best;
    }
    sampler_params params;
    sampler_params_init(&params);
    params.top_k = TOP_K;
    params.temperature = 5.0f;
    params.seed = 11;
    sampler *s = make_sampler(&params, N_VOCAB);
    for (int i = 0; i < 300; i++) ck_assert(logits[sample_one(s, logits)] >= threshold);
    sampler_free(s);
    free(logits);
    free(sorted);
}
END_TEST

/* Probabilities 1/2, 1/4, 1/8, 1/8. */
static const float halving_logits[] = {-0.69314718f, -1.38629436f, -2.07944154f, -2.07944154f};

START_TEST(test_top_p_keeps_smallest_reaching_set) {
    sampler_params params;
    sampler_params_init(&params);
    params.seed = 5;
    params.top_p = 0.4f;
    ck_assert_uint_eq(observed_set(&params, halving_logits, 4, 500), 0x1u);
    params.top_p = 0.7f;
    ck_assert_uint_eq(observed_set(&params, halving_logits, 4, 2000), 0x3u);
    params.top_p = 0.8f;
    ck_assert_uint_eq(observed_set(&params, halving_logits, 4, 2000), 0x7u);
    params.top_p = 0.95f;
    ck_assert_uint_eq(observed_set(&params, halving_logits, 4, 2000), 0xFu);
}
END_TEST

START_TEST(test_min_p_keeps_tokens_above_fraction_of_max) {
    sampler_params params;
    sampler_params_init(&params);
    params.seed = 6;
    params.min_p = 0.6f;
    ck_assert_uint_eq(observed_set(&params, halving_logits, 4, 500), 0x1u);
    params.min_p = 0.3f;   /* keeps p >= 0.15 */
    ck_assert_uint_eq(observed_set(&params, halving_logits, 4, 2000), 0x3u);
    params.min_p = 0.2f;   /* keeps p >= 0.1 */
    ck_assert_uint_eq(observed_set(&params, halving_logits, 4, 2000), 0xFu);
    params.min_p = 0.3f;   /* combined with top_p: the intersection */
    params.top_p = 0.4f;
    ck_assert_uint_eq(observed_set(&params, halving_logits, 4, 500), 0x1u);
}
END_TEST

static void assert_logprobs(sampler *s, const float *logits, const int32_t *history, size_t n_history,
                            const float *expected_logits, int32_t n_vocab) {
    double expected[8];
    log_softmax(expected_logits, n_vocab, expected);
    sampler_result result;
    ck_assert_int_eq(sampler_sample(s, logits, history, n_history, &result), SLLM_OK);
    ck_assert_int_eq(result.n_top, n_vocab);
    for (int32_t i = 0; i < n_vocab; i++) {
        int32_t token = result.top[i].token;
        ck_assert_msg(fabs(result.top[i].logprob - expected[token]) < 1e-5, "token %d: %g vs %g", token,
                      result.top[i].logprob, expected[token]);
        if (i > 0) ck_assert(result.top[i].logprob <= result.top[i - 1].logprob);
    }
    ck_assert(fabs(result.logprob - expected[result.token]) < 1e-5);
}

START_TEST(test_penalties_have_exact_values) {
    /* history: token 0 three times, tokens 1 and 2 once. repetition 2, frequency 0.5,
     * presence 0.25, by hand:
     *   token 0:  2.0 / 2 - 3 * 0.5 - 0.25 = -0.75
     *   token 1: -1.0 * 2 - 1 * 0.5 - 0.25 = -2.75
     *   token 2:  0.5 / 2 - 1 * 0.5 - 0.25 = -0.5
     *   token 3:  3.0 (not in history) */
    float logits[] = {2.0f, -1.0f, 0.5f, 3.0f};
    int32_t history[] = {0, 1, 0, 2, 0};
    sampler_params params;
    sampler_params_init(&params);
    params.temperature = 0.0f;
    params.repetition_penalty = 2.0f;
    params.frequency_penalty = 0.5f;
    params.presence_penalty = 0.25f;
    params.top_logprobs = 4;
    sampler *s = make_sampler(&params, 4);
    assert_logprobs(s, logits, history, 5, (const float[]){-0.75f, -2.75f, -0.5f, 3.0f}, 4);
    sampler_free(s);

    /* Window of the last 2 tokens {2, 0}: token 0 once, token 2 once, token 1 untouched. */
    params.penalty_last_n = 2;
    s = make_sampler(&params, 4);
    assert_logprobs(s, logits, history, 5, (const float[]){0.25f, -1.0f, -0.5f, 3.0f}, 4);
    sampler_free(s);

    /* A penalty can change the greedy choice. */
    float close[] = {1.0f, 0.9f};
    int32_t once[] = {0};
    params.penalty_last_n = -1;
    params.top_logprobs = 0;
    s = make_sampler(&params, 2);
    sampler_result result;
    ck_assert_int_eq(sampler_sample(s, close, once, 1, &result), SLLM_OK);
    ck_assert_int_eq(result.token, 1);
    ck_assert_int_eq(sampler_sample(s, close, NULL, 0, &result), SLLM_OK);
    ck_assert_int_eq(result.token, 0);
    sampler_free(s);
}
END_TEST

START_TEST(test_logit_bias_bans_token) {
    float logits[] = {5.0f, 1.0f, 1.0f};
    sampler_logit_bias bias[] = {{0, -INFINITY}, {2, 0.5f}};
    sampler_params params;
    sampler_params_init(&params);
    params.logit_bias = bias;
    params.n_logit_bias = 1;
    params.temperature = 0.0f;
    sampler *s = make_sampler(&params, 3);
    ck_assert_int_eq(sample_one(s, logits), 1);
    sampler_free(s);

    params.n_logit_bias = 2;
    params.temperature = 1.0f;
    params.top_logprobs = 3;
    s = make_sampler(&params, 3);
    for (int i = 0; i < 1000; i++) ck_assert_int_ne(sample_one(s, logits), 0);
    sampler_result result;
    ck_assert_int_eq(sampler_sample(s, logits, NULL, 0, &result), SLLM_OK);
    ck_assert_int_eq(result.top[0].token, 2);
    ck_assert_int_eq(result.top[2].token, 0);
    ck_assert(isinf(result.top[2].logprob) && result.top[2].logprob < 0);
    /* log_softmax(1.5, 1.0) for tokens 2 and 1 */
    ck_assert(fabs(result.top[0].logprob - (1.5 - log(exp(1.5) + exp(1.0)))) < 1e-6);
    sampler_free(s);

    sampler_logit_bias ban_all[] = {{0, -INFINITY}, {1, -INFINITY}, {2, -INFINITY}};
    params.logit_bias = ban_all;
    params.n_logit_bias = 3;
    s = make_sampler(&params, 3);
    ck_assert_int_eq(sampler_sample(s, logits, NULL, 0, &result), SLLM_ERR_INVALID_SAMPLING);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "banned"));
    sampler_free(s);
}
END_TEST

static void draw_sequence(uint64_t seed, int32_t *out, int n) {
    float logits[100] = {0};
    sampler_params params;
    sampler_params_init(&params);
    params.seed = seed;
    sampler *s = make_sampler(&params, 100);
    for (int i = 0; i < n; i++) out[i] = sample_one(s, logits);
    sampler_free(s);
}

START_TEST(test_same_seed_same_tokens_different_seed_differs) {
    int32_t a[50], b[50], c[50];
    draw_sequence(42, a, 50);
    draw_sequence(42, b, 50);
    draw_sequence(43, c, 50);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
}
END_TEST

START_TEST(test_logprobs_are_pre_truncation_log_softmax) {
    enum { N_VOCAB = 1000 };
    float logits[N_VOCAB];
    double expected[N_VOCAB];
    fill_logits(logits, N_VOCAB, 2024);
    log_softmax(logits, N_VOCAB, expected);
    sampler_params params;
    sampler_params_init(&params);
    params.temperature = 0.7f;
    params.top_k = 10;
    params.logprobs = 1;
    params.top_logprobs = 20;
    params.seed = 9;
    sampler *s = make_sampler(&params, N_VOCAB);
    for (int draw = 0; draw < 20; draw++) {
        sampler_result result;
        ck_assert_int_eq(sampler_sample(s, logits, NULL, 0, &result), SLLM_OK);
        ck_assert(fabs(result.logprob - expected[result.token]) < 1e-5);
        ck_assert_int_eq(result.n_top, 20);
        /* top 20 by the reference: count how many reference values beat each one. */
        for (int i = 0; i < 20; i++) {
            int32_t token = result.top[i].token;
            ck_assert(fabs(result.top[i].logprob - expected[token]) < 1e-5);
            int better = 0;
            for (int32_t j = 0; j < N_VOCAB; j++) better += expected[j] > expected[token];
            ck_assert_int_eq(better, i);
        }
    }
    sampler_free(s);
}
END_TEST

static void assert_invalid(const sampler_params *params, int32_t n_vocab, const char *needle) {
    sampler *s = NULL;
    ck_assert_int_eq(sampler_create(params, n_vocab, &s), SLLM_ERR_INVALID_SAMPLING);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(sllm_last_error(), needle) != NULL, "'%s' not in '%s'", needle, sllm_last_error());
}

START_TEST(test_invalid_parameters_name_field_and_value) {
    sampler_params params;
#define CHECK_INVALID(field, value, needle) \
    sampler_params_init(&params);           \
    params.field = value;                   \
    assert_invalid(&params, 10, needle)
    CHECK_INVALID(temperature, -0.5f, "temperature = -0.5");
    CHECK_INVALID(temperature, NAN, "temperature = nan");
    CHECK_INVALID(top_p, 2.0f, "top_p = 2");
    CHECK_INVALID(top_p, 0.0f, "top_p = 0");
    CHECK_INVALID(min_p, 1.5f, "min_p = 1.5");
    CHECK_INVALID(min_p, -0.1f, "min_p = -0.1");
    CHECK_INVALID(top_k, -1, "top_k = -1");
    CHECK_INVALID(presence_penalty, NAN, "presence_penalty = nan");
    CHECK_INVALID(frequency_penalty, INFINITY, "frequency_penalty = inf");
    CHECK_INVALID(repetition_penalty, 0.0f, "repetition_penalty = 0");
    CHECK_INVALID(repetition_penalty, NAN, "repetition_penalty = nan");
    CHECK_INVALID(top_logprobs, 21, "top_logprobs = 21");
    CHECK_INVALID(penalty_last_n, -2, "penalty_last_n = -2");
#undef CHECK_INVALID
    sampler_logit_bias out_of_range = {10, 1.0f};
    sampler_params_init(&params);
    params.logit_bias = &out_of_range;
    params.n_logit_bias = 1;
    assert_invalid(&params, 10, "token 10");
    sampler_logit_bias nan_bias = {3, NAN};
    params.logit_bias = &nan_bias;
    assert_invalid(&params, 10, "logit_bias[3]");
}
END_TEST

START_TEST(test_bad_history_and_logits_are_rejected) {
    sampler_params params;
    sampler_params_init(&params);
    sampler *s = make_sampler(&params, 4);
    float logits[] = {0.0f, 1.0f, 2.0f, 3.0f};
    int32_t history[] = {1, 4};
    sampler_result result;
    ck_assert_int_eq(sampler_sample(s, logits, history, 2, &result), SLLM_ERR_INVALID_TOKEN);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "history[1] = 4"));
    logits[2] = NAN;
    ck_assert_int_eq(sampler_sample(s, logits, NULL, 0, &result), SLLM_ERR_INVALID_SAMPLING);
    sampler_free(s);
}
END_TEST

static Suite *sampler_suite(void) {
    Suite *suite = suite_create("sampler");
    TCase *tc = tcase_create("sampler");
    tcase_add_test(tc, test_generator_matches_reference_outputs);
    tcase_add_test(tc, test_greedy_is_argmax_with_lowest_id_on_ties);
    tcase_add_test(tc, test_temperature_sampling_matches_reference_counts);
    tcase_add_test(tc, test_top_k_keeps_exact_set);
    tcase_add_test(tc, test_top_k_on_large_vocabulary_stays_in_true_top_k);
    tcase_add_test(tc, test_top_p_keeps_smallest_reaching_set);
    tcase_add_test(tc, test_min_p_keeps_tokens_above_fraction_of_max);
    tcase_add_test(tc, test_penalties_have_exact_values);
    tcase_add_test(tc, test_logit_bias_bans_token);
    tcase_add_test(tc, test_same_seed_same_tokens_different_seed_differs);
    tcase_add_test(tc, test_logprobs_are_pre_truncation_log_softmax);
    tcase_add_test(tc, test_invalid_parameters_name_field_and_value);
    tcase_add_test(tc, test_bad_history_and_logits_are_rejected);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return testutil_run_suite(sampler_suite()) == 0 ? 0 : 1; }
