/* Tests for sllm_model_params.weights_placement: a copied model (huge-page memory, and
 * whatever layout the CPU kernels repack it into) computes exactly the logits of the same
 * model computed from the mmap'd file, for every weight type; bad values are refused. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cpu/cpu_backend.h"
#include "engine/forward.h"
#include "engine/kv_simple.h"
#include "format/quantize.h"
#include "random_model.h"
#include "statelessllm.h"
#include "testutil.h"

enum { N_PROMPT = 20, N_DECODE = 4, N_TOKENS = N_PROMPT + N_DECODE, BLOCK_SIZE = 16, N_BLOCKS = 2 };

/* Shapes whose matrices have row counts that are multiples of 16 and column counts that
 * are multiples of 64 (what interleaved-tile repacking needs), plus one whose vocabulary
 * (200 rows, tied to the output) leaves a partial tile, and one tied one of whole tiles
 * (the embedding lookup then reads the repacked output matrix). K-quant types need 256 columns;
 * quantize_file falls back to 32-block types elsewhere, so the 128-wide shape mixes types. */
typedef struct model_shape {
    const char *arch;
    int64_t n_embd, n_head, n_head_kv, n_ff, n_vocab;
    int tied;
} model_shape;

static const model_shape shapes[] = {
    { "llama", 256, 8, 2, 384, 256, 0 },
    { "qwen2", 128, 4, 1, 256, 200, 1 },
    { "qwen3", 256, 8, 4, 256, 512, 0 },
    { "llama", 256, 4, 2, 256, 320, 1 },   /* tied, whole tiles: the embedding is repacked */
};
enum { N_SHAPES = sizeof shapes / sizeof shapes[0] };

