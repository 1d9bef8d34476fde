/* Tests for lib/engine/forward.c on the CPU backend: batch invariance for every weight
 * type, argument errors, and a real model's greedy continuation. */
#include <check.h>
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

enum { N_TOKENS = 100, BLOCK_SIZE = 16, N_BLOCKS = (N_TOKENS + BLOCK_SIZE - 1) / BLOCK_SIZE };

/* One sequence on one backend: its own pool and block table. */
typedef struct runner {
    sllm_model *model;
    sllm_backend *backend;
    forward_context *ctx;
    kv_simple *kv;
    sllm_kv_layout layout;
    int32_t table[64];
} runner;

static void runner_open(runner *r, sllm_model *model, int n_threads, int64_t max_batch, sllm_kv_dtype dtype,
                        int64_t n_blocks) {
    memset(r, 0, sizeof *r);
    r->model = model;
    ck_assert_int_eq(cpu_backend_create(n_threads, &r->backend), SLLM_OK);
    ck_assert_int_eq(forward_create(model, r->backend, max_batch, &r->ctx), SLLM_OK);
    forward_kv_layout(model, dtype, BLOCK_SIZE, &r->layout);
    ck_assert_int_eq(kv_simple_create(r->backend, &r->layout, n_blocks, &r->kv), SLLM_OK);
    /* Blocks in reverse order, so that a wrong block-table lookup cannot pass unnoticed. */
    for (int64_t i = 0; i < n_blocks; i++) r->table[i] = (int32_t)(n_blocks - 1 - i);
}

static void runner_close(runner *r) {
    kv_simple_free(r->kv);
    forward_free(r->ctx);
    r->backend->ops->destroy(r->backend);
}

static sllm_status runner_step(runner *r, const int32_t *tokens, int64_t n_tokens, int64_t n_past, int all_logits,
                               float *logits) {
    forward_batch batch = { tokens, n_tokens, n_past, r->table, r->kv->n_blocks, r->kv->buffer, &r->layout,
                            all_logits, logits };
    return forward_run(r->ctx, &batch);
}

/* Logits of every token of `tokens`, computed in steps of `step` tokens (forward_run
 * calls) on a context whose chunk capacity is `max_batch`. */
static void sequence_logits(sllm_model *model, int n_threads, int64_t max_batch, int64_t step, const int32_t *tokens,
                            float *logits) {
    runner r;
    runner_open(&r, model, n_threads, max_batch, SLLM_KV_F16, N_BLOCKS);
    int64_t n_vocab = sllm_model_n_vocab(model);
    for (int64_t done = 0; done < N_TOKENS; done += step) {
        int64_t n = N_TOKENS - done < step ? N_TOKENS - done : step;
        ck_assert_int_eq(runner_step(&r, tokens + done, n, done, 1, logits + done * n_vocab), SLLM_OK);
    }
    runner_close(&r);
}

static const char *const weight_types[] = { "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                                            "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M" };
static const char *const archs[] = { "llama", "qwen2", "qwen3" };

static sllm_model *load_random_model(const char *arch, const char *type_name) {
    random_model_spec spec;
    random_model_defaults(&spec, arch);
    spec.n_embd = 256; /* K-quant blocks hold 256 values */
    spec.n_head = 8;
    spec.n_ff = 512;
    spec.seed = 7;
    char f32_path[512], path[512];
    testutil_temp_path(f32_path, sizeof f32_path, ".gguf");
    testutil_temp_path(path, sizeof path, ".gguf");
    ck_assert_int_eq(random_model_write(&spec, f32_path), SLLM_OK);
    ck_assert_msg(quantize_file(f32_path, path, type_name) == SLLM_OK, "quantize %s: %s", type_name, sllm_last_error());
    sllm_model *model = NULL;
    ck_assert_msg(sllm_model_load(path, NULL, &model) == SLLM_OK, "load: %s", sllm_last_error());
    unlink(f32_path);
    unlink(path);
    return model;
}

START_TEST(test_logits_are_bit_identical_for_any_chunking_and_thread_count) {
    const char *type_name = weight_types[_i];
    sllm_model *model = load_random_model(archs[_i % 3], type_name);
    int64_t n_vocab = sllm_model_n_vocab(model);
    int32_t tokens[N_TOKENS];
    for (int i = 0; i < N_TOKENS; i++) tokens[i] = (int32_t)((i * 37 + 11) % n_vocab);
    size_t bytes = (size_t)(N_TOKENS * n_vocab) * sizeof(float);
    float *expected = malloc(bytes), *got = malloc(bytes);
    sequence_logits(model, 1, N_TOKENS, N_TOKENS, tokens, expected);
    const struct { int64_t max_batch, step; } ways[] = {
        { N_TOKENS, N_TOKENS }, { 1, N_TOKENS }, { 7, N_TOKENS }, { 64, N_TOKENS }, { N_TOKENS, 1 }, { 64, 7 },
    };
    for (int n_threads = 1; n_threads <= 2; n_threads++) {
        for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
            memset(got, 0xff, bytes);
            sequence_logits(model, n_threads, ways[w].max_batch, ways[w].step, tokens, got);
            ck_assert_msg(memcmp(expected, got, bytes) == 0, "%s/%s: logits differ with %d threads, chunk %lld, step %lld",
                          archs[_i % 3], type_name, n_threads, (long long)ways[w].max_batch, (long long)ways[w].step);
        }
    }
    for (int64_t i = 0; i < N_TOKENS * n_vocab; i++) ck_assert(expected[i] == expected[i]); /* no NaN */
    free(expected);
    free(got);
    sllm_model_free(model);
}
END_TEST

