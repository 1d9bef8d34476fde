/* Tests for lib/format/quantize.c: the per-tensor types of llama.cpp's mixes.
 *
 * Every expected type below was worked out by hand from llama.cpp's
 * llama_tensor_get_type_impl / tensor_type_fallback (src/llama-quant.cpp, ggml-org/llama.cpp
 * 007dbbf3fd17eefe9b47fee45f48f7ba5e62b714), not by running the quantizer:
 *   use_more_bits(i, n) = i < n/8 || i >= 7*n/8 || (i - n/8) % 3 == 2, so
 *   n = 4: layers 2 3;  n = 8: layers 0 3 6 7;  n = 12: layers 0 3 6 9 10 11;
 *   n = 80: layers 0-9, 12 15 ... 69 (every third), 70-79.
 *   Q4_K_M / Q5_K_M: attn_v and ffn_down in those layers Q6_K, other weights Q4_K / Q5_K,
 *   output.weight (or token_embd.weight when tied) Q6_K, or Q8_0 when its rows are not a
 *   multiple of 256; Q4_K_S: attn_v of layers 0-3 and ffn_down of layers < n/8 Q5_K.
 *   On rows that are not a multiple of 256: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0.
 *   70B (llama with 80 layers and fewer KV heads than heads, qwen2 with 80 layers):
 *   a Q4_K attn_v becomes Q5_K. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/gguf.h"
#include "format/quantize.h"
#include "random_model.h"
#include "statelessllm.h"
#include "testutil.h"

/* Writes `spec` (F32), quantizes it to `type_name` and opens the result. */
static gguf_file *quantized(const random_model_spec *spec, const char *type_name) {
    char f32_path[512], path[512];
    testutil_temp_path(f32_path, sizeof f32_path, ".gguf");
    testutil_temp_path(path, sizeof path, ".gguf");
    ck_assert_int_eq(random_model_write(spec, f32_path), SLLM_OK);
    ck_assert_msg(quantize_file(f32_path, path, type_name) == SLLM_OK, "quantize %s: %s", type_name,
                  sllm_last_error());
    gguf_file *file = NULL;
    ck_assert_msg(gguf_open(path, &file) == SLLM_OK, "open: %s", sllm_last_error());
    unlink(f32_path);
    unlink(path);
    return file;
}

static void expect_type(const gguf_file *file, const char *name, const char *type_name) {
    const gguf_tensor *tensor = gguf_find_tensor(file, name);
    ck_assert_msg(tensor != NULL, "tensor '%s' is missing", name);
    const char *found = ggml_type_get(tensor->type)->name;
    ck_assert_msg(found != NULL && strcmp(found, type_name) == 0, "tensor '%s': expected %s, found %s", name,
                  type_name, found ? found : "(unknown)");
}

/* `type_names`: one type per layer, separated by spaces. */
static void expect_layers(const gguf_file *file, const char *suffix, int n_layer, const char *type_names) {
    char copy[1024], name[128];
    snprintf(copy, sizeof copy, "%s", type_names);
    char *saveptr = NULL, *type_name = strtok_r(copy, " ", &saveptr);
    for (int il = 0; il < n_layer; il++, type_name = strtok_r(NULL, " ", &saveptr)) {
        ck_assert_msg(type_name != NULL, "expected types for %d layers of %s", n_layer, suffix);
        snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
        expect_type(file, name, type_name);
    }
    ck_assert_msg(type_name == NULL, "more expected types than the %d layers of %s", n_layer, suffix);
}

/* Every layer's `suffix` tensor has type `type_name`. */
static void expect_all_layers(const gguf_file *file, const char *suffix, int n_layer, const char *type_name) {
    char name[128];
    for (int il = 0; il < n_layer; il++) {
        snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
        expect_type(file, name, type_name);
    }
}

static void expect_file_type(const gguf_file *file, int64_t file_type) {
    int64_t value = -1;
    ck_assert_int_eq(gguf_get_int(file, "general.file_type", &value), SLLM_OK);
    ck_assert_int_eq(value, file_type);
}