static const char *const weight_types[] = { "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                                            "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M" };
enum { N_TYPES = sizeof weight_types / sizeof weight_types[0] };

/* Writes the seeded random model of `shape`, quantized to `type_name`, to `path`. */
static void write_model(const model_shape *shape, const char *type_name, char *path, size_t cap) {
    random_model_spec spec;
    random_model_defaults(&spec, shape->arch);
    spec.n_embd = shape->n_embd;
    spec.n_head = shape->n_head;
    spec.n_head_kv = shape->n_head_kv;
    spec.n_ff = shape->n_ff;
    spec.n_vocab = shape->n_vocab;
    spec.tied = shape->tied;
    spec.seed = 11;
    char f32_path[512];
    testutil_temp_path(f32_path, sizeof f32_path, ".gguf");
    testutil_temp_path(path, cap, ".gguf");
    ck_assert_int_eq(random_model_write(&spec, f32_path), SLLM_OK);
    ck_assert_msg(quantize_file(f32_path, path, type_name) == SLLM_OK, "quantize %s: %s", type_name, sllm_last_error());
    unlink(f32_path);
}

static sllm_model *load_with(const char *path, int weights_placement) {
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.weights_placement = weights_placement;
    sllm_model *model = NULL;
    ck_assert_msg(sllm_model_load(path, &params, &model) == SLLM_OK, "load %s (placement %d): %s", path,
                  weights_placement, sllm_last_error());
    return model;
}

static int32_t argmax(const float *row, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (row[i] > row[best]) best = i;
    return (int32_t)best;
}

/* Logits of every prompt token (one forward step over the whole prompt), then of
 * N_DECODE greedy decode steps: N_TOKENS rows of n_vocab in `logits`. */
static void run_sequence(sllm_model *model, int n_threads, const int32_t *prompt, float *logits) {
    int64_t n_vocab = sllm_model_n_vocab(model);
    sllm_backend *backend = NULL;
    forward_context *ctx = NULL;
    kv_simple *kv = NULL;
    sllm_kv_layout layout;
    int32_t table[N_BLOCKS] = { 1, 0 };
    ck_assert_int_eq(cpu_backend_create(n_threads, &backend), SLLM_OK);
    ck_assert_int_eq(forward_create(model, backend, N_PROMPT, &ctx), SLLM_OK);
    forward_kv_layout(model, SLLM_KV_F16, BLOCK_SIZE, &layout);
    ck_assert_int_eq(kv_simple_create(backend, &layout, N_BLOCKS, &kv), SLLM_OK);
    forward_batch batch = { prompt, N_PROMPT, 0, table, N_BLOCKS, kv->buffer, &layout, 1, logits };
    ck_assert_msg(forward_run(ctx, &batch) == SLLM_OK, "prompt: %s", sllm_last_error());
    for (int step = 0; step < N_DECODE; step++) {
        int64_t row = N_PROMPT + step;
        int32_t next = argmax(logits + (row - 1) * n_vocab, n_vocab);
        forward_batch decode = { &next, 1, row, table, N_BLOCKS, kv->buffer, &layout, 0, logits + row * n_vocab };
        ck_assert_msg(forward_run(ctx, &decode) == SLLM_OK, "decode step %d: %s", step, sllm_last_error());
    }
    kv_simple_free(kv);
    forward_free(ctx);
    backend->ops->destroy(backend);
}

static int starts_with(const char *text, const char *prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }

START_TEST(test_copied_and_mmapped_weights_give_bit_identical_logits) {
    const char *type_name = weight_types[_i % N_TYPES];
    const model_shape *shape = &shapes[_i / N_TYPES];
    char path[512];
    write_model(shape, type_name, path, sizeof path);
    sllm_model *mapped = load_with(path, SLLM_WEIGHTS_MMAP);
    sllm_model *copied = load_with(path, SLLM_WEIGHTS_COPY);
    unlink(path);
    ck_assert_msg(starts_with(sllm_model_weights_layout(mapped), "mmap'd from the file"), "%s",
                  sllm_model_weights_layout(mapped));
    ck_assert_msg(starts_with(sllm_model_weights_layout(copied), "copied into memory"), "%s",
                  sllm_model_weights_layout(copied));

    int64_t n_vocab = sllm_model_n_vocab(mapped);
    ck_assert_int_eq(n_vocab, shape->n_vocab);
    int32_t prompt[N_PROMPT];
    for (int i = 0; i < N_PROMPT; i++) prompt[i] = (int32_t)((i * 53 + 7) % n_vocab);
    size_t bytes = (size_t)(N_TOKENS * n_vocab) * sizeof(float);
    float *expected = malloc(bytes), *got = malloc(bytes);
    ck_assert(expected != NULL && got != NULL);
    memset(expected, 0xff, bytes);
    run_sequence(mapped, 1, prompt, expected);
    for (int64_t i = 0; i < N_TOKENS * n_vocab; i++)
        ck_assert_msg(expected[i] == expected[i], "%s/%s: NaN logit at %lld", shape->arch, type_name, (long long)i);
    ck_assert_msg(argmax(expected, n_vocab) != argmax(expected + n_vocab, n_vocab) ||
                      expected[0] != expected[n_vocab], "%s/%s: logits do not depend on the input", shape->arch, type_name);
    for (int n_threads = 1; n_threads <= 2; n_threads++) {
        memset(got, 0xff, bytes);
        run_sequence(copied, n_threads, prompt, got);
        for (int64_t row = 0; row < N_TOKENS; row++) {
            size_t row_bytes = (size_t)n_vocab * sizeof(float);
            ck_assert_msg(memcmp(expected + row * n_vocab, got + row * n_vocab, row_bytes) == 0,
                          "%s/%s (width %lld, ff %lld, vocab %lld): copied weights with %d threads give other "
                          "logits than mmap'd ones at %s %lld", shape->arch, type_name, (long long)shape->n_embd,
                          (long long)shape->n_ff, (long long)n_vocab, n_threads,
                          row < N_PROMPT ? "prompt token" : "decode step",
                          (long long)(row < N_PROMPT ? row : row - N_PROMPT));
        }
    }
    free(expected);
    free(got);
    sllm_model_free(copied);
    sllm_model_free(mapped);
}
END_TEST

static void write_default_model(char *path, size_t cap) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    testutil_temp_path(path, cap, ".gguf");
    ck_assert_int_eq(random_model_write(&spec, path), SLLM_OK);
}

