/* One forward step of one sequence through the backend vtable, with K/V in paged blocks. */
#ifndef SLLM_ENGINE_FORWARD_H
#define SLLM_ENGINE_FORWARD_H

#include <stdint.h>

#include "core/error.h"
#include "statelessllm_backend.h"

typedef struct forward_context forward_context;

/* Views of `model`'s weights on `backend` (zero-copy on the CPU) and scratch for up to
 * max_batch_tokens tokens per step, all allocated here once: forward_run allocates
 * nothing. The model (fully loaded, not metadata_only) and the backend must outlive the
 * context. */
sllm_status forward_create(const sllm_model *model, sllm_backend *backend, int64_t max_batch_tokens,
                           forward_context **out);
void forward_free(forward_context *ctx);

/* The K/V layout `model` needs for a pool of `dtype` with `block_size` tokens per block. */
void forward_kv_layout(const sllm_model *model, sllm_kv_dtype dtype, int64_t block_size, sllm_kv_layout *out);

typedef struct forward_batch {
    const int32_t *tokens;          /* the new tokens, at positions n_past .. n_past + n_tokens - 1 */
    int64_t n_tokens;
    int64_t n_past;                 /* tokens of this sequence whose K/V are already in the pool */
    const int32_t *block_table;     /* block ids of the sequence, covering n_past + n_tokens */
    int64_t n_blocks;
    sllm_backend_buffer *kv_pool;
    const sllm_kv_layout *kv_layout;
    int all_logits;                 /* 1: logits of every new token; 0: of the last one only */
    float *logits;                  /* host: n_vocab floats, or n_tokens * n_vocab when all_logits */
} forward_batch;

/* Runs the new tokens through the model in chunks of at most max_batch_tokens, writing
 * their K/V into the pool and the requested logits to batch->logits. Chunking never
 * changes a result bit. Errors: INVALID_ARGUMENT, INVALID_TOKEN, CONTEXT_OVERFLOW
 * (positions past the model's context), backend failures. */
sllm_status forward_run(forward_context *ctx, const forward_batch *batch);

/* Several sequences' new tokens in one pass, so that their matmuls share each read of
 * the weights: the results equal one forward_run per batch, bit for bit (every kernel is
 * batch-invariant). Batches that want only their last logits, share one pool and fit
 * max_batch_tokens together share the pass; otherwise they run one after another. */
sllm_status forward_run_many(forward_context *ctx, const forward_batch *const *batches, int64_t n_batches);

int64_t forward_n_vocab(const forward_context *ctx);

#endif
