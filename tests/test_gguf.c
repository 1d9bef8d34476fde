/* GGUF reader on real files, writer round trips and the writer's byte layout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/gguf.h"
#include "testutil.h"

/* Expected values for the real files below were read with a separate ~40-line Python
 * struct-based dumper, run by hand, not with this C parser. */

static gguf_file *open_data(const char *relative) {
    char buf[1024];
    const char *path = testutil_data_path(relative, buf, sizeof buf);
    if (path == NULL) return NULL;
    gguf_file *file = NULL;
    sllm_status status = gguf_open(path, &file);
    ck_assert_msg(status == SLLM_OK, "gguf_open(%s): %s", path, sllm_last_error());
    return file;
}

static int64_t get_int(const gguf_file *file, const char *key) {
    int64_t value = -12345;
    sllm_status status = gguf_get_int(file, key, &value);
    ck_assert_msg(status == SLLM_OK, "%s: %s", key, sllm_last_error());
    return value;
}

static void assert_string(gguf_string str, const char *expected) {
    ck_assert_uint_eq(str.len, strlen(expected));
    ck_assert_mem_eq(str.data, expected, strlen(expected));
}

static void assert_string_kv(const gguf_file *file, const char *key, const char *expected) {
    gguf_string str;
    ck_assert_msg(gguf_get_string(file, key, &str) == SLLM_OK, "%s: %s", key, sllm_last_error());
    assert_string(str, expected);
}

static const gguf_array *get_array(const gguf_file *file, const char *key) {
    const gguf_array *array = NULL;
    ck_assert_msg(gguf_get_array(file, key, &array) == SLLM_OK, "%s: %s", key, sllm_last_error());
    return array;
}

/* ---- real files ------------------------------------------------------------------ */

START_TEST(test_tiny_llama_header_and_hparams) {
    gguf_file *file = open_data("models/llama-2-tiny-random.gguf");
    if (file == NULL) return;
    ck_assert_uint_eq(file->version, 3);
    ck_assert_int_eq(file->n_kv, 18);
    ck_assert_int_eq(file->n_tensors, 12);
    ck_assert_uint_eq(file->alignment, 32);
    ck_assert_uint_eq(file->data_offset, 724416);
    ck_assert_uint_eq(file->file_size, 1750560);
    assert_string_kv(file, "general.architecture", "llama");
    assert_string_kv(file, "general.name", "LLaMA v2");
    ck_assert_int_eq(get_int(file, "llama.context_length"), 4096);
    ck_assert_int_eq(get_int(file, "llama.embedding_length"), 8);
    ck_assert_int_eq(get_int(file, "llama.block_count"), 1);
    ck_assert_int_eq(get_int(file, "llama.feed_forward_length"), 32);
    ck_assert_int_eq(get_int(file, "llama.attention.head_count"), 2);
    ck_assert_int_eq(get_int(file, "llama.attention.head_count_kv"), 2);
    ck_assert_int_eq(get_int(file, "llama.rope.dimension_count"), 4);
    ck_assert_int_eq(get_int(file, "tokenizer.ggml.bos_token_id"), 1);
    ck_assert_int_eq(get_int(file, "tokenizer.ggml.eos_token_id"), 2);
    ck_assert_int_eq(get_int(file, "tokenizer.ggml.unknown_token_id"), 0);
    double eps = 0;
    ck_assert_int_eq(gguf_get_float(file, "llama.attention.layer_norm_rms_epsilon", &eps), SLLM_OK);
    ck_assert_double_eq(eps, (double)1e-5f);
    /* The kv order of the file is kept. */
    ck_assert_str_eq(file->kv[0].key, "general.architecture");
    ck_assert_str_eq(file->kv[17].key, "tokenizer.ggml.unknown_token_id");
    gguf_close(file);
}
END_TEST

START_TEST(test_tiny_llama_tensors) {
    gguf_file *file = open_data("models/llama-2-tiny-random.gguf");
    if (file == NULL) return;
    const gguf_tensor *embd = gguf_find_tensor(file, "token_embd.weight");
    ck_assert_ptr_nonnull(embd);
    ck_assert_int_eq(gguf_find_tensor_index(file, "token_embd.weight"), 0);
    ck_assert_uint_eq(embd->type, GGML_TYPE_F16);
    ck_assert_uint_eq(embd->n_dims, 2);
    ck_assert_int_eq(embd->dims[0], 8);
    ck_assert_int_eq(embd->dims[1], 32000);
    ck_assert_int_eq(embd->dims[2], 1);
    ck_assert_uint_eq(embd->offset, 0);
    ck_assert_uint_eq(embd->size_bytes, 8 * 32000 * 2);
    ck_assert_ptr_eq(embd->data, file->base + 724416);

    const gguf_tensor *down = gguf_find_tensor(file, "blk.0.ffn_down.weight");
    ck_assert_ptr_nonnull(down);
    ck_assert_int_eq(down->dims[0], 32);
    ck_assert_int_eq(down->dims[1], 8);
    ck_assert_uint_eq(down->offset, 513536);
    const gguf_tensor *norm = gguf_find_tensor(file, "output_norm.weight");
    ck_assert_uint_eq(norm->type, GGML_TYPE_F32);
    ck_assert_uint_eq(norm->n_dims, 1);
    ck_assert_uint_eq(norm->size_bytes, 32);
    ck_assert_int_eq(gguf_find_tensor_index(file, "output.weight"), 11);
    ck_assert_uint_eq(file->tensors[11].offset, 514144);
    ck_assert_ptr_null(gguf_find_tensor(file, "output.weigh"));
    ck_assert_int_eq(gguf_find_tensor_index(file, "nope"), -1);
    gguf_close(file);
}
END_TEST

