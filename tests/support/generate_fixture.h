/* Shared by the generate() suites: small chat models made with tests/tools/make_model
 * (and quantized), and the scripted conversations the tests replay. */
#ifndef SLLM_TESTS_GENERATE_FIXTURE_H
#define SLLM_TESTS_GENERATE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "statelessllm.h"

enum { FIXTURE_BLOCK_SIZE = 16, FIXTURE_N_CTX = 1024, FIXTURE_N_VOCAB = 512 };

/* Writes the test models to temp files: "F32" (width 256, 2 layers, vocab 512, context
 * 1024) and its "Q8_0" and "Q4_K" quantizations, plus "tiny" (width 64, F32) for the
 * concurrency suite. Call once from main() before the suite runs. Returns 0 on success,
 * else prints why and returns non-zero. */
int fixture_make_models(void);
void fixture_remove_models(void);

/* Loads one of the models fixture_make_models() wrote (fails the test on error). */
sllm_model *fixture_load_model(const char *name);

/* The request of turn `turn` (0-based) of conversation `topic`: a system message, then
 * for each earlier turn its user message and the assistant reply (text and token ids, as
 * its sllm_result returned them), then this turn's user message. */
sllm_request *fixture_conversation_request(unsigned topic, int turn, const char (*reply_text)[512],
                                           const size_t *reply_len, const int32_t (*reply_tokens)[64],
                                           const size_t *reply_n_tokens);

/* The user message of `turn` in conversation `topic` (ASCII, 3 to 8 words). */
void fixture_user_message(unsigned topic, int turn, char *out, size_t cap);

#endif
