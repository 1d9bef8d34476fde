/* OpenAI-style request JSON: every field parsed, every error specific and named. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/request_json.h"
#include "testutil.h"

static void parse_ok(const char *json, request *req) {
    ck_assert_msg(request_parse_json(json, strlen(json), req) == SLLM_OK, "%s", sllm_last_error());
}

static void parse_fails(const char *json, sllm_status expected, const char *needle) {
    request req;
    sllm_status status = request_parse_json(json, strlen(json), &req);
    ck_assert_msg(status == expected, "%s: status %d, expected %d (%s)", json, status, expected, sllm_last_error());
    ck_assert_msg(strstr(sllm_last_error(), needle) != NULL, "'%s' not in '%s'", needle, sllm_last_error());
    ck_assert_ptr_null(req.messages);
    ck_assert_uint_eq(req.n_stop, 0);
    request_free(&req);
}

START_TEST(test_full_request_parses_every_field) {
    const char *json =
        "{\"model\": \"whatever\", \"messages\": ["
        "{\"role\": \"system\", \"content\": \"Be brief.\"},"
        "{\"role\": \"user\", \"content\": \"Hi \\u00e9\"},"
        "{\"role\": \"assistant\", \"content\": \"Hello!\", \"token_ids\": [9906, 0, 2147483647]},"
        "{\"role\": \"tool\", \"content\": \"{}\"}],"
        "\"max_tokens\": 64, \"temperature\": 0.5, \"top_p\": 0.9, \"top_k\": 40, \"min_p\": 0.05,"
        "\"seed\": 1234, \"stop\": [\"\\n\\n\", \"END\"], \"presence_penalty\": 0.5, \"frequency_penalty\": -0.25,"
        "\"repetition_penalty\": 1.1, \"logit_bias\": {\"15\": -100, \"7\": 2.5}, \"logprobs\": true,"
        "\"top_logprobs\": 5, \"n\": 1, \"stream\": true, \"cache_salt\": \"tenant-a\", \"unknown\": [1, 2]}";
    request req;
    parse_ok(json, &req);
    ck_assert_uint_eq(req.n_messages, 4);
    ck_assert_int_eq(req.messages[0].role, CHAT_ROLE_SYSTEM);
    ck_assert_str_eq(req.messages[0].content, "Be brief.");
    ck_assert_uint_eq(req.messages[0].content_len, 9);
    ck_assert_int_eq(req.messages[0].has_token_ids, 0);
    ck_assert_int_eq(req.messages[1].role, CHAT_ROLE_USER);
    ck_assert_str_eq(req.messages[1].content, "Hi \xc3\xa9");
    ck_assert_int_eq(req.messages[2].role, CHAT_ROLE_ASSISTANT);
    ck_assert_int_eq(req.messages[2].has_token_ids, 1);
    ck_assert_uint_eq(req.messages[2].n_token_ids, 3);
    ck_assert_int_eq(req.messages[2].token_ids[0], 9906);
    ck_assert_int_eq(req.messages[2].token_ids[1], 0);
    ck_assert_int_eq(req.messages[2].token_ids[2], 2147483647);
    ck_assert_int_eq(req.messages[3].role, CHAT_ROLE_TOOL);
    ck_assert_int_eq(req.max_tokens, 64);
    ck_assert(req.sampling.temperature == 0.5f);
    ck_assert(req.sampling.top_p == 0.9f);
    ck_assert_int_eq(req.sampling.top_k, 40);
    ck_assert(req.sampling.min_p == 0.05f);
    ck_assert_int_eq(req.has_seed, 1);
    ck_assert_uint_eq(req.sampling.seed, 1234);
    ck_assert_uint_eq(req.n_stop, 2);
    ck_assert_str_eq(req.stop[0], "\n\n");
    ck_assert_uint_eq(req.stop_len[0], 2);
    ck_assert_str_eq(req.stop[1], "END");
    ck_assert(req.sampling.presence_penalty == 0.5f);
    ck_assert(req.sampling.frequency_penalty == -0.25f);
    ck_assert(req.sampling.repetition_penalty == 1.1f);
    ck_assert_uint_eq(req.sampling.n_logit_bias, 2);
    ck_assert_ptr_eq(req.sampling.logit_bias, req.logit_bias);
    for (size_t i = 0; i < 2; i++) {
        if (req.logit_bias[i].token == 15) ck_assert(isinf(req.logit_bias[i].bias) && req.logit_bias[i].bias < 0);
        else ck_assert(req.logit_bias[i].token == 7 && req.logit_bias[i].bias == 2.5f);
    }
    ck_assert_int_eq(req.sampling.logprobs, 1);
    ck_assert_int_eq(req.sampling.top_logprobs, 5);
    ck_assert_int_eq(req.stream, 1);
    ck_assert_str_eq(req.cache_salt, "tenant-a");
    ck_assert_uint_eq(req.cache_salt_len, 8);
    request_free(&req);
    ck_assert_ptr_null(req.messages);
}
END_TEST

START_TEST(test_minimal_request_gets_defaults) {
    request req;
    parse_ok("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", &req);
    ck_assert_uint_eq(req.n_messages, 1);
    ck_assert_int_eq(req.max_tokens, -1);
    ck_assert(req.sampling.temperature == 1.0f);
    ck_assert(req.sampling.top_p == 1.0f);
    ck_assert_int_eq(req.sampling.top_k, 0);
    ck_assert(req.sampling.repetition_penalty == 1.0f);
    ck_assert_int_eq(req.has_seed, 0);
    ck_assert_uint_eq(req.n_stop, 0);
    ck_assert_ptr_null(req.cache_salt);
    ck_assert_int_eq(req.sampling.logprobs, 0);
    request_free(&req);
}
END_TEST

START_TEST(test_content_parts_are_concatenated) {
    request req;
    parse_ok("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hello, \"},"
             "{\"type\": \"text\", \"text\": \"world\"}]}, {\"role\": \"assistant\", \"content\": null}]}",
             &req);
    ck_assert_str_eq(req.messages[0].content, "Hello, world");
    ck_assert_uint_eq(req.messages[0].content_len, 12);
    ck_assert_str_eq(req.messages[1].content, "");
    ck_assert_uint_eq(req.messages[1].content_len, 0);
    request_free(&req);
}
END_TEST

START_TEST(test_max_completion_tokens_stop_string_and_salt) {
    request req;
    parse_ok("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 5,"
             "\"max_completion_tokens\": 7, \"stop\": \"###\", \"salt\": \"s1\", \"seed\": -1, \"top_k\": null}",
             &req);
    ck_assert_int_eq(req.max_tokens, 7);
    ck_assert_uint_eq(req.n_stop, 1);
    ck_assert_str_eq(req.stop[0], "###");
    ck_assert_str_eq(req.cache_salt, "s1");
    ck_assert_uint_eq(req.sampling.seed, UINT64_MAX);
    request_free(&req);
}
END_TEST

START_TEST(test_malformed_json_reports_line_and_column) {
    parse_fails("{\"messages\": [\n  {\"role\": \"user\",, }\n]}", SLLM_ERR_INVALID_JSON, "line 2, column");
    parse_fails("", SLLM_ERR_INVALID_JSON, "line 1");
    parse_fails("{\"messages\": []", SLLM_ERR_INVALID_JSON, "request JSON");
    parse_fails("{\"messages\": [], \"messages\": []}", SLLM_ERR_INVALID_JSON, "duplicate");
}
END_TEST

START_TEST(test_invalid_utf8_is_its_own_error) {
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": \"ab\xff\"}]}", SLLM_ERR_INVALID_UTF8, "line 1");
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": \"\xed\xa0\x80\"}]}", SLLM_ERR_INVALID_UTF8, "UTF-8");
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": \"\\ud800\"}]}", SLLM_ERR_INVALID_UTF8, "Unicode");
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": \"a\\u0000b\"}]}", SLLM_ERR_INVALID_REQUEST, "line 1");
}
END_TEST

START_TEST(test_wrong_types_name_the_field) {
    parse_fails("[1, 2]", SLLM_ERR_INVALID_REQUEST, "top level");
    parse_fails("{\"messages\": {}}", SLLM_ERR_INVALID_REQUEST, "messages: expected an array");
    parse_fails("{\"messages\": [\"hi\"]}", SLLM_ERR_INVALID_REQUEST, "messages[0]: expected an object");
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"},"
                "{\"role\": \"user\", \"content\": 42}]}",
                SLLM_ERR_INVALID_REQUEST, "messages[2].content: expected a string");
    parse_fails("{\"messages\": [{\"role\": 3, \"content\": \"a\"}]}", SLLM_ERR_INVALID_REQUEST,
                "messages[0].role: expected a string");
    parse_fails("{\"messages\": [{\"role\": \"user\"}]}", SLLM_ERR_INVALID_REQUEST, "messages[0].content: missing");
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}",
                SLLM_ERR_INVALID_REQUEST, "messages[0].content[0].type: 'image_url' is not supported");
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": 1}]}]}",
                SLLM_ERR_INVALID_REQUEST, "messages[0].content[0].text: expected a string");
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": \"a\", \"token_ids\": [1, -2]}]}",
                SLLM_ERR_INVALID_REQUEST, "messages[0].token_ids[1]");
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": \"a\", \"token_ids\": \"1\"}]}",
                SLLM_ERR_INVALID_REQUEST, "messages[0].token_ids: expected an array");
    static const struct { const char *field_json; const char *needle; } fields[] = {
        {"\"temperature\": \"hot\"", "temperature: expected a number"},
        {"\"top_p\": [1]", "top_p: expected a number"},
        {"\"top_k\": 2.5", "top_k: expected an integer"},
        {"\"max_tokens\": 1.5", "max_tokens: expected an integer"},
        {"\"seed\": \"7\"", "seed: expected an integer"},
        {"\"logprobs\": 1", "logprobs: expected true or false"},
        {"\"stream\": \"yes\"", "stream: expected true or false"},
        {"\"stop\": 5", "stop: expected a string or an array"},
        {"\"stop\": [\"a\", 5]", "stop[1]: expected a string"},
        {"\"stop\": \"\"", "stop: empty stop string"},
        {"\"logit_bias\": [1]", "logit_bias: expected an object"},
        {"\"logit_bias\": {\"abc\": 1}", "logit_bias: key 'abc' is not a token id"},
        {"\"logit_bias\": {\"-3\": 1}", "logit_bias: key '-3' is not a token id"},
        {"\"logit_bias\": {\"12\": \"x\"}", "logit_bias[\"12\"]: expected a number"},
        {"\"cache_salt\": 5", "cache_salt: expected a string"},
        {"\"n\": 2", "n = 2: only 1"},
        {"\"max_tokens\": -5", "max_tokens = -5"},
        {"\"max_completion_tokens\": -1", "max_completion_tokens = -1"},
        {"\"stop\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]",
         "stop: 17 strings given, at most 16"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char json[512];
        snprintf(json, sizeof json, "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], %s}",
                 fields[i].field_json);
        parse_fails(json, SLLM_ERR_INVALID_REQUEST, fields[i].needle);
    }
}
END_TEST

START_TEST(test_unknown_role_is_invalid_role) {
    parse_fails("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"narrator\", \"content\": \"b\"}]}",
                SLLM_ERR_INVALID_ROLE, "messages[1].role: unknown role 'narrator'");
}
END_TEST

START_TEST(test_missing_or_empty_messages_are_rejected) {
    parse_fails("{}", SLLM_ERR_INVALID_REQUEST, "messages: missing");
    parse_fails("{\"messages\": null}", SLLM_ERR_INVALID_REQUEST, "messages: missing");
    parse_fails("{\"messages\": []}", SLLM_ERR_INVALID_REQUEST, "messages: empty");
}
END_TEST

START_TEST(test_sampling_values_out_of_range) {
    static const struct { const char *field_json; const char *needle; } fields[] = {
        {"\"top_p\": 2", "top_p = 2"},
        {"\"top_p\": 0", "top_p = 0"},
        {"\"temperature\": -1", "temperature = -1"},
        {"\"min_p\": 1.5", "min_p = 1.5"},
        {"\"top_k\": -1", "top_k = -1"},
        {"\"repetition_penalty\": 0", "repetition_penalty = 0"},
        {"\"top_logprobs\": 21", "top_logprobs = 21"},
        {"\"frequency_penalty\": 1e300", "frequency_penalty = inf"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], %s}",
                 fields[i].field_json);
        parse_fails(json, SLLM_ERR_INVALID_SAMPLING, fields[i].needle);
    }
}
END_TEST

START_TEST(test_null_arguments) {
    request req;
    ck_assert_int_eq(request_parse_json(NULL, 0, &req), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(request_parse_json("{}", 2, NULL), SLLM_ERR_INVALID_ARGUMENT);
    request_free(NULL);
}
END_TEST

static Suite *request_json_suite(void) {
    Suite *suite = suite_create("request_json");
    TCase *tc = tcase_create("request_json");
    tcase_add_test(tc, test_full_request_parses_every_field);
    tcase_add_test(tc, test_minimal_request_gets_defaults);
    tcase_add_test(tc, test_content_parts_are_concatenated);
    tcase_add_test(tc, test_max_completion_tokens_stop_string_and_salt);
    tcase_add_test(tc, test_malformed_json_reports_line_and_column);
    tcase_add_test(tc, test_invalid_utf8_is_its_own_error);
    tcase_add_test(tc, test_wrong_types_name_the_field);
    tcase_add_test(tc, test_unknown_role_is_invalid_role);
    tcase_add_test(tc, test_missing_or_empty_messages_are_rejected);
    tcase_add_test(tc, test_sampling_values_out_of_range);
    tcase_add_test(tc, test_null_arguments);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void) { return testutil_run_suite(request_json_suite()) == 0 ? 0 : 1; }