/* Three sequences stepped together through forward_run_many (prompts of different
 * lengths, then decode tokens, one step with a 3-token chunk beside two decodes) give the
 * logits each gets alone through forward_run, bit for bit, whatever shares its pass. */
enum { N_SEQS = 3, SEQ_STEPS = 6 };

static int64_t step_tokens(int seq, int step) { return step == 0 ? 5 + 4 * seq : (seq == 1 && step == 3) ? 3 : 1; }

static int32_t seq_token(int seq, int64_t i, int64_t n_vocab) { return (int32_t)((i * 31 + seq * 17 + 5) % n_vocab); }

static const char *const batched_types[] = { "F32", "F16", "Q8_0", "Q4_K_M" };

START_TEST(test_sequences_sharing_a_pass_get_their_own_logits) {
    sllm_model *model = load_random_model(archs[_i % 3], batched_types[_i]);
    const int64_t n_vocab = sllm_model_n_vocab(model);
    int32_t tokens[N_SEQS][64];
    for (int seq = 0; seq < N_SEQS; seq++)
        for (int64_t i = 0; i < 64; i++) tokens[seq][i] = seq_token(seq, i, n_vocab);
    float *alone = malloc((size_t)(N_SEQS * SEQ_STEPS * n_vocab) * sizeof(float));
    float *together = malloc((size_t)(N_SEQS * n_vocab) * sizeof(float));
    for (int seq = 0; seq < N_SEQS; seq++) {
        runner r;
        runner_open(&r, model, 1, 64, SLLM_KV_F16, N_BLOCKS);
        for (int step = 0, done = 0; step < SEQ_STEPS; done += (int)step_tokens(seq, step), step++)
            ck_assert_int_eq(runner_step(&r, tokens[seq] + done, step_tokens(seq, step), done, 0,
                                         alone + (seq * SEQ_STEPS + step) * n_vocab), SLLM_OK);
        runner_close(&r);
    }
    runner shared;
    runner_open(&shared, model, 2, 64, SLLM_KV_F16, N_SEQS * N_BLOCKS);
    int64_t done[N_SEQS] = { 0 };
    for (int step = 0; step < SEQ_STEPS; step++) {
        forward_batch batches[N_SEQS];
        const forward_batch *ptrs[N_SEQS];
        for (int seq = 0; seq < N_SEQS; seq++) {
            batches[seq] = (forward_batch){ tokens[seq] + done[seq], step_tokens(seq, step), done[seq],
                                            shared.table + seq * N_BLOCKS, N_BLOCKS, shared.kv->buffer,
                                            &shared.layout, 0, together + seq * n_vocab };
            ptrs[seq] = &batches[seq];
        }
        ck_assert_int_eq(forward_run_many(shared.ctx, ptrs, N_SEQS), SLLM_OK);
        for (int seq = 0; seq < N_SEQS; seq++) {
            ck_assert_msg(memcmp(together + seq * n_vocab, alone + (seq * SEQ_STEPS + step) * n_vocab,
                                 (size_t)n_vocab * sizeof(float)) == 0,
                          "%s: sequence %d, step %d: logits differ in a shared pass", batched_types[_i], seq, step);
            done[seq] += step_tokens(seq, step);
        }
    }
    runner_close(&shared);
    free(alone);
    free(together);
    sllm_model_free(model);
}
END_TEST