START_TEST(test_tiny_llama_vocabulary_arrays) {
    gguf_file *file = open_data("models/llama-2-tiny-random.gguf");
    if (file == NULL) return;
    const gguf_array *tokens = get_array(file, "tokenizer.ggml.tokens");
    ck_assert_int_eq(tokens->elem_type, GGUF_TYPE_STRING);
    ck_assert_uint_eq(tokens->count, 32000);
    assert_string(tokens->strings[0], "<unk>");
    assert_string(tokens->strings[1], "<s>");
    assert_string(tokens->strings[2], "</s>");
    assert_string(tokens->strings[3], "<0x00>");
    assert_string(tokens->strings[31999], "\xe7\xbb\x99");
    const gguf_array *scores = get_array(file, "tokenizer.ggml.scores");
    ck_assert_int_eq(scores->elem_type, GGUF_TYPE_FLOAT32);
    ck_assert_double_eq(gguf_array_get_float(scores, 0), 0.0);
    ck_assert_double_eq(gguf_array_get_float(scores, 31998), -31739.0);
    ck_assert_double_eq(gguf_array_get_float(scores, 31999), -31740.0);
    const gguf_array *types = get_array(file, "tokenizer.ggml.token_type");
    ck_assert_int_eq(types->elem_type, GGUF_TYPE_INT32);
    ck_assert_int_eq(gguf_array_get_int(types, 0), 2);
    ck_assert_int_eq(gguf_array_get_int(types, 1), 3);
    ck_assert_int_eq(gguf_array_get_int(types, 3), 6);
    ck_assert_int_eq(gguf_array_get_int(types, 31999), 1);
    gguf_close(file);
}
END_TEST

START_TEST(test_llama_spm_vocab_file) {
    gguf_file *file = open_data("vocab/ggml-vocab-llama-spm.gguf");
    if (file == NULL) return;
    ck_assert_int_eq(file->n_tensors, 0);
    ck_assert_int_eq(file->n_kv, 22);
    assert_string_kv(file, "general.name", "llama-spm");
    assert_string_kv(file, "tokenizer.ggml.model", "llama");
    assert_string_kv(file, "tokenizer.ggml.pre", "default");
    const gguf_array *tokens = get_array(file, "tokenizer.ggml.tokens");
    ck_assert_uint_eq(tokens->count, 32000);
    assert_string(tokens->strings[13], "<0x0A>");
    assert_string(tokens->strings[259], "\xe2\x96\x81\xe2\x96\x81");
    assert_string(tokens->strings[29871], "\xe2\x96\x81");
    assert_string(tokens->strings[31999], "\xe7\xbb\x99");
    bool add_bos = false, add_eos = true;
    ck_assert_int_eq(gguf_get_bool(file, "tokenizer.ggml.add_bos_token", &add_bos), SLLM_OK);
    ck_assert_int_eq(gguf_get_bool(file, "tokenizer.ggml.add_eos_token", &add_eos), SLLM_OK);
    ck_assert(add_bos);
    ck_assert(!add_eos);
    ck_assert_int_eq(get_int(file, "llama.vocab_size"), 32000);
    gguf_close(file);
}
END_TEST

START_TEST(test_gpt2_vocab_file) {
    gguf_file *file = open_data("vocab/ggml-vocab-gpt-2.gguf");
    if (file == NULL) return;
    ck_assert_int_eq(file->n_tensors, 0);
    ck_assert_int_eq(file->n_kv, 16);
    assert_string_kv(file, "general.name", "gpt-2");
    assert_string_kv(file, "general.architecture", "gpt2");
    assert_string_kv(file, "tokenizer.ggml.pre", "gpt-2");
    const gguf_array *tokens = get_array(file, "tokenizer.ggml.tokens");
    ck_assert_uint_eq(tokens->count, 50257);
    assert_string(tokens->strings[0], "!");
    assert_string(tokens->strings[1], "\"");
    assert_string(tokens->strings[198], "\xc4\x8a");
    assert_string(tokens->strings[50255], "\xc4\xa0gazed");
    assert_string(tokens->strings[50256], "<|endoftext|>");
    const gguf_array *merges = get_array(file, "tokenizer.ggml.merges");
    ck_assert_uint_eq(merges->count, 50000);
    assert_string(merges->strings[0], "\xc4\xa0 t");
    assert_string(merges->strings[2], "h e");
    assert_string(merges->strings[49999], "\xc4\xa0g azed");
    ck_assert_int_eq(get_int(file, "tokenizer.ggml.bos_token_id"), 50256);
    ck_assert_int_eq(get_int(file, "tokenizer.ggml.eos_token_id"), 50256);
    gguf_close(file);
}
END_TEST

