/* Binding of the tensors an architecture needs: presence, shape and type checked at load. */
#ifndef SLLM_MODEL_WEIGHTS_H
#define SLLM_MODEL_WEIGHTS_H

#include <stdint.h>

#include "model/hparams.h"

/* One weight: into the mapped file, or into the model's huge-page copy after
 * model_weights_copy_in (which also moves `offset` and may set `layout`). data == NULL:
 * absent (optional tensor).
 * Matrices are n_rows rows of n_cols elements (GGUF dims[0] = n_cols); vectors have
 * n_rows == 1. */
typedef struct model_tensor {
    const char *name;       /* owned by the gguf_file */
    const void *data;
    uint32_t type;          /* ggml type id */
    int64_t n_cols;
    int64_t n_rows;
    uint64_t offset;        /* from weights->data (the GGUF data section, or the copy) */
    uint64_t size_bytes;
    int layout;             /* sllm_weight_layout: ROWS unless repacked at load */
} model_tensor;

typedef struct model_layer {
    model_tensor attn_norm;
    model_tensor wq, wk, wv, wo;
    model_tensor bq, bk, bv, bo;        /* biases: qwen2 requires q/k/v; optional otherwise */
    model_tensor q_norm, k_norm;        /* qwen3: RMSNorm weights of length head_dim */
    model_tensor ffn_norm;
    model_tensor ffn_gate, ffn_up, ffn_down;
} model_layer;

typedef struct model_weights {
    model_tensor token_embd;            /* [n_embd, n_vocab] */
    model_tensor output_norm;
    model_tensor output;                /* token_embd when the file has no output.weight */
    model_tensor rope_freqs;            /* optional: n_rot/2 frequency divisors (Llama 3) */
    int tied_output;
    int64_t n_layers;
    model_layer *layers;
    uint64_t data_bytes;                /* size of the GGUF data section */
    const void *data;                   /* start of the GGUF data section */
} model_weights;

/* Finds and checks every tensor `hp` requires. Errors name the tensor:
 * INVALID_MODEL "tensor 'blk.3.ffn_up.weight': expected [576, 1536], found [576, 1535]"
 * or "... is missing"; UNSUPPORTED_TYPE "tensor 'blk.0.attn_q.weight' has type IQ2_XXS,
 * which is not supported". Norms, biases and rope_freqs must be F32. */
sllm_status model_weights_bind(const gguf_file *gguf, const model_hparams *hp, model_weights *out);
void model_weights_free(model_weights *weights);

#endif