static const struct mix_case {
    const char *type_name;
    int64_t file_type;
    const char *base;           /* ordinary weights */
    const char *base_fallback;  /* ordinary weights on rows that are not a multiple of 256 */
} mixes[] = {
    {"Q4_K_M", 15, "Q4_K", "Q5_0"},
    {"Q5_K_M", 17, "Q5_K", "Q5_1"},
};

/* Llama, 8 layers, GQA (8 heads over 2), every row a multiple of 256, untied output. */
START_TEST(test_llama_8_layers_take_q6_k_attn_v_and_ffn_down_in_layers_0_3_6_7) {
    const struct mix_case *mix = &mixes[_i];
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.n_embd = 256;
    spec.n_layer = 8;
    spec.n_head = 8;
    spec.n_head_kv = 2;
    spec.n_ff = 768;
    spec.seed = 11;
    gguf_file *file = quantized(&spec, mix->type_name);
    const char *q6_in_0_3_6_7 = _i == 0 ? "Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q6_K"
                                        : "Q6_K Q5_K Q5_K Q6_K Q5_K Q5_K Q6_K Q6_K";
    expect_type(file, "token_embd.weight", mix->base);
    expect_type(file, "output.weight", "Q6_K");
    expect_type(file, "output_norm.weight", "F32");
    expect_all_layers(file, "attn_norm.weight", 8, "F32");
    expect_all_layers(file, "ffn_norm.weight", 8, "F32");
    expect_all_layers(file, "attn_q.weight", 8, mix->base);
    expect_all_layers(file, "attn_k.weight", 8, mix->base);
    expect_layers(file, "attn_v.weight", 8, q6_in_0_3_6_7);
    expect_all_layers(file, "attn_output.weight", 8, mix->base);
    expect_all_layers(file, "ffn_gate.weight", 8, mix->base);
    expect_all_layers(file, "ffn_up.weight", 8, mix->base);
    expect_layers(file, "ffn_down.weight", 8, q6_in_0_3_6_7);
    expect_file_type(file, mix->file_type);
    gguf_close(file);
}
END_TEST

/* Qwen2, 4 layers, ffn_down rows of 320 (not a multiple of 256): its K types fall back. */
START_TEST(test_qwen2_ffn_down_of_width_320_falls_back_to_32_blocks) {
    const struct mix_case *mix = &mixes[_i];
    random_model_spec spec;
    random_model_defaults(&spec, "qwen2");
    spec.n_embd = 256;
    spec.n_layer = 4;
    spec.n_head = 8;
    spec.n_head_kv = 2;
    spec.n_ff = 320;
    spec.seed = 12;
    gguf_file *file = quantized(&spec, mix->type_name);
    expect_type(file, "token_embd.weight", mix->base);
    expect_type(file, "output.weight", "Q6_K");
    expect_all_layers(file, "attn_q.bias", 4, "F32");
    expect_all_layers(file, "attn_k.bias", 4, "F32");
    expect_all_layers(file, "attn_v.bias", 4, "F32");
    expect_all_layers(file, "attn_q.weight", 4, mix->base);
    expect_all_layers(file, "attn_k.weight", 4, mix->base);
    expect_layers(file, "attn_v.weight", 4, _i == 0 ? "Q4_K Q4_K Q6_K Q6_K" : "Q5_K Q5_K Q6_K Q6_K");
    expect_all_layers(file, "attn_output.weight", 4, mix->base);
    expect_all_layers(file, "ffn_gate.weight", 4, mix->base);
    expect_all_layers(file, "ffn_up.weight", 4, mix->base);
    expect_layers(file, "ffn_down.weight", 4, _i == 0 ? "Q5_0 Q5_0 Q8_0 Q8_0" : "Q5_1 Q5_1 Q8_0 Q8_0");
    expect_file_type(file, mix->file_type);
    gguf_close(file);
}
END_TEST

/* Qwen3, 8 layers, width 128 (every row but ffn_down's falls back), tied embeddings:
 * token_embd.weight is quantized as the output, Q8_0 since 128 is not a multiple of 256. */