START_TEST(test_smollm_q4_1_model) {
    char buf[1024];
    const char *path = testutil_smollm_path(buf, sizeof buf);
    if (path == NULL) return;
    gguf_file *file = NULL;
    ck_assert_msg(gguf_open(path, &file) == SLLM_OK, "%s", sllm_last_error());
    ck_assert_int_eq(file->n_tensors, 272);
    ck_assert_uint_eq(file->file_size, 98362432);
    ck_assert_int_eq(get_int(file, "llama.embedding_length"), 576);
    ck_assert_int_eq(get_int(file, "llama.block_count"), 30);
    ck_assert_uint_eq(get_array(file, "tokenizer.ggml.tokens")->count, 49152);
    const gguf_tensor *q = gguf_find_tensor(file, "blk.0.attn_q.weight");
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_eq(q->type, GGML_TYPE_Q4_1);
    ck_assert_int_eq(q->dims[0], 576);
    ck_assert_int_eq(q->dims[1], 576);
    ck_assert_uint_eq(q->size_bytes, 576 / 32 * 20 * 576);
    gguf_close(file);
}
END_TEST

/* ---- getters ---------------------------------------------------------------------- */

START_TEST(test_getters_report_not_found_and_type_mismatch) {
    gguf_file *file = open_data("models/llama-2-tiny-random.gguf");
    if (file == NULL) return;
    int64_t i = 0;
    double f = 0;
    bool b = false;
    gguf_string s;
    const gguf_array *a;
    ck_assert_int_eq(gguf_get_int(file, "no.such.key", &i), SLLM_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "no.such.key"));
    ck_assert_int_eq(gguf_get_int(file, "general.name", &i), SLLM_ERR_TYPE_MISMATCH);
    ck_assert_int_eq(gguf_get_float(file, "general.name", &f), SLLM_ERR_TYPE_MISMATCH);
    ck_assert_int_eq(gguf_get_bool(file, "llama.block_count", &b), SLLM_ERR_TYPE_MISMATCH);
    ck_assert_int_eq(gguf_get_string(file, "llama.block_count", &s), SLLM_ERR_TYPE_MISMATCH);
    ck_assert_int_eq(gguf_get_array(file, "general.name", &a), SLLM_ERR_TYPE_MISMATCH);
    ck_assert_int_eq(gguf_get_int(file, "tokenizer.ggml.tokens", &i), SLLM_ERR_TYPE_MISMATCH);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "ARRAY"));
    /* Integers widen to double. */
    ck_assert_int_eq(gguf_get_float(file, "llama.block_count", &f), SLLM_OK);
    ck_assert_double_eq(f, 1.0);
    ck_assert_ptr_null(gguf_find_kv(file, "general"));
    ck_assert_ptr_null(gguf_find_kv(file, NULL));
    gguf_close(file);
}
END_TEST

