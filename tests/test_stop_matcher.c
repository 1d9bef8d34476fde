/* Tests for stop strings in streamed text (lib/engine/stop_matcher). */
#include <check.h>
#include <string.h>

#include "engine/stop_matcher.h"
#include "testutil.h"

/* Feeds chunks one by one and concatenates everything emitted (plus the final flush). */
static void run(const char *const *stops, size_t n_stops, const char *const *chunks,
                size_t n_chunks, char *out, size_t out_cap, int *matched_at_chunk) {
    stop_matcher matcher;
    ck_assert_int_eq(stop_matcher_init(&matcher, stops, n_stops), SLLM_OK);
    size_t out_len = 0;
    *matched_at_chunk = -1;
    for (size_t i = 0; i < n_chunks; i++) {
        const char *emit;
        size_t emit_len;
        bool matched;
        ck_assert_int_eq(stop_matcher_feed(&matcher, chunks[i], strlen(chunks[i]), &emit, &emit_len, &matched), SLLM_OK);
        ck_assert_uint_lt(out_len + emit_len, out_cap);
        memcpy(out + out_len, emit, emit_len);
        out_len += emit_len;
        if (matched) { *matched_at_chunk = (int)i; break; }
    }
    if (*matched_at_chunk < 0) {
        const char *emit;
        size_t emit_len;
        stop_matcher_flush(&matcher, &emit, &emit_len);
        memcpy(out + out_len, emit, emit_len);
        out_len += emit_len;
    }
    out[out_len] = '\0';
    stop_matcher_destroy(&matcher);
}

START_TEST(test_stop_string_split_across_chunks_is_never_emitted) {
    const char *stops[] = { "<END>" };
    const char *chunks[] = { "Hello <", "EN", "D> more" };
    char out[64];
    int matched_at;
    run(stops, 1, chunks, 3, out, sizeof out, &matched_at);
    ck_assert_str_eq(out, "Hello ");
    ck_assert_int_eq(matched_at, 2);
}
END_TEST

START_TEST(test_held_back_text_is_released_when_it_stops_matching) {
    const char *stops[] = { "<END>" };
    const char *chunks[] = { "a <E", "x b" };
    stop_matcher matcher;
    ck_assert_int_eq(stop_matcher_init(&matcher, stops, 1), SLLM_OK);
    const char *emit;
    size_t emit_len;
    bool matched;
    stop_matcher_feed(&matcher, chunks[0], strlen(chunks[0]), &emit, &emit_len, &matched);
    ck_assert_uint_eq(emit_len, 2); /* "a " shown, "<E" held back */
    ck_assert(memcmp(emit, "a ", 2) == 0);
    stop_matcher_feed(&matcher, chunks[1], strlen(chunks[1]), &emit, &emit_len, &matched);
    ck_assert(!matched);
    ck_assert_uint_eq(emit_len, 5);
    ck_assert(memcmp(emit, "<Ex b", 5) == 0);
    stop_matcher_destroy(&matcher);
}
END_TEST

START_TEST(test_earliest_of_several_stops_wins) {
    const char *stops[] = { "world", "lo w" };
    const char *chunks[] = { "hello world" };
    char out[64];
    int matched_at;
    run(stops, 2, chunks, 1, out, sizeof out, &matched_at);
    ck_assert_str_eq(out, "hel");
    ck_assert_int_eq(matched_at, 0);
}
END_TEST

START_TEST(test_without_stops_everything_passes_through) {
    const char *chunks[] = { "a", "bc", "" };
    char out[64];
    int matched_at;
    run(NULL, 0, chunks, 3, out, sizeof out, &matched_at);
    ck_assert_str_eq(out, "abc");
    ck_assert_int_eq(matched_at, -1);
}
END_TEST

START_TEST(test_partial_stop_at_the_end_is_flushed) {
    const char *stops[] = { "\n\nUser:" };
    const char *chunks[] = { "Bye", "\n\nUs" };
    char out[64];
    int matched_at;
    run(stops, 1, chunks, 2, out, sizeof out, &matched_at);
    ck_assert_str_eq(out, "Bye\n\nUs");
    ck_assert_int_eq(matched_at, -1);
}
END_TEST

START_TEST(test_multibyte_stop_string_matches_whole_characters) {
    const char *stops[] = { "\xC3\xA9t\xC3\xA9" }; /* "été" */
    const char *chunks[] = { "un \xC3\xA9", "t\xC3\xA9 chaud" };
    char out[64];
    int matched_at;
    run(stops, 1, chunks, 2, out, sizeof out, &matched_at);
    ck_assert_str_eq(out, "un ");
}
END_TEST

static Suite *stop_suite(void) {
    Suite *suite = suite_create("stop_matcher");
    TCase *tc = tcase_create("stop");
    tcase_add_test(tc, test_stop_string_split_across_chunks_is_never_emitted);
    tcase_add_test(tc, test_held_back_text_is_released_when_it_stops_matching);
    tcase_add_test(tc, test_earliest_of_several_stops_wins);
    tcase_add_test(tc, test_without_stops_everything_passes_through);
    tcase_add_test(tc, test_partial_stop_at_the_end_is_flushed);
    tcase_add_test(tc, test_multibyte_stop_string_matches_whole_characters);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return testutil_run_suite(stop_suite()) == 0 ? 0 : 1; }
