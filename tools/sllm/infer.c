/* The CLI's single-sequence inference loop over the engine's forward pass. */
#include "infer.h"

#include <stdlib.h>
#include <string.h>

#include "commands.h"

enum { CLI_BLOCK_SIZE = 16 };

int cli_infer_open(cli_infer *infer, sllm_model *model, int n_threads, int64_t max_tokens, int64_t max_batch) {
    memset(infer, 0, sizeof *infer);
    infer->model = model;
    infer->n_vocab = sllm_model_n_vocab(model);
    infer->n_blocks = (max_tokens + CLI_BLOCK_SIZE - 1) / CLI_BLOCK_SIZE;
    forward_kv_layout(model, SLLM_KV_F16, CLI_BLOCK_SIZE, &infer->layout);
    infer->table = malloc((size_t)infer->n_blocks * sizeof *infer->table);
    infer->logits = malloc((size_t)infer->n_vocab * sizeof *infer->logits);
    sllm_status status = infer->table && infer->logits ? SLLM_OK : SLLM_ERR_OUT_OF_MEMORY;
    if (status == SLLM_OK) status = cpu_backend_create(n_threads, &infer->backend);
    if (status == SLLM_OK) status = forward_create(model, infer->backend, max_batch, &infer->ctx);
    if (status == SLLM_OK) status = kv_simple_create(infer->backend, &infer->layout, infer->n_blocks, &infer->kv);
    if (status == SLLM_OK) status = kv_simple_alloc(infer->kv, infer->n_blocks, infer->table);
    if (status == SLLM_OK) return 0;
    cli_fail("cannot set up inference", status);
    cli_infer_close(infer);
    return 1;
}

void cli_infer_close(cli_infer *infer) {
    kv_simple_free(infer->kv);
    forward_free(infer->ctx);
    if (infer->backend) infer->backend->ops->destroy(infer->backend);
    free(infer->table);
    free(infer->logits);
    memset(infer, 0, sizeof *infer);
}

sllm_status cli_infer_step(cli_infer *infer, const int32_t *tokens, int64_t n_tokens, int64_t n_past) {
    forward_batch batch = { tokens, n_tokens, n_past, infer->table, infer->n_blocks, infer->kv->buffer,
                            &infer->layout, 0, infer->logits };
    return forward_run(infer->ctx, &batch);
}
