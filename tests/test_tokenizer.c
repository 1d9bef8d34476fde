/* Tokenizer behaviour: special tokens, round trips, edge-case input, buffers, errors and the
 * streaming decoder. Expected ids come from llama.cpp's reference files or from reading the
 * vocabularies by hand (tokenizer.ggml.tokens / merges), never from this code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/gguf.h"
#include "statelessllm.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static sllm_model *load_vocab(const char *relative) {
    char buf[1024];
    const char *path = testutil_data_path(relative, buf, sizeof buf);
    if (path == NULL) return NULL;
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.metadata_only = 1;
    sllm_model *model = NULL;
    ck_assert_msg(sllm_model_load(path, &params, &model) == SLLM_OK, "%s", sllm_last_error());
    return model;
}

static sllm_model *load_spm(void) { return load_vocab("vocab/ggml-vocab-llama-spm.gguf"); }
static sllm_model *load_gpt2(void) { return load_vocab("vocab/ggml-vocab-gpt-2.gguf"); }

static sllm_model *load_smollm(void) {
    char buf[1024];
    const char *path = testutil_smollm_path(buf, sizeof buf);
    if (path == NULL) return NULL;
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.metadata_only = 1;
    sllm_model *model = NULL;
    ck_assert_msg(sllm_model_load(path, &params, &model) == SLLM_OK, "%s", sllm_last_error());
    return model;
}

/* Tokenizes into a malloc'd array. */
static int32_t *tokenize(const sllm_model *model, const char *text, size_t len, uint32_t flags, size_t *n) {
    sllm_status status = sllm_tokenize(model, text, len, flags, NULL, 0, n);
    ck_assert_msg(status == SLLM_OK || status == SLLM_ERR_BUFFER_TOO_SMALL, "%s", sllm_last_error());
    int32_t *ids = malloc((*n ? *n : 1) * sizeof *ids);
    size_t again = 0;
    ck_assert_msg(sllm_tokenize(model, text, len, flags, ids, *n, &again) == SLLM_OK, "%s", sllm_last_error());
    ck_assert_uint_eq(again, *n);
    return ids;
}

static char *detokenize(const sllm_model *model, const int32_t *ids, size_t n, uint32_t flags, size_t *len) {
    sllm_status status = sllm_detokenize(model, ids, n, flags, NULL, 0, len);
    ck_assert_msg(status == SLLM_OK || status == SLLM_ERR_BUFFER_TOO_SMALL, "%s", sllm_last_error());
    char *text = malloc(*len + 1);
    size_t again = 0;
    ck_assert_msg(sllm_detokenize(model, ids, n, flags, text, *len, &again) == SLLM_OK, "%s", sllm_last_error());
    ck_assert_uint_eq(again, *len);
    text[*len] = 0;
    return text;
}

static void assert_ids(const sllm_model *model, const char *text, size_t len, uint32_t flags,
                       const int32_t *expected, size_t n_expected) {
    size_t n = 0;
    int32_t *ids = tokenize(model, text, len, flags, &n);
    ck_assert_msg(n == n_expected, "'%s': %zu tokens, expected %zu", text, n, n_expected);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ids[i] == expected[i], "'%s': token %zu is %d, expected %d", text, i, ids[i], expected[i]);
    free(ids);
}

static void assert_round_trip(const sllm_model *model, const char *text, size_t len) {
    size_t n = 0, out_len = 0;
    int32_t *ids = tokenize(model, text, len, 0, &n);
    char *back = detokenize(model, ids, n, 0, &out_len);
    ck_assert_msg(out_len == len && memcmp(back, text, len) == 0, "round trip of %zu bytes gave %zu bytes",
                  len, out_len);
    free(ids);
    free(back);
}

/* ---- special tokens (SmolLM2: <|im_start|> = 1, <|im_end|> = 2; vocab read by hand) ----- */