START_TEST(test_open_reports_io_errors) {
    gguf_file *file = NULL;
    ck_assert_int_eq(gguf_open("/nonexistent/dir/model.gguf", &file), SLLM_ERR_IO);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "/nonexistent/dir/model.gguf"));
    ck_assert_int_eq(gguf_open("/tmp", &file), SLLM_ERR_IO);
    char path[256];
    testutil_temp_path(path, sizeof path, ".gguf");
    ck_assert_int_eq(gguf_open(path, &file), SLLM_ERR_BAD_MAGIC); /* empty file */
    unlink(path);
    ck_assert_ptr_null(file);
    ck_assert_int_eq(gguf_open(NULL, &file), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_parse(NULL, 10, &file), SLLM_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- writer ------------------------------------------------------------------------ */

static gguf_file *round_trip(const gguf_writer *writer, uint8_t **bytes) {
    uint64_t size = 0;
    ck_assert_int_eq(gguf_writer_to_buffer(writer, bytes, &size), SLLM_OK);
    gguf_file *file = NULL;
    sllm_status status = gguf_parse(*bytes, size, &file);
    ck_assert_msg(status == SLLM_OK, "%s", sllm_last_error());
    ck_assert_uint_eq(file->file_size, size);
    return file;
}

static void add_scalar(gguf_writer *writer, const char *key, gguf_value value) {
    ck_assert_msg(gguf_writer_add(writer, key, &value) == SLLM_OK, "%s: %s", key, sllm_last_error());
}

static const gguf_value *value_of(const gguf_file *file, const char *key, gguf_type type) {
    const gguf_kv *kv = gguf_find_kv(file, key);
    ck_assert_msg(kv != NULL, "%s missing", key);
    ck_assert_int_eq(kv->value.type, type);
    return &kv->value;
}

START_TEST(test_writer_round_trips_every_scalar_type) {
    gguf_writer *writer = NULL;
    ck_assert_int_eq(gguf_writer_create(&writer), SLLM_OK);
    add_scalar(writer, "u8", (gguf_value){ .type = GGUF_TYPE_UINT8, .as.u64 = 255 });
    add_scalar(writer, "i8", (gguf_value){ .type = GGUF_TYPE_INT8, .as.i64 = -128 });
    add_scalar(writer, "u16", (gguf_value){ .type = GGUF_TYPE_UINT16, .as.u64 = 65535 });
    add_scalar(writer, "i16", (gguf_value){ .type = GGUF_TYPE_INT16, .as.i64 = -32768 });
    add_scalar(writer, "u32", (gguf_value){ .type = GGUF_TYPE_UINT32, .as.u64 = 4294967295u });
    add_scalar(writer, "i32", (gguf_value){ .type = GGUF_TYPE_INT32, .as.i64 = INT32_MIN });
    add_scalar(writer, "u64", (gguf_value){ .type = GGUF_TYPE_UINT64, .as.u64 = UINT64_MAX });
    add_scalar(writer, "i64", (gguf_value){ .type = GGUF_TYPE_INT64, .as.i64 = INT64_MIN });
    add_scalar(writer, "f32", (gguf_value){ .type = GGUF_TYPE_FLOAT32, .as.f64 = -1.5 });
    add_scalar(writer, "f64", (gguf_value){ .type = GGUF_TYPE_FLOAT64, .as.f64 = 0.1 });
    add_scalar(writer, "bool.t", (gguf_value){ .type = GGUF_TYPE_BOOL, .as.b = true });
    add_scalar(writer, "bool.f", (gguf_value){ .type = GGUF_TYPE_BOOL, .as.b = false });
    static const char with_nul[] = "a\0b\xff";
    add_scalar(writer, "str.nul", (gguf_value){ .type = GGUF_TYPE_STRING, .as.str = { with_nul, 4 } });
    add_scalar(writer, "str.empty", (gguf_value){ .type = GGUF_TYPE_STRING, .as.str = { NULL, 0 } });
    ck_assert_int_eq(gguf_writer_add_u32(writer, "h.u32", 7), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_i32(writer, "h.i32", -7), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_f32(writer, "h.f32", 0.25f), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_bool(writer, "h.bool", true), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_string(writer, "h.str", "héllo"), SLLM_OK);

    uint8_t *bytes = NULL;
    gguf_file *file = round_trip(writer, &bytes);
    gguf_writer_free(writer);
    ck_assert_uint_eq(file->version, 3);
    ck_assert_int_eq(file->n_kv, 19);
    ck_assert_uint_eq(value_of(file, "u8", GGUF_TYPE_UINT8)->as.u64, 255);
    ck_assert_int_eq(value_of(file, "i8", GGUF_TYPE_INT8)->as.i64, -128);
    ck_assert_uint_eq(value_of(file, "u16", GGUF_TYPE_UINT16)->as.u64, 65535);
    ck_assert_int_eq(value_of(file, "i16", GGUF_TYPE_INT16)->as.i64, -32768);
    ck_assert_uint_eq(value_of(file, "u32", GGUF_TYPE_UINT32)->as.u64, 4294967295u);
    ck_assert_int_eq(value_of(file, "i32", GGUF_TYPE_INT32)->as.i64, INT32_MIN);
    ck_assert_uint_eq(value_of(file, "u64", GGUF_TYPE_UINT64)->as.u64, UINT64_MAX);
    ck_assert_int_eq(value_of(file, "i64", GGUF_TYPE_INT64)->as.i64, INT64_MIN);
    ck_assert_double_eq(value_of(file, "f32", GGUF_TYPE_FLOAT32)->as.f64, -1.5);
    ck_assert_double_eq(value_of(file, "f64", GGUF_TYPE_FLOAT64)->as.f64, 0.1);
    ck_assert(value_of(file, "bool.t", GGUF_TYPE_BOOL)->as.b);
    ck_assert(!value_of(file, "bool.f", GGUF_TYPE_BOOL)->as.b);
    gguf_string nul = value_of(file, "str.nul", GGUF_TYPE_STRING)->as.str;
    ck_assert_uint_eq(nul.len, 4);
    ck_assert_mem_eq(nul.data, with_nul, 4);
    ck_assert_uint_eq(value_of(file, "str.empty", GGUF_TYPE_STRING)->as.str.len, 0);
    ck_assert_int_eq(get_int(file, "h.u32"), 7);
    ck_assert_int_eq(get_int(file, "h.i32"), -7);
    ck_assert_double_eq(value_of(file, "h.f32", GGUF_TYPE_FLOAT32)->as.f64, 0.25);
    ck_assert(value_of(file, "h.bool", GGUF_TYPE_BOOL)->as.b);
    assert_string_kv(file, "h.str", "héllo");
    /* u64 beyond int64 is reported, not wrapped. */
    int64_t i = 0;
    ck_assert_int_eq(gguf_get_int(file, "u64", &i), SLLM_ERR_TYPE_MISMATCH);
    gguf_close(file);
    free(bytes);
}
END_TEST

START_TEST(test_writer_round_trips_arrays_of_every_type) {
    gguf_writer *writer = NULL;
    ck_assert_int_eq(gguf_writer_create(&writer), SLLM_OK);
    const uint8_t u8[] = { 0, 1, 255 };
    const int8_t i8[] = { -128, 0, 127 };
    const uint16_t u16[] = { 0, 65535 };
    const int16_t i16[] = { -32768, 32767 };
    const uint32_t u32[] = { 1, 4294967295u };
    const int32_t i32[] = { INT32_MIN, -1, INT32_MAX };
    const uint64_t u64[] = { 0, (uint64_t)1 << 40 };
    const int64_t i64[] = { INT64_MIN, INT64_MAX };
    const float f32[] = { -0.5f, 3.25f };
    const double f64[] = { 1e300, -2.5 };
    const bool bools[] = { true, false, true };
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.u8", GGUF_TYPE_UINT8, u8, 3), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.i8", GGUF_TYPE_INT8, i8, 3), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.u16", GGUF_TYPE_UINT16, u16, 2), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.i16", GGUF_TYPE_INT16, i16, 2), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.u32", GGUF_TYPE_UINT32, u32, 2), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.i32", GGUF_TYPE_INT32, i32, 3), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.u64", GGUF_TYPE_UINT64, u64, 2), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.i64", GGUF_TYPE_INT64, i64, 2), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.f32", GGUF_TYPE_FLOAT32, f32, 2), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.f64", GGUF_TYPE_FLOAT64, f64, 2), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.bool", GGUF_TYPE_BOOL, bools, 3), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_array(writer, "a.empty", GGUF_TYPE_INT32, NULL, 0), SLLM_OK);
    const char *const strings[] = { "", "one", "two words", "ünï" };
    ck_assert_int_eq(gguf_writer_add_string_array(writer, "a.str", strings, 4), SLLM_OK);
    /* [[1, 2], ["x"], [[]]] */
    const int32_t pair[] = { 1, 2 };
    gguf_string x = { "x", 1 };
    gguf_value innermost[1] = { { .type = GGUF_TYPE_ARRAY, .as.arr = { .elem_type = GGUF_TYPE_INT32 } } };
    gguf_value items[3] = {
        { .type = GGUF_TYPE_ARRAY, .as.arr = { .elem_type = GGUF_TYPE_INT32, .count = 2, .raw = (const uint8_t *)pair } },
        { .type = GGUF_TYPE_ARRAY, .as.arr = { .elem_type = GGUF_TYPE_STRING, .count = 1, .strings = &x } },
        { .type = GGUF_TYPE_ARRAY, .as.arr = { .elem_type = GGUF_TYPE_ARRAY, .count = 1, .items = innermost } },
    };
    gguf_value nested = { .type = GGUF_TYPE_ARRAY,
                          .as.arr = { .elem_type = GGUF_TYPE_ARRAY, .count = 3, .items = items } };
    ck_assert_int_eq(gguf_writer_add(writer, "a.nested", &nested), SLLM_OK);
    /* The writer deep-copied: changing the source now must not change the output. */
    items[1].as.arr.count = 0;
    x.data = "y";

    uint8_t *bytes = NULL;
    gguf_file *file = round_trip(writer, &bytes);
    gguf_writer_free(writer);
    const gguf_array *a = get_array(file, "a.u8");
    ck_assert_int_eq(a->elem_type, GGUF_TYPE_UINT8);
    ck_assert_uint_eq(a->count, 3);
    ck_assert_int_eq(gguf_array_get_int(a, 2), 255);
    a = get_array(file, "a.i8");
    ck_assert_int_eq(gguf_array_get_int(a, 0), -128);
    ck_assert_int_eq(gguf_array_get_int(a, 2), 127);
    ck_assert_int_eq(gguf_array_get_int(get_array(file, "a.u16"), 1), 65535);
    ck_assert_int_eq(gguf_array_get_int(get_array(file, "a.i16"), 0), -32768);
    ck_assert_int_eq(gguf_array_get_int(get_array(file, "a.u32"), 1), 4294967295LL);
    a = get_array(file, "a.i32");
    ck_assert_int_eq(gguf_array_get_int(a, 0), INT32_MIN);
    ck_assert_int_eq(gguf_array_get_int(a, 1), -1);
    ck_assert_int_eq(gguf_array_get_int(get_array(file, "a.u64"), 1), (int64_t)1 << 40);
    a = get_array(file, "a.i64");
    ck_assert_int_eq(gguf_array_get_int(a, 0), INT64_MIN);
    ck_assert_int_eq(gguf_array_get_int(a, 1), INT64_MAX);
    ck_assert_double_eq(gguf_array_get_float(get_array(file, "a.f32"), 1), 3.25);
    ck_assert_double_eq(gguf_array_get_float(get_array(file, "a.f64"), 0), 1e300);
    ck_assert_double_eq(gguf_array_get_float(get_array(file, "a.i32"), 1), -1.0);
    a = get_array(file, "a.bool");
    ck_assert_int_eq(a->elem_type, GGUF_TYPE_BOOL);
    ck_assert_int_eq(gguf_array_get_int(a, 0), 1);
    ck_assert_int_eq(gguf_array_get_int(a, 1), 0);
    ck_assert_uint_eq(get_array(file, "a.empty")->count, 0);
    a = get_array(file, "a.str");
    ck_assert_uint_eq(a->count, 4);
    assert_string(a->strings[0], "");
    assert_string(a->strings[2], "two words");
    assert_string(a->strings[3], "ünï");
    a = get_array(file, "a.nested");
    ck_assert_int_eq(a->elem_type, GGUF_TYPE_ARRAY);
    ck_assert_uint_eq(a->count, 3);
    ck_assert_int_eq(a->items[0].as.arr.elem_type, GGUF_TYPE_INT32);
    ck_assert_int_eq(gguf_array_get_int(&a->items[0].as.arr, 1), 2);
    ck_assert_uint_eq(a->items[1].as.arr.count, 1);
    assert_string(a->items[1].as.arr.strings[0], "x");
    ck_assert_int_eq(a->items[2].as.arr.elem_type, GGUF_TYPE_ARRAY);
    ck_assert_uint_eq(a->items[2].as.arr.count, 1);
    ck_assert_uint_eq(a->items[2].as.arr.items[0].as.arr.count, 0);
    gguf_close(file);
    free(bytes);
}
END_TEST

