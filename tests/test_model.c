/* Tests for lib/model: hyper-parameters, the architecture table and tensor binding at load. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/ggml_types.h"
#include "model/model_internal.h"
#include "random_model.h"
#include "statelessllm.h"
#include "testutil.h"

/* Writes `spec` to a temp file and loads it; returns the status, the model in *out. */
static sllm_status load_spec(const random_model_spec *spec, int metadata_only, sllm_model **out) {
    char path[512];
    testutil_temp_path(path, sizeof path, ".gguf");
    ck_assert_int_eq(random_model_write(spec, path), SLLM_OK);
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.metadata_only = metadata_only;
    *out = NULL;
    sllm_status status = sllm_model_load(path, &params, out);
    unlink(path);
    return status;
}

static void assert_load_fails(const random_model_spec *spec, sllm_status expected, const char *message) {
    sllm_model *model;
    sllm_status status = load_spec(spec, 0, &model);
    ck_assert_int_eq(status, expected);
    ck_assert_ptr_null(model);
    ck_assert_msg(strstr(sllm_last_error(), message) != NULL, "message '%s' lacks '%s'", sllm_last_error(), message);
}

START_TEST(test_llama_hyper_parameters_are_read_from_metadata) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    sllm_model *model;
    ck_assert_int_eq(load_spec(&spec, 0, &model), SLLM_OK);
    const model_hparams *hp = &model->hparams;
    ck_assert_int_eq(hp->arch, MODEL_ARCH_LLAMA);
    ck_assert_int_eq(hp->rope_type, MODEL_ROPE_NORM);
    ck_assert_int_eq(hp->n_embd, 64);
    ck_assert_int_eq(hp->n_layer, 2);
    ck_assert_int_eq(hp->n_head, 4);
    ck_assert_int_eq(hp->n_head_kv, 2);
    ck_assert_int_eq(hp->head_dim, 16);
    ck_assert_int_eq(hp->n_rot, 16);
    ck_assert_int_eq(hp->n_ff, 128);
    ck_assert_int_eq(hp->n_vocab, 256);
    ck_assert_int_eq(hp->n_ctx, 512);
    ck_assert_float_eq(hp->rms_eps, 1e-5f);
    ck_assert_float_eq(hp->rope_freq_base, 10000.0f);
    ck_assert_float_eq(hp->rope_freq_scale, 1.0f);
    ck_assert_int_eq(sllm_model_n_ctx(model), 512);
    ck_assert_int_eq(sllm_model_n_embd(model), 64);
    ck_assert_int_eq(sllm_model_n_layer(model), 2);
    ck_assert_int_eq(sllm_model_n_vocab(model), 256);
    ck_assert_str_eq(sllm_model_arch(model), "llama");
    ck_assert_int_eq(model->weights.tied_output, 0);
    ck_assert_ptr_null(model->weights.rope_freqs.data);
    sllm_model_free(model);
}
END_TEST

/* llama.cpp's llama_model_rope_type puts QWEN2 and QWEN3 in the NEOX group. */
START_TEST(test_qwen_architectures_use_neox_rope_and_bind_their_extra_tensors) {
    random_model_spec spec;
    random_model_defaults(&spec, "qwen2");
    sllm_model *model;
    ck_assert_int_eq(load_spec(&spec, 0, &model), SLLM_OK);
    ck_assert_int_eq(model->hparams.rope_type, MODEL_ROPE_NEOX);
    ck_assert_ptr_nonnull(model->weights.layers[1].bq.data);
    ck_assert_int_eq(model->weights.layers[1].bk.n_cols, 32);
    ck_assert_ptr_null(model->weights.layers[1].q_norm.data);
    sllm_model_free(model);
    random_model_defaults(&spec, "qwen3");
    ck_assert_int_eq(load_spec(&spec, 0, &model), SLLM_OK);
    ck_assert_int_eq(model->hparams.rope_type, MODEL_ROPE_NEOX);
    ck_assert_int_eq(model->weights.layers[0].q_norm.n_cols, 16);
    ck_assert_ptr_null(model->weights.layers[0].bq.data);
    ck_assert_str_eq(sllm_model_arch(model), "qwen3");
    sllm_model_free(model);
}
END_TEST

START_TEST(test_mistral_is_computed_as_llama) {
    random_model_spec spec;
    random_model_defaults(&spec, "mistral");
    sllm_model *model;
    ck_assert_int_eq(load_spec(&spec, 0, &model), SLLM_OK);
    ck_assert_int_eq(model->hparams.arch, MODEL_ARCH_LLAMA);
    ck_assert_str_eq(sllm_model_arch(model), "mistral");
    sllm_model_free(model);
}
END_TEST

START_TEST(test_missing_output_weight_ties_it_to_the_embedding) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.tied = 1;
    spec.llama3_rope_freqs = 1;
    sllm_model *model;
    ck_assert_int_eq(load_spec(&spec, 0, &model), SLLM_OK);
    ck_assert_int_eq(model->weights.tied_output, 1);
    ck_assert_ptr_eq(model->weights.output.data, model->weights.token_embd.data);
    ck_assert_int_eq(model->weights.rope_freqs.n_cols, 8);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_missing_tensor_is_named) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.omit_tensor = "blk.1.ffn_up.weight";
    assert_load_fails(&spec, SLLM_ERR_INVALID_MODEL, "tensor 'blk.1.ffn_up.weight' is missing");
}
END_TEST

START_TEST(test_wrong_shape_names_expected_and_found_dims) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.short_tensor = "blk.1.ffn_up.weight";
    assert_load_fails(&spec, SLLM_ERR_INVALID_MODEL, "tensor 'blk.1.ffn_up.weight': expected [64, 128], found [64, 127]");
}
END_TEST