START_TEST(test_im_start_is_one_token_with_parse_special) {
    sllm_model *model = load_smollm();
    if (model == NULL) return;
    const int32_t expected[] = { 1 };
    assert_ids(model, "<|im_start|>", 12, SLLM_TOKENIZE_PARSE_SPECIAL, expected, 1);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_im_start_is_plain_text_without_parse_special) {
    sllm_model *model = load_smollm();
    if (model == NULL) return;
    /* Pieces "<|" "im" "_" "start" "|>"; merges have neither "< |" nor "| >":
     * '<' 44, '|' 108, "im" 306, '_' 79, "start" 3738, '>' 46. */
    const int32_t expected[] = { 44, 108, 306, 79, 3738, 108, 46 };
    assert_ids(model, "<|im_start|>", 12, 0, expected, 7);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_chat_turn_splits_around_control_tokens) {
    sllm_model *model = load_smollm();
    if (model == NULL) return;
    /* "user" 4093, "\n" (Ċ) 198, "Hello" 19556. */
    const char *text = "<|im_start|>user\nHello<|im_end|>";
    const int32_t expected[] = { 1, 4093, 198, 19556, 2 };
    assert_ids(model, text, strlen(text), SLLM_TOKENIZE_PARSE_SPECIAL, expected, 5);
    /* SmolLM2 says add_bos_token = false: ADD_SPECIAL adds nothing. */
    assert_ids(model, text, strlen(text), SLLM_TOKENIZE_PARSE_SPECIAL | SLLM_TOKENIZE_ADD_SPECIAL, expected, 5);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_smollm_special_ids_and_end_of_generation) {
    sllm_model *model = load_smollm();
    if (model == NULL) return;
    ck_assert_int_eq(sllm_vocab_size(model), 49152);
    ck_assert_int_eq(sllm_token_bos(model), 1);
    ck_assert_int_eq(sllm_token_eos(model), 2);
    ck_assert_int_eq(sllm_token_eot(model), 2);    /* <|im_end|> */
    ck_assert_int_eq(sllm_token_is_eog(model, 2), 1);
    ck_assert_int_eq(sllm_token_is_eog(model, 0), 1); /* <|endoftext|> */
    ck_assert_int_eq(sllm_token_is_eog(model, 1), 0);
    ck_assert_int_eq(sllm_token_is_eog(model, 19556), 0);
    ck_assert_int_eq(sllm_token_is_eog(model, -1), 0);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_control_tokens_render_only_when_asked) {
    sllm_model *model = load_smollm();
    if (model == NULL) return;
    const int32_t ids[] = { 1, 4093, 198, 19556, 2 };
    size_t len = 0;
    char *plain = detokenize(model, ids, 5, 0, &len);
    ck_assert_str_eq(plain, "user\nHello");
    free(plain);
    char *shown = detokenize(model, ids, 5, SLLM_DETOKENIZE_RENDER_SPECIAL, &len);
    ck_assert_str_eq(shown, "<|im_start|>user\nHello<|im_end|>");
    free(shown);
    char piece[32];
    size_t n = 0;
    ck_assert_int_eq(sllm_token_piece(model, 1, piece, sizeof piece, &n), SLLM_OK);
    ck_assert_uint_eq(n, 12);
    ck_assert_int_eq(memcmp(piece, "<|im_start|>", 12), 0);
    ck_assert_int_eq(sllm_token_piece(model, 905, piece, sizeof piece, &n), SLLM_OK); /* "Ġworld" */
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(memcmp(piece, " world", 6), 0);
    sllm_model_free(model);
}
END_TEST

/* ---- SentencePiece rules (ids from llama.cpp's ggml-vocab-llama-spm.gguf.out) ----------- */