static void fill_pattern(uint8_t *data, size_t n_bytes, uint8_t seed) {
    for (size_t i = 0; i < n_bytes; i++) data[i] = (uint8_t)(seed + i * 7);
}

static void check_tensors_round_trip(uint32_t alignment) {
    gguf_writer *writer = NULL;
    ck_assert_int_eq(gguf_writer_create(&writer), SLLM_OK);
    if (alignment != GGUF_DEFAULT_ALIGNMENT)
        ck_assert_int_eq(gguf_writer_set_alignment(writer, alignment), SLLM_OK);
    static const struct {
        const char *name;
        uint32_t type;
        uint32_t n_dims;
        int64_t dims[4];
        size_t size_bytes;
    } cases[] = {
        { "f32.vec", GGML_TYPE_F32, 1, { 5 }, 20 },
        { "f16.mat", GGML_TYPE_F16, 2, { 3, 7 }, 42 },
        { "q8_0.mat", GGML_TYPE_Q8_0, 2, { 64, 3 }, 2 * 34 * 3 },
        { "q4_1.4d", GGML_TYPE_Q4_1, 4, { 32, 2, 1, 3 }, 20 * 6 },
        { "q4_k.mat", GGML_TYPE_Q4_K, 2, { 256, 2 }, 144 * 2 },
        { "iq2_xxs.mat", GGML_TYPE_IQ2_XXS, 2, { 256, 1 }, 66 },  /* known, not computable */
        { "bf16.3d", GGML_TYPE_BF16, 3, { 1, 1, 1 }, 2 },
    };
    enum { N_CASES = sizeof cases / sizeof cases[0] };
    uint8_t *data[N_CASES];
    for (int i = 0; i < N_CASES; i++) {
        data[i] = malloc(cases[i].size_bytes);
        fill_pattern(data[i], cases[i].size_bytes, (uint8_t)i);
        ck_assert_msg(gguf_writer_add_tensor(writer, cases[i].name, cases[i].type, cases[i].n_dims,
                                             cases[i].dims, data[i]) == SLLM_OK,
                      "%s: %s", cases[i].name, sllm_last_error());
    }
    char path[256];
    testutil_temp_path(path, sizeof path, ".gguf");
    ck_assert_int_eq(gguf_writer_to_file(writer, path), SLLM_OK);
    gguf_writer_free(writer);
    gguf_file *file = NULL;
    ck_assert_msg(gguf_open(path, &file) == SLLM_OK, "%s", sllm_last_error());
    unlink(path);
    ck_assert_uint_eq(file->alignment, alignment);
    ck_assert_uint_eq(file->data_offset % alignment, 0);
    ck_assert_int_eq(file->n_tensors, N_CASES);
    for (int i = 0; i < N_CASES; i++) {
        const gguf_tensor *tensor = &file->tensors[i];
        ck_assert_str_eq(tensor->name, cases[i].name);
        ck_assert_uint_eq(tensor->type, cases[i].type);
        ck_assert_uint_eq(tensor->n_dims, cases[i].n_dims);
        for (uint32_t d = 0; d < 4; d++)
            ck_assert_int_eq(tensor->dims[d], d < cases[i].n_dims ? cases[i].dims[d] : 1);
        ck_assert_uint_eq(tensor->size_bytes, cases[i].size_bytes);
        ck_assert_uint_eq(tensor->offset % alignment, 0);
        ck_assert_uint_eq((uint64_t)(tensor->data - file->base) % alignment, 0);
        ck_assert_mem_eq(tensor->data, data[i], cases[i].size_bytes);
        free(data[i]);
    }
    /* Each tensor is padded to the alignment, the last one included (as llama.cpp writes). */
    const gguf_tensor *last = &file->tensors[N_CASES - 1];
    uint64_t end = file->data_offset + last->offset + last->size_bytes;
    ck_assert_uint_eq(file->file_size, (end + alignment - 1) / alignment * alignment);
    gguf_close(file);
}