START_TEST(test_unsupported_weight_type_is_named) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.n_embd = 256; /* IQ2_XXS blocks hold 256 values */
    spec.n_head = 8;
    spec.retyped_tensor = "blk.0.attn_q.weight";
    spec.retype = GGML_TYPE_IQ2_XXS;
    assert_load_fails(&spec, SLLM_ERR_UNSUPPORTED_TYPE, "tensor 'blk.0.attn_q.weight' has type IQ2_XXS, which is not supported");
}
END_TEST

START_TEST(test_quantized_norm_is_rejected) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.retyped_tensor = "blk.0.attn_norm.weight";
    spec.retype = GGML_TYPE_F16;
    assert_load_fails(&spec, SLLM_ERR_UNSUPPORTED_TYPE, "tensor 'blk.0.attn_norm.weight' has type F16");
}
END_TEST

START_TEST(test_architecture_requirements_are_enforced) {
    random_model_spec spec;
    random_model_defaults(&spec, "qwen2");
    spec.omit_tensor = "blk.0.attn_k.bias";
    assert_load_fails(&spec, SLLM_ERR_INVALID_MODEL, "tensor 'blk.0.attn_k.bias' is missing");
    random_model_defaults(&spec, "qwen3");
    spec.omit_tensor = "blk.1.attn_q_norm.weight";
    assert_load_fails(&spec, SLLM_ERR_INVALID_MODEL, "tensor 'blk.1.attn_q_norm.weight' is missing");
}
END_TEST

START_TEST(test_unknown_architecture_is_named) {
    random_model_spec spec;
    random_model_defaults(&spec, "gpt2");
    assert_load_fails(&spec, SLLM_ERR_UNSUPPORTED_ARCH, "architecture 'gpt2' is not supported");
}
END_TEST

START_TEST(test_metadata_only_load_skips_model_validation) {
    random_model_spec spec;
    random_model_defaults(&spec, "gpt2");
    sllm_model *model;
    ck_assert_int_eq(load_spec(&spec, 1, &model), SLLM_OK);
    ck_assert_int_eq(sllm_model_n_embd(model), 0);
    ck_assert_str_eq(sllm_model_arch(model), "");
    sllm_model_free(model);
}
END_TEST

START_TEST(test_missing_hyper_parameter_is_named) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.omit_key = "llama.block_count";
    assert_load_fails(&spec, SLLM_ERR_INVALID_MODEL, "metadata key 'llama.block_count' is missing");
}
END_TEST

START_TEST(test_head_count_not_divisible_by_kv_heads_is_rejected) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.n_head_kv = 3;
    assert_load_fails(&spec, SLLM_ERR_INVALID_MODEL, "llama.attention.head_count (4) is not a multiple of");
}
END_TEST

/* Expected values: SmolLM2-135M's config.json on Hugging Face (hidden_size 576, 30 layers,
 * 9 heads, 3 KV heads, intermediate 1536, vocabulary 49152, rope_theta 100000, 8192
 * positions, tied embeddings). */
START_TEST(test_smollm2_hyper_parameters_match_its_published_config) {
    char path[512];
    if (testutil_smollm_path(path, sizeof path) == NULL) return;
    sllm_model *model = NULL;
    ck_assert_int_eq(sllm_model_load(path, NULL, &model), SLLM_OK);
    const model_hparams *hp = &model->hparams;
    ck_assert_str_eq(sllm_model_arch(model), "llama");
    ck_assert_int_eq(hp->n_embd, 576);
    ck_assert_int_eq(hp->n_layer, 30);
    ck_assert_int_eq(hp->n_head, 9);
    ck_assert_int_eq(hp->n_head_kv, 3);
    ck_assert_int_eq(hp->head_dim, 64);
    ck_assert_int_eq(hp->n_ff, 1536);
    ck_assert_int_eq(hp->n_vocab, 49152);
    ck_assert_int_eq(hp->n_ctx, 8192);
    ck_assert_float_eq(hp->rope_freq_base, 100000.0f);
    ck_assert_int_eq(model->weights.tied_output, 1);
    sllm_model_free(model);
}
END_TEST

static Suite *model_suite(void) {
    Suite *suite = suite_create("model");
    TCase *hparams = tcase_create("hparams");
    tcase_add_test(hparams, test_llama_hyper_parameters_are_read_from_metadata);
    tcase_add_test(hparams, test_qwen_architectures_use_neox_rope_and_bind_their_extra_tensors);
    tcase_add_test(hparams, test_mistral_is_computed_as_llama);
    tcase_add_test(hparams, test_missing_hyper_parameter_is_named);
    tcase_add_test(hparams, test_head_count_not_divisible_by_kv_heads_is_rejected);
    tcase_add_test(hparams, test_smollm2_hyper_parameters_match_its_published_config);
    suite_add_tcase(suite, hparams);
    TCase *binding = tcase_create("binding");
    tcase_add_test(binding, test_missing_output_weight_ties_it_to_the_embedding);
    tcase_add_test(binding, test_missing_tensor_is_named);
    tcase_add_test(binding, test_wrong_shape_names_expected_and_found_dims);
    tcase_add_test(binding, test_unsupported_weight_type_is_named);
    tcase_add_test(binding, test_quantized_norm_is_rejected);
    tcase_add_test(binding, test_architecture_requirements_are_enforced);
    tcase_add_test(binding, test_unknown_architecture_is_named);
    tcase_add_test(binding, test_metadata_only_load_skips_model_validation);
    suite_add_tcase(suite, binding);
    return suite;
}

int main(void) { return testutil_run_suite(model_suite()) == 0 ? 0 : 1; }