START_TEST(test_qwen3_tied_width_128_quantizes_token_embd_as_output) {
    const struct mix_case *mix = &mixes[_i];
    random_model_spec spec;
    random_model_defaults(&spec, "qwen3");
    spec.n_embd = 128;
    spec.n_layer = 8;
    spec.n_head = 4;
    spec.n_head_kv = 1;
    spec.n_ff = 512;
    spec.tied = 1;
    spec.seed = 13;
    gguf_file *file = quantized(&spec, mix->type_name);
    ck_assert_ptr_null(gguf_find_tensor(file, "output.weight"));
    expect_type(file, "token_embd.weight", "Q8_0");
    expect_all_layers(file, "attn_q_norm.weight", 8, "F32");
    expect_all_layers(file, "attn_k_norm.weight", 8, "F32");
    expect_all_layers(file, "attn_q.weight", 8, mix->base_fallback);
    expect_all_layers(file, "attn_k.weight", 8, mix->base_fallback);
    expect_layers(file, "attn_v.weight", 8,
                  _i == 0 ? "Q8_0 Q5_0 Q5_0 Q8_0 Q5_0 Q5_0 Q8_0 Q8_0" : "Q8_0 Q5_1 Q5_1 Q8_0 Q5_1 Q5_1 Q8_0 Q8_0");
    expect_all_layers(file, "attn_output.weight", 8, mix->base_fallback);
    expect_all_layers(file, "ffn_gate.weight", 8, mix->base_fallback);
    expect_all_layers(file, "ffn_up.weight", 8, mix->base_fallback);
    expect_layers(file, "ffn_down.weight", 8,
                  _i == 0 ? "Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q6_K" : "Q6_K Q5_K Q5_K Q6_K Q5_K Q5_K Q6_K Q6_K");
    expect_file_type(file, mix->file_type);
    gguf_close(file);
}
END_TEST

/* 80 layers of width 64 (so Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 everywhere). The
 * layers use_more_bits(i, 80) picks; the others' attn_v is Q5_1 on a 70B model (Q4_K
 * raised to Q5_K) and Q5_0 otherwise. */
static const int more_bits_80[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  12, 15, 18, 21,
                                   24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63,
                                   66, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79};

static const struct {
    const char *arch;
    int n_head_kv;          /* of 4 heads */
    const char *attn_v_other;
} models_80[] = {
    {"llama", 2, "Q5_1"},   /* LLM_TYPE_70B */
    {"llama", 4, "Q5_0"},   /* as many KV heads as heads: LLM_TYPE_65B */
    {"qwen2", 2, "Q5_1"},   /* LLM_TYPE_70B */
    {"qwen3", 2, "Q5_0"},   /* qwen3 has no 70B type */
};

START_TEST(test_q4_k_m_raises_attn_v_to_q5_k_on_70b_models_only) {
    random_model_spec spec;
    random_model_defaults(&spec, models_80[_i].arch);
    spec.n_layer = 80;
    spec.n_head_kv = models_80[_i].n_head_kv;
    spec.seed = 14;
    gguf_file *file = quantized(&spec, "Q4_K_M");
    char attn_v[80 * 5 + 1] = "", ffn_down[80 * 5 + 1] = "";
    for (int il = 0, k = 0; il < 80; il++) {
        int more_bits = k < (int)(sizeof more_bits_80 / sizeof more_bits_80[0]) && more_bits_80[k] == il;
        k += more_bits;
        strcat(attn_v, more_bits ? "Q8_0 " : models_80[_i].attn_v_other);
        strcat(attn_v, more_bits ? "" : " ");
        strcat(ffn_down, more_bits ? "Q8_0 " : "Q5_0 ");
    }
    expect_layers(file, "attn_v.weight", 80, attn_v);
    expect_layers(file, "ffn_down.weight", 80, ffn_down);
    expect_all_layers(file, "attn_q.weight", 80, "Q5_0");
    gguf_close(file);
}
END_TEST

