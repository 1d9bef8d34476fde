/* Shared by the generate() suites: small chat models made with tests/tools/make_model
 * (and quantized), and the scripted conversations the tests replay. */
#ifndef SLLM_TESTS_GENERATE_FIXTURE_H
#define SLLM_TESTS_GENERATE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "statelessllm.h"

enum { FIXTURE_BLOCK_SIZE = 16, FIXTURE_N_CTX = 1024, FIXTURE_TINY_N_CTX = 512, FIXTURE_N_VOCAB = 512 };

/* Writes the test models to temp files: "F32" (width 256, 2 layers, vocab 512, context
 * 1024) and its "Q8_0" and "Q4_K" quantizations, plus "tiny" (qwen2, width 64, F32,
 * context 512) for everything else. Call once from main() before the suite runs. Returns 0 on success,
 * else prints why and returns non-zero. */
int fixture_make_models(void);
void fixture_remove_models(void);

/* Loads one of the models fixture_make_models() wrote (fails the test on error). */
sllm_model *fixture_load_model(const char *name);

enum { FIXTURE_MAX_TURNS = 12, FIXTURE_MAX_REPLY = 64 };

/* Everything the tests compare between runs of the same conversation: every logits vector
 * the sampler saw (through engine_generate's hook) and every turn's result. */
typedef struct fixture_recording {
    int64_t n_vocab;
    float *logits;              /* n_logits vectors of n_vocab */
    size_t n_logits, cap_logits;
    int32_t tokens[FIXTURE_MAX_TURNS * FIXTURE_MAX_REPLY];
    size_t n_tokens;
    size_t turn_tokens[FIXTURE_MAX_TURNS];
    uint64_t prompt[FIXTURE_MAX_TURNS], cached[FIXTURE_MAX_TURNS];
    sllm_finish_reason finish[FIXTURE_MAX_TURNS];
    int failed;                 /* the hook could not record (out of memory, wrong width) */
} fixture_recording;

void fixture_recording_init(fixture_recording *rec, const sllm_model *model);
void fixture_recording_free(fixture_recording *rec);
/* A generate_hooks.on_logits that appends to the fixture_recording in `user`. */
void fixture_record_logits(void *user, const float *logits, int64_t n_vocab);
/* Fails the test unless tokens, turn lengths, prompt lengths, finish reasons and every
 * logits vector (memcmp) are identical. Cached-token counts may differ. */
void fixture_assert_recordings_equal(const fixture_recording *a, const fixture_recording *b, const char *what);

/* A conversation as a host keeps it: the replies so far (text and token ids). */
typedef struct fixture_conversation {
    unsigned topic;             /* varies the user messages between conversations */
    int n_turns;                /* turns played */
    char reply_text[FIXTURE_MAX_TURNS][512];
    size_t reply_len[FIXTURE_MAX_TURNS];
    int32_t reply_tokens[FIXTURE_MAX_TURNS][FIXTURE_MAX_REPLY];
    size_t reply_n_tokens[FIXTURE_MAX_TURNS];
    fixture_recording *rec;
} fixture_conversation;

/* malloc'd (free() it); rec is not owned. */
fixture_conversation *fixture_conversation_create(unsigned topic, fixture_recording *rec);

/* Plays the next turn: a request with a system message, every earlier user message and
 * reply (with the token ids its result returned, via sllm_request_add_message_tokens),
 * and this turn's user message; records the result and its logits. */
void fixture_play_turn(sllm_cache *cache, fixture_conversation *conversation, const sllm_generate_params *params);

/* The same without Check assertions, for worker threads: returns the status and on failure
 * writes what failed to `error`. */
sllm_status fixture_try_turn(sllm_cache *cache, fixture_conversation *conversation, const sllm_generate_params *params,
                             char *error, size_t error_cap);

/* The user message of `turn` in conversation `topic` (ASCII, 2 to 5 words). */
void fixture_user_message(unsigned topic, int turn, char *out, size_t cap);

#endif