static void expect_refused(const char *path, int weights_placement) {
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.weights_placement = weights_placement;
    sllm_model *model = NULL;
    ck_assert_int_eq(sllm_model_load(path, &params, &model), SLLM_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(model);
    ck_assert_msg(strstr(sllm_last_error(), "weights_placement") != NULL, "message: %s", sllm_last_error());
    char value[16];
    snprintf(value, sizeof value, "%d", weights_placement);
    ck_assert_msg(strstr(sllm_last_error(), value) != NULL, "message: %s", sllm_last_error());
}

START_TEST(test_unknown_weights_placement_is_refused) {
    char path[512];
    write_default_model(path, sizeof path);
    expect_refused(path, 7);
    expect_refused(path, -1);
    expect_refused(path, 2);
    unlink(path);
}
END_TEST

START_TEST(test_layout_names_where_the_weights_live) {
    char path[512];
    write_default_model(path, sizeof path);
    sllm_model *model = NULL;
    ck_assert_int_eq(sllm_model_load(path, NULL, &model), SLLM_OK); /* defaults: copied */
    ck_assert_msg(starts_with(sllm_model_weights_layout(model), "copied into memory"), "%s",
                  sllm_model_weights_layout(model));
    sllm_model_free(model);

    sllm_model_params params;
    sllm_model_params_init(&params);
    ck_assert_int_eq(params.weights_placement, SLLM_WEIGHTS_COPY);
    params.weights_placement = SLLM_WEIGHTS_MMAP;
    ck_assert_int_eq(sllm_model_load(path, &params, &model), SLLM_OK);
    ck_assert_msg(starts_with(sllm_model_weights_layout(model), "mmap'd from the file"), "%s",
                  sllm_model_weights_layout(model));
    sllm_model_free(model);

    params.metadata_only = 1;
    for (int placement = SLLM_WEIGHTS_COPY; placement <= SLLM_WEIGHTS_MMAP; placement++) {
        params.weights_placement = placement;
        ck_assert_int_eq(sllm_model_load(path, &params, &model), SLLM_OK);
        ck_assert_str_eq(sllm_model_weights_layout(model), "none (metadata only)");
        sllm_model_free(model);
    }
    unlink(path);
}
END_TEST

/* A host built against the header before weights_placement existed passes a shorter
 * struct: it gets the default (a copy). */
START_TEST(test_params_without_the_field_get_the_copy) {
    char path[512];
    write_default_model(path, sizeof path);
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.struct_size = offsetof(sllm_model_params, weights_placement);
    params.weights_placement = 7; /* beyond struct_size: never read */
    sllm_model *model = NULL;
    ck_assert_msg(sllm_model_load(path, &params, &model) == SLLM_OK, "%s", sllm_last_error());
    ck_assert_msg(starts_with(sllm_model_weights_layout(model), "copied into memory"), "%s",
                  sllm_model_weights_layout(model));
    sllm_model_free(model);
    unlink(path);
}
END_TEST

static Suite *weights_placement_suite(void) {
    Suite *suite = suite_create("weights_placement");
    TCase *identical = tcase_create("identical_logits");
    tcase_set_timeout(identical, 600);
    tcase_add_loop_test(identical, test_copied_and_mmapped_weights_give_bit_identical_logits, 0, N_TYPES * N_SHAPES);
    suite_add_tcase(suite, identical);
    TCase *params = tcase_create("params");
    tcase_add_test(params, test_unknown_weights_placement_is_refused);
    tcase_add_test(params, test_layout_names_where_the_weights_live);
    tcase_add_test(params, test_params_without_the_field_get_the_copy);
    suite_add_tcase(suite, params);
    return suite;
}

int main(void) { return testutil_run_suite(weights_placement_suite()) == 0 ? 0 : 1; }