START_TEST(test_writer_round_trips_tensors_default_alignment) { check_tensors_round_trip(32); }
END_TEST
START_TEST(test_writer_round_trips_tensors_alignment_1) { check_tensors_round_trip(1); }
END_TEST
START_TEST(test_writer_round_trips_tensors_alignment_64) { check_tensors_round_trip(64); }
END_TEST
START_TEST(test_writer_round_trips_tensors_alignment_4096) { check_tensors_round_trip(4096); }
END_TEST

/* Bytes written out by hand from the GGUF specification (ggml/docs/gguf.md). */
START_TEST(test_writer_layout_matches_the_specification) {
    gguf_writer *writer = NULL;
    ck_assert_int_eq(gguf_writer_create(&writer), SLLM_OK);
    ck_assert_int_eq(gguf_writer_set_alignment(writer, 8), SLLM_OK);
    const uint16_t elems[] = { 0x0102, 0x0304 };
    ck_assert_int_eq(gguf_writer_add_array(writer, "ab", GGUF_TYPE_UINT16, elems, 2), SLLM_OK);
    const float t[] = { 1.0f };
    const int64_t dims[] = { 1 };
    ck_assert_int_eq(gguf_writer_add_tensor(writer, "tn", GGML_TYPE_F32, 1, dims, t), SLLM_OK);
    uint8_t *bytes = NULL;
    uint64_t size = 0;
    ck_assert_int_eq(gguf_writer_to_buffer(writer, &bytes, &size), SLLM_OK);
    gguf_writer_free(writer);
    static const uint8_t expected[] = {
        'G', 'G', 'U', 'F', 3, 0, 0, 0,
        1, 0, 0, 0, 0, 0, 0, 0,                             /* n_tensors */
        2, 0, 0, 0, 0, 0, 0, 0,                             /* n_kv */
        17, 0, 0, 0, 0, 0, 0, 0, 'g', 'e', 'n', 'e', 'r', 'a', 'l', '.',
        'a', 'l', 'i', 'g', 'n', 'm', 'e', 'n', 't', 4, 0, 0, 0, 8, 0, 0, 0,
        2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 9, 0, 0, 0,      /* key "ab", ARRAY */
        2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x01, 0x04, 0x03,
        2, 0, 0, 0, 0, 0, 0, 0, 't', 'n', 1, 0, 0, 0,      /* tensor "tn", n_dims 1 */
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                /* dims[0] = 1, type F32 */
        0, 0, 0, 0, 0, 0, 0, 0,                            /* offset 0 */
        0, 0, 0, 0, 0, 0, 0,                               /* padding: 121 -> 128 */
        0x00, 0x00, 0x80, 0x3f, 0, 0, 0, 0,                /* 1.0f, padding */
    };
    ck_assert_uint_eq(size, sizeof expected);
    ck_assert_mem_eq(bytes, expected, sizeof expected);
    free(bytes);
}
END_TEST

