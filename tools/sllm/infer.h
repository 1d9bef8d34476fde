/* The CLI's single-sequence inference loop for `run` and `bench`: model, CPU backend,
 * forward context and a K/V pool sized for one sequence. */
#ifndef SLLM_CLI_INFER_H
#define SLLM_CLI_INFER_H

#include <stdint.h>

#include "backend/cpu/cpu_backend.h"
#include "engine/forward.h"
#include "engine/kv_simple.h"
#include "statelessllm.h"

typedef struct cli_infer {
    sllm_model *model;
    sllm_backend *backend;
    forward_context *ctx;
    kv_simple *kv;
    sllm_kv_layout layout;
    int32_t *table;
    int64_t n_blocks;
    int64_t n_vocab;
    float *logits;          /* the last step's logits of its last token */
} cli_infer;

/* Room for max_tokens tokens of one sequence, prefill chunks of max_batch tokens.
 * Returns 0, or prints the error and returns 1 (everything released). */
int cli_infer_open(cli_infer *infer, sllm_model *model, int n_threads, int64_t max_tokens, int64_t max_batch);
void cli_infer_close(cli_infer *infer);

/* Runs tokens at positions n_past.. and leaves the last token's logits in infer->logits. */
sllm_status cli_infer_step(cli_infer *infer, const int32_t *tokens, int64_t n_tokens, int64_t n_past);

#endif