START_TEST(test_q4_k_s_raises_first_attn_v_and_ffn_down_to_q5_k) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.n_embd = 256;
    spec.n_layer = 8;
    spec.n_head = 8;
    spec.n_ff = 256;
    spec.seed = 15;
    gguf_file *file = quantized(&spec, "Q4_K_S");
    expect_type(file, "token_embd.weight", "Q4_K");
    expect_type(file, "output.weight", "Q6_K");
    expect_layers(file, "attn_v.weight", 8, "Q5_K Q5_K Q5_K Q5_K Q4_K Q4_K Q4_K Q4_K");
    expect_layers(file, "ffn_down.weight", 8, "Q5_K Q4_K Q4_K Q4_K Q4_K Q4_K Q4_K Q4_K");
    expect_all_layers(file, "ffn_up.weight", 8, "Q4_K");
    expect_file_type(file, 14);
    gguf_close(file);
    file = quantized(&spec, "Q5_K_S");
    expect_type(file, "token_embd.weight", "Q5_K");
    expect_type(file, "output.weight", "Q6_K");
    expect_all_layers(file, "attn_v.weight", 8, "Q5_K");
    expect_all_layers(file, "ffn_down.weight", 8, "Q5_K");
    expect_file_type(file, 16);
    gguf_close(file);
}
END_TEST

/* llama.cpp counts attn_v / ffn_down tensors in layer order (by number, not by name),
 * whatever their order in the file: here 12 layers stored from the last to the first. */
START_TEST(test_mix_follows_layer_numbers_not_file_order) {
    char f32_path[512], path[512], name[64];
    testutil_temp_path(f32_path, sizeof f32_path, ".gguf");
    testutil_temp_path(path, sizeof path, ".gguf");
    gguf_writer *writer = NULL;
    ck_assert_int_eq(gguf_writer_create(&writer), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_string(writer, "general.architecture", "llama"), SLLM_OK);
    ck_assert_int_eq(gguf_writer_add_u32(writer, "llama.block_count", 12), SLLM_OK);
    float *zeros = calloc(256 * 64, sizeof *zeros);
    ck_assert_ptr_nonnull(zeros);
    const int64_t dims[2] = {256, 64};
    for (int il = 11; il >= 0; il--) {
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", il);
        ck_assert_int_eq(gguf_writer_add_tensor(writer, name, 0, 2, dims, zeros), SLLM_OK);
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", il);
        ck_assert_int_eq(gguf_writer_add_tensor(writer, name, 0, 2, dims, zeros), SLLM_OK);
    }
    ck_assert_int_eq(gguf_writer_to_file(writer, f32_path), SLLM_OK);
    gguf_writer_free(writer);
    free(zeros);
    ck_assert_msg(quantize_file(f32_path, path, "Q4_K_M") == SLLM_OK, "%s", sllm_last_error());
    gguf_file *file = NULL;
    ck_assert_msg(gguf_open(path, &file) == SLLM_OK, "%s", sllm_last_error());
    const char *q6_in_0_3_6_9_10_11 = "Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q6_K Q6_K";
    expect_layers(file, "attn_v.weight", 12, q6_in_0_3_6_9_10_11);
    expect_layers(file, "ffn_down.weight", 12, q6_in_0_3_6_9_10_11);
    ck_assert_str_eq(file->tensors[0].name, "blk.11.ffn_down.weight"); /* file order kept */
    gguf_close(file);
    unlink(f32_path);
    unlink(path);
}
END_TEST

static Suite *quantize_suite(void) {
    Suite *suite = suite_create("quantize");
    TCase *mix = tcase_create("mix");
    tcase_set_timeout(mix, 300);
    tcase_add_loop_test(mix, test_llama_8_layers_take_q6_k_attn_v_and_ffn_down_in_layers_0_3_6_7, 0, 2);
    tcase_add_loop_test(mix, test_qwen2_ffn_down_of_width_320_falls_back_to_32_blocks, 0, 2);
    tcase_add_loop_test(mix, test_qwen3_tied_width_128_quantizes_token_embd_as_output, 0, 2);
    tcase_add_loop_test(mix, test_q4_k_m_raises_attn_v_to_q5_k_on_70b_models_only, 0,
                        (int)(sizeof models_80 / sizeof models_80[0]));
    tcase_add_test(mix, test_q4_k_s_raises_first_attn_v_and_ffn_down_to_q5_k);
    tcase_add_test(mix, test_mix_follows_layer_numbers_not_file_order);
    suite_add_tcase(suite, mix);
    return suite;
}

int main(void) { return testutil_run_suite(quantize_suite()) == 0 ? 0 : 1; }