START_TEST(test_spm_add_special_prepends_bos) {
    sllm_model *model = load_spm();
    if (model == NULL) return;
    const int32_t plain[] = { 15043, 3186 }, with_bos[] = { 1, 15043, 3186 };
    assert_ids(model, "Hello world", 11, 0, plain, 2);
    assert_ids(model, "Hello world", 11, SLLM_TOKENIZE_ADD_SPECIAL, with_bos, 3);
    const int32_t only_bos[] = { 1 };
    assert_ids(model, "", 0, SLLM_TOKENIZE_ADD_SPECIAL, only_bos, 1);
    assert_ids(model, "", 0, 0, NULL, 0);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_spm_space_prefix_follows_parsed_special_token) {
    sllm_model *model = load_spm();
    if (model == NULL) return;
    /* llama.cpp prefixes a space to text that follows a special token: "<s>" 1, "▁Hello" 15043. */
    const int32_t expected[] = { 1, 15043 };
    assert_ids(model, "<s>Hello", 8, SLLM_TOKENIZE_PARSE_SPECIAL, expected, 2);
    size_t n = 0;
    int32_t *ids = tokenize(model, "<s>Hello", 8, 0, &n);
    ck_assert_uint_gt(n, 2);
    for (size_t i = 0; i < n; i++) ck_assert_int_ne(ids[i], 1);
    free(ids);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_spm_detokenize_drops_only_the_prefix_space) {
    sllm_model *model = load_spm();
    if (model == NULL) return;
    size_t len = 0;
    const int32_t hello[] = { 15043, 3186 }, bos_hello[] = { 1, 15043 }, spaced[] = { 29871, 15043 };
    char *text = detokenize(model, hello, 2, 0, &len);
    ck_assert_str_eq(text, "Hello world");
    free(text);
    text = detokenize(model, hello, 2, SLLM_DETOKENIZE_KEEP_LEADING_SPACE, &len);
    ck_assert_str_eq(text, " Hello world");
    free(text);
    text = detokenize(model, bos_hello, 2, 0, &len);
    ck_assert_str_eq(text, "Hello");
    free(text);
    text = detokenize(model, spaced, 2, 0, &len); /* " Hello" tokenizes to these */
    ck_assert_str_eq(text, " Hello");
    free(text);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_spm_invalid_utf8_falls_back_to_byte_tokens) {
    sllm_model *model = load_spm();
    if (model == NULL) return;
    /* "▁" 29871 then <0xFF> (id 3 + 0xFF = 258): 0xFF is no character. */
    const int32_t expected[] = { 29871, 258 };
    assert_ids(model, "\xff", 1, 0, expected, 2);
    assert_round_trip(model, "a\xff\xfe\xc3" "b \xe2\x82", 9);
    /* As in llama.cpp, a lead byte takes the next bytes into its character whatever they are:
     * "\xc3 " escapes to c3 e2 96 81, split as "\xc3\xe2" "\x96" "\x81", all byte tokens
     * (<0xNN> is id 3 + NN), so that space comes back as the bytes of U+2581. */
    const int32_t glued[] = { 29871, 3 + 0xC3, 3 + 0xE2, 3 + 0x96, 3 + 0x81 };
    assert_ids(model, "\xc3 ", 2, 0, glued, 5);
    char piece[8];
    size_t n = 0;
    ck_assert_int_eq(sllm_token_piece(model, 3 + 0x41, piece, sizeof piece, &n), SLLM_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(piece[0], 'A');
    sllm_model_free(model);
}
END_TEST

/* ---- round trips and edge-case input ---------------------------------------------------- */

static void round_trip_war_and_peace(sllm_model *model) {
    char buf[1024];
    const char *path = testutil_data_path("text/war-and-peace.txt", buf, sizeof buf);
    if (path == NULL) return;
    size_t size = 0;
    char *text = (char *)testutil_read_file(path, &size);
    ck_assert_ptr_nonnull(text);
    if (UNDER_ASAN && size > 200000) size = 200000; /* keep the sanitized run short */
    assert_round_trip(model, text, size);
    free(text);
}

START_TEST(test_war_and_peace_round_trips_with_spm) {
    sllm_model *model = load_spm();
    if (model == NULL) return;
    round_trip_war_and_peace(model);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_war_and_peace_round_trips_with_gpt2) {
    sllm_model *model = load_gpt2();
    if (model == NULL) return;
    round_trip_war_and_peace(model);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_war_and_peace_round_trips_with_smollm) {
    sllm_model *model = load_smollm();
    if (model == NULL) return;
    round_trip_war_and_peace(model);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_odd_input_round_trips_in_every_vocabulary) {
    sllm_model *models[3] = { load_spm(), load_gpt2(), load_smollm() };
    static const char nul_text[] = "a\0b\0\0c";
    static const char invalid[] = "\xff\xfe\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 ok \xe2\x82";
    size_t big = 1 << 20;
    char *one_char = malloc(big), *spaces = malloc(big);
    memset(one_char, 'a', big);
    memset(spaces, ' ', big);
    for (int m = 0; m < 3; m++) {
        if (models[m] == NULL) continue;
        assert_round_trip(models[m], nul_text, sizeof nul_text - 1);
        if (m < 2) assert_round_trip(models[m], invalid, sizeof invalid - 1);
        assert_round_trip(models[m], one_char, big);
        assert_round_trip(models[m], spaces, big);
        assert_round_trip(models[m], "\xf0\x9f\xa6\x99 \xe4\xbd\xa0\xe5\xa5\xbd\n\t\r\n", 14);
        size_t n = 7;
        ck_assert_int_eq(sllm_tokenize(models[m], NULL, 0, 0, NULL, 0, &n), SLLM_OK);
        ck_assert_uint_eq(n, 0);
        sllm_model_free(models[m]);
    }
    free(one_char);
    free(spaces);
}
END_TEST

START_TEST(test_bytes_without_a_token_are_dropped) {
    sllm_model *model = load_smollm();
    if (model == NULL) return;
    /* SmolLM2's vocabulary has no byte token for 0xFF or 0xC0 (checked by hand against
     * bytes_to_unicode); llama.cpp drops such bytes and so do we. Bytes 0xC2 and 0xAF are the
     * tokens "Â" 141 and "¯" 124, with no merge "Â ¯". */
    const int32_t expected[] = { 141, 124 };
    assert_ids(model, "\xff\xc0", 2, 0, NULL, 0);
    assert_ids(model, "\xff\xc2\xaf", 3, 0, expected, 2);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_gpt2_maps_every_byte) {
    sllm_model *model = load_gpt2();
    if (model == NULL) return;
    /* GPT-2's byte tokens are ids 0..255 in bytes_to_unicode order: '!' is 0, and byte 0x00
     * (U+0100 'Ā') is 188, the first of the moved bytes after the 188 printable ones. */
    const int32_t bang[] = { 0 }, nul[] = { 188 };
    assert_ids(model, "!", 1, 0, bang, 1);
    assert_ids(model, "\0", 1, 0, nul, 1);
    sllm_model_free(model);
}
END_TEST

/* ---- buffers and errors ------------------------------------------------------------------ */

START_TEST(test_short_buffers_report_the_needed_size) {
    sllm_model *model = load_spm();
    if (model == NULL) return;
    int32_t ids[4] = { -7, -7, -7, -7 };
    size_t n = 0;
    ck_assert_int_eq(sllm_tokenize(model, "Hello world", 11, 0, NULL, 0, &n), SLLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(sllm_tokenize(model, "Hello world", 11, 0, ids, 1, &n), SLLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(sllm_tokenize(model, "Hello world", 11, 0, ids, 2, &n), SLLM_OK);
    ck_assert_int_eq(ids[1], 3186);
    char text[16];
    size_t len = 0;
    ck_assert_int_eq(sllm_detokenize(model, ids, 2, 0, text, 5, &len), SLLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, 11);
    ck_assert_int_eq(sllm_token_piece(model, 15043, NULL, 0, &len), SLLM_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, 6);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_bad_arguments_and_ids_are_rejected) {
    sllm_model *model = load_spm();
    if (model == NULL) return;
    size_t n = 0;
    int32_t ids[2] = { 15043, 32000 };
    char text[64];
    ck_assert_int_eq(sllm_tokenize(NULL, "a", 1, 0, NULL, 0, &n), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(sllm_tokenize(model, NULL, 1, 0, NULL, 0, &n), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(sllm_tokenize(model, "a", 1, 0, NULL, 0, NULL), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(sllm_tokenize(model, "a", 1, 8, NULL, 0, &n), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(sllm_detokenize(model, ids, 2, 0, text, sizeof text, &n), SLLM_ERR_INVALID_TOKEN);
    ids[1] = -1;
    ck_assert_int_eq(sllm_detokenize(model, ids, 2, 0, text, sizeof text, &n), SLLM_ERR_INVALID_TOKEN);
    ck_assert_int_eq(sllm_token_piece(model, 32000, text, sizeof text, &n), SLLM_ERR_INVALID_TOKEN);
    ck_assert_int_eq(sllm_detokenize(NULL, ids, 1, 0, text, sizeof text, &n), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(sllm_token_bos(NULL), -1);
    ck_assert_int_eq(sllm_vocab_size(NULL), 0);
    ck_assert_int_eq(sllm_token_eot(model), -1);
    sllm_model_free(model);
}
END_TEST

/* Writes a GGUF with the given tokenizer.ggml.model (NULL: none) and bos id to a temp file. */
static void write_vocab_file(char *path, size_t cap, const char *model_name, int bos) {
    gguf_writer *writer = NULL;
    ck_assert_int_eq(gguf_writer_create(&writer), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_string(writer, "general.architecture", "llama"), SLLM_OK);
    if (model_name) {
        const char *tokens[] = { "<unk>", "<s>", "</s>", "a", "b", "ab" };
        ck_assert_int_eq(gguf_writer_add_string(writer, "tokenizer.ggml.model", model_name), SLLM_OK);
        ck_assert_int_eq(gguf_writer_add_string_array(writer, "tokenizer.ggml.tokens", tokens, 6), SLLM_OK);
        ck_assert_int_eq(gguf_writer_add_u32(writer, "tokenizer.ggml.bos_token_id", (uint32_t)bos), SLLM_OK);
    }
    testutil_temp_path(path, cap, ".gguf");
    ck_assert_int_eq(gguf_writer_to_file(writer, path), SLLM_OK);
    gguf_writer_free(writer);
}

START_TEST(test_model_without_tokenizer_reports_unsupported_tokenizer) {
    char path[512];
    write_vocab_file(path, sizeof path, NULL, 0);
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.metadata_only = 1;
    sllm_model *model = NULL;
    ck_assert_int_eq(sllm_model_load(path, &params, &model), SLLM_OK);
    size_t n = 0;
    ck_assert_int_eq(sllm_tokenize(model, "a", 1, 0, NULL, 0, &n), SLLM_ERR_UNSUPPORTED_TOKENIZER);
    ck_assert_int_eq(sllm_vocab_size(model), 0);
    ck_assert_int_eq(sllm_token_eos(model), -1);
    sllm_model_free(model);
    remove(path);
}
END_TEST

static sllm_status load_tokenizer_from(const char *path, struct tokenizer **tok) {
    gguf_file *gguf = NULL;
    ck_assert_int_eq(gguf_open(path, &gguf), SLLM_OK);
    sllm_status status = tokenizer_load(gguf, tok);
    tokenizer_free(*tok);
    gguf_close(gguf);
    return status;
}

START_TEST(test_unknown_tokenizer_model_is_named_in_the_error) {
    char path[512];
    write_vocab_file(path, sizeof path, "bert", 1);
    struct tokenizer *tok = NULL;
    ck_assert_int_eq(load_tokenizer_from(path, &tok), SLLM_ERR_UNSUPPORTED_TOKENIZER);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "'bert'"));
    remove(path);
}
END_TEST

START_TEST(test_out_of_range_bos_id_is_rejected) {
    char path[512];
    write_vocab_file(path, sizeof path, "llama", 6);
    struct tokenizer *tok = NULL;
    ck_assert_int_eq(load_tokenizer_from(path, &tok), SLLM_ERR_INVALID_MODEL);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "bos_token_id"));
    remove(path);
}
END_TEST

/* ---- streaming decoder ---------------------------------------------------------------------- */

START_TEST(test_stream_holds_back_partial_utf8) {
    char buf[1024];
    const char *path = testutil_data_path("vocab/ggml-vocab-llama-spm.gguf", buf, sizeof buf);
    if (path == NULL) return;
    gguf_file *gguf = NULL;
    ck_assert_int_eq(gguf_open(path, &gguf), SLLM_OK);
    struct tokenizer *tok = NULL;
    ck_assert_int_eq(tokenizer_load(gguf, &tok), SLLM_OK);
    /* From the reference file: " this is 🦙.cpp" -> 29871 445 338 29871 243 162 169 156 29889 8223;
     * 243.. are the byte tokens <0xF0> <0x9F> <0xA6> <0x99>. */
    const int32_t ids[] = { 29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223 };
    const size_t out_after[] = { 1, 6, 9, 10, 10, 10, 10, 14, 15, 18 };
    tok_stream stream;
    tok_stream_init(&stream, tok, false);
    tok_bytes out = { 0 };
    for (size_t i = 0; i < 10; i++) {
        ck_assert_int_eq(tok_stream_push(&stream, ids[i], &out), SLLM_OK);
        ck_assert_msg(out.len == out_after[i], "after token %zu: %zu bytes, expected %zu", i, out.len, out_after[i]);
    }
    ck_assert_int_eq(tok_stream_flush(&stream, &out), SLLM_OK);
    ck_assert_str_eq(out.data, "  this is \xf0\x9f\xa6\x99.cpp");
    /* An unfinished sequence at the end comes out on flush. */
    out.len = 0;
    tok_stream_init(&stream, tok, false);
    ck_assert_int_eq(tok_stream_push(&stream, 243, &out), SLLM_OK);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(tok_stream_push(&stream, 32000, &out), SLLM_ERR_INVALID_TOKEN);
    ck_assert_int_eq(tok_stream_flush(&stream, &out), SLLM_OK);
    ck_assert_uint_eq(out.len, 1);
    ck_assert_int_eq((uint8_t)out.data[0], 0xF0);
    tok_bytes_free(&out);
    tokenizer_free(tok);
    gguf_close(gguf);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("tokenizer");
    TCase *special = tcase_create("special");
    tcase_add_test(special, test_im_start_is_one_token_with_parse_special);
    tcase_add_test(special, test_im_start_is_plain_text_without_parse_special);
    tcase_add_test(special, test_chat_turn_splits_around_control_tokens);
    tcase_add_test(special, test_smollm_special_ids_and_end_of_generation);
    tcase_add_test(special, test_control_tokens_render_only_when_asked);
    suite_add_tcase(suite, special);
    TCase *spm = tcase_create("spm");
    tcase_add_test(spm, test_spm_add_special_prepends_bos);
    tcase_add_test(spm, test_spm_space_prefix_follows_parsed_special_token);
    tcase_add_test(spm, test_spm_detokenize_drops_only_the_prefix_space);
    tcase_add_test(spm, test_spm_invalid_utf8_falls_back_to_byte_tokens);
    suite_add_tcase(suite, spm);
    TCase *trip = tcase_create("round_trip");
    tcase_set_timeout(trip, 300);
    tcase_add_test(trip, test_war_and_peace_round_trips_with_spm);
    tcase_add_test(trip, test_war_and_peace_round_trips_with_gpt2);
    tcase_add_test(trip, test_war_and_peace_round_trips_with_smollm);
    tcase_add_test(trip, test_odd_input_round_trips_in_every_vocabulary);
    tcase_add_test(trip, test_gpt2_maps_every_byte);
    tcase_add_test(trip, test_bytes_without_a_token_are_dropped);
    suite_add_tcase(suite, trip);
    TCase *api = tcase_create("api");
    tcase_add_test(api, test_short_buffers_report_the_needed_size);
    tcase_add_test(api, test_bad_arguments_and_ids_are_rejected);
    tcase_add_test(api, test_model_without_tokenizer_reports_unsupported_tokenizer);
    tcase_add_test(api, test_unknown_tokenizer_model_is_named_in_the_error);
    tcase_add_test(api, test_out_of_range_bos_id_is_rejected);
    tcase_add_test(api, test_stream_holds_back_partial_utf8);
    suite_add_tcase(suite, api);
    return testutil_run_suite(suite) == 0 ? 0 : 1;
}