START_TEST(test_writer_rejects_invalid_input) {
    gguf_writer *writer = NULL;
    ck_assert_int_eq(gguf_writer_create(&writer), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_u32(writer, "k", 1), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_u32(writer, "k", 2), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_add_u32(writer, "", 2), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_set_alignment(writer, 0), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_set_alignment(writer, 48), SLLM_ERR_INVALID_ARGUMENT);
    gguf_value big = { .type = GGUF_TYPE_UINT8, .as.u64 = 256 };
    ck_assert_int_eq(gguf_writer_add(writer, "big", &big), SLLM_ERR_INVALID_ARGUMENT);
    gguf_value bad_type = { .type = GGUF_TYPE_COUNT };
    ck_assert_int_eq(gguf_writer_add(writer, "bad", &bad_type), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_add_array(writer, "s", GGUF_TYPE_STRING, NULL, 0), SLLM_ERR_INVALID_ARGUMENT);
    const int64_t dims[] = { 33, 1 }, zero[] = { 0 };
    ck_assert_int_eq(gguf_writer_add_tensor(writer, "q", GGML_TYPE_Q8_0, 2, dims, NULL), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_add_tensor(writer, "z", GGML_TYPE_F32, 1, zero, NULL), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_add_tensor(writer, "u", 4, 1, dims, NULL), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_add_tensor(writer, "n", GGML_TYPE_F32, 5, dims, NULL), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_add_tensor(writer, "ok", GGML_TYPE_F32, 2, dims, NULL), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_tensor(writer, "ok", GGML_TYPE_F32, 2, dims, NULL), SLLM_ERR_INVALID_ARGUMENT);
    /* Nesting beyond the reader's depth limit is refused at the source. */
    gguf_value levels[GGUF_MAX_ARRAY_DEPTH + 1];
    for (int i = 0; i <= GGUF_MAX_ARRAY_DEPTH; i++) {
        bool innermost = i == GGUF_MAX_ARRAY_DEPTH;
        levels[i] = (gguf_value){ .type = GGUF_TYPE_ARRAY };
        levels[i].as.arr = (gguf_array){ .elem_type = innermost ? GGUF_TYPE_INT32 : GGUF_TYPE_ARRAY,
                                         .count = innermost ? 0 : 1,
                                         .items = innermost ? NULL : &levels[i + 1] };
    }
    ck_assert_int_eq(gguf_writer_add(writer, "deep", &levels[0]), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(gguf_writer_add(writer, "deep.ok", &levels[1]), SLLM_OK);
    uint8_t *bytes = NULL;
    gguf_file *file = round_trip(writer, &bytes);
    ck_assert_int_eq(file->n_kv, 2);
    ck_assert_int_eq(file->n_tensors, 1);
    gguf_close(file);
    free(bytes);
    gguf_writer_free(writer);
}
END_TEST

/* A vocabulary-sized string array: every entry indexed, in order. */
START_TEST(test_150k_string_array_is_indexed) {
    enum { N_STRINGS = 150000 };
    char (*texts)[16] = malloc(N_STRINGS * sizeof *texts);
    const char **strings = malloc(N_STRINGS * sizeof *strings);
    for (int i = 0; i < N_STRINGS; i++) {
        snprintf(texts[i], sizeof texts[i], "tok%d", i);
        strings[i] = texts[i];
    }
    gguf_writer *writer = NULL;
    ck_assert_int_eq(gguf_writer_create(&writer), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_string_array(writer, "tokenizer.ggml.tokens", strings, N_STRINGS), SLLM_OK);
    uint8_t *bytes = NULL;
    gguf_file *file = round_trip(writer, &bytes);
    gguf_writer_free(writer);
    const gguf_array *tokens = get_array(file, "tokenizer.ggml.tokens");
    ck_assert_uint_eq(tokens->count, N_STRINGS);
    assert_string(tokens->strings[0], "tok0");
    assert_string(tokens->strings[99999], "tok99999");
    assert_string(tokens->strings[N_STRINGS - 1], "tok149999");
    gguf_close(file);
    free(bytes);
    free(strings);
    free(texts);
}
END_TEST

static Suite *gguf_suite(void) {
    Suite *suite = suite_create("gguf");
    TCase *real = tcase_create("real_files");
    tcase_add_test(real, test_tiny_llama_header_and_hparams);
    tcase_add_test(real, test_tiny_llama_tensors);
    tcase_add_test(real, test_tiny_llama_vocabulary_arrays);
    tcase_add_test(real, test_llama_spm_vocab_file);
    tcase_add_test(real, test_gpt2_vocab_file);
    tcase_add_test(real, test_smollm_q4_1_model);
    tcase_add_test(real, test_getters_report_not_found_and_type_mismatch);
    tcase_add_test(real, test_open_reports_io_errors);
    suite_add_tcase(suite, real);
    TCase *writer = tcase_create("writer");
    tcase_add_test(writer, test_writer_round_trips_every_scalar_type);
    tcase_add_test(writer, test_writer_round_trips_arrays_of_every_type);
    tcase_add_test(writer, test_writer_round_trips_tensors_default_alignment);
    tcase_add_test(writer, test_writer_round_trips_tensors_alignment_1);
    tcase_add_test(writer, test_writer_round_trips_tensors_alignment_64);
    tcase_add_test(writer, test_writer_round_trips_tensors_alignment_4096);
    tcase_add_test(writer, test_writer_layout_matches_the_specification);
    tcase_add_test(writer, test_writer_rejects_invalid_input);
    tcase_add_test(writer, test_150k_string_array_is_indexed);
    suite_add_tcase(suite, writer);
    return suite;
}

int main(void) { return testutil_run_suite(gguf_suite()) == 0 ? 0 : 1; }