START_TEST(test_positions_past_the_context_are_refused) {
    random_model_spec spec;
    random_model_defaults(&spec, "llama");
    spec.n_ctx = 32;
    char path[512];
    testutil_temp_path(path, sizeof path, ".gguf");
    ck_assert_int_eq(random_model_write(&spec, path), SLLM_OK);
    sllm_model *model = NULL;
    ck_assert_int_eq(sllm_model_load(path, NULL, &model), SLLM_OK);
    unlink(path);
    runner r;
    runner_open(&r, model, 1, 8, SLLM_KV_F32, 4);
    int32_t tokens[4] = { 1, 2, 3, 4 };
    float logits[256 * 4];
    ck_assert_int_eq(runner_step(&r, tokens, 4, 28, 0, logits), SLLM_OK);
    ck_assert_int_eq(runner_step(&r, tokens, 4, 29, 0, logits), SLLM_ERR_CONTEXT_OVERFLOW);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "33 tokens exceed the model's context of 32"));
    tokens[2] = 256;
    ck_assert_int_eq(runner_step(&r, tokens, 4, 0, 0, logits), SLLM_ERR_INVALID_TOKEN);
    ck_assert_ptr_nonnull(strstr(sllm_last_error(), "token id 256 at index 2"));
    runner_close(&r);
    sllm_model_free(model);
}
END_TEST

static int32_t argmax(const float *row, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (row[i] > row[best]) best = i;
    return (int32_t)best;
}

/* "The capital of France is" as SmolLM2's vocabulary spells it: The, Ġcapital, Ġof,
 * ĠFrance, Ġis. Expected continuation from the independent numpy reference
 * (tests/ref/model.py, float32): ĠParis . \n \n The; 7042 is "ĠParis" in the vocabulary. */
START_TEST(test_smollm2_continues_the_capital_of_france_with_paris) {
    char path[512];
    if (testutil_smollm_path(path, sizeof path) == NULL) return;
    sllm_model *model = NULL;
    ck_assert_int_eq(sllm_model_load(path, NULL, &model), SLLM_OK);
    runner r;
    runner_open(&r, model, 2, 16, SLLM_KV_F16, 4);
    int32_t prompt[5] = { 504, 3575, 282, 4649, 314 };
    const int32_t expected[5] = { 7042, 30, 198, 198, 504 };
    int64_t n_vocab = sllm_model_n_vocab(model);
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    ck_assert_int_eq(runner_step(&r, prompt, 5, 0, 0, logits), SLLM_OK);
    for (int step = 0; step < 5; step++) {
        int32_t next = argmax(logits, n_vocab);
        ck_assert_int_eq(next, expected[step]);
        ck_assert_int_eq(runner_step(&r, &next, 1, 5 + step, 0, logits), SLLM_OK);
    }
    free(logits);
    runner_close(&r);
    sllm_model_free(model);
}
END_TEST

static Suite *forward_suite(void) {
    Suite *suite = suite_create("forward");
    TCase *invariance = tcase_create("batch_invariance");
    tcase_set_timeout(invariance, 600);
    tcase_add_loop_test(invariance, test_logits_are_bit_identical_for_any_chunking_and_thread_count, 0,
                        (int)(sizeof weight_types / sizeof weight_types[0]));
    tcase_add_loop_test(invariance, test_sequences_sharing_a_pass_get_their_own_logits, 0,
                        (int)(sizeof batched_types / sizeof batched_types[0]));
    suite_add_tcase(suite, invariance);
    TCase *errors = tcase_create("errors");
    tcase_add_test(errors, test_positions_past_the_context_are_refused);
    suite_add_tcase(suite, errors);
    TCase *real = tcase_create("smollm2");
    tcase_set_timeout(real, 300);
    tcase_add_test(real, test_smollm2_continues_the_capital_of_france_with_paris);
    suite_add_tcase(suite, real);
    return suite;
}

int main(void) { return testutil_run_suite(forward_suite()) == 0 ? 0 : 1; }
