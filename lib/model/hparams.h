/* Model hyper-parameters read from GGUF metadata, and the table of supported architectures. */
#ifndef SLLM_MODEL_HPARAMS_H
#define SLLM_MODEL_HPARAMS_H

#include <stdint.h>

#include "format/gguf.h"

typedef enum model_arch {
    MODEL_ARCH_LLAMA = 0,   /* also Mistral, TinyLlama, SmolLM (llama.cpp converts them to llama) */
    MODEL_ARCH_QWEN2 = 1,   /* Q/K/V biases */
    MODEL_ARCH_QWEN3 = 2    /* per-head RMSNorm of Q and K */
} model_arch;

/* How RoPE pairs the dimensions of a head (llama.cpp's llama_model_rope_type). */
typedef enum model_rope_type {
    MODEL_ROPE_NORM = 0,    /* adjacent pairs (x[2i], x[2i+1]): llama */
    MODEL_ROPE_NEOX = 2     /* halves (x[i], x[i + n_rot/2]): qwen2, qwen3 */
} model_rope_type;

typedef struct model_hparams {
    model_arch arch;
    const char *arch_name;      /* static: "llama", "qwen2", "qwen3" */
    int64_t n_ctx;              /* context_length (training context) */
    int64_t n_embd;
    int64_t n_layer;
    int64_t n_ff;
    int64_t n_head;
    int64_t n_head_kv;
    int64_t head_dim;           /* attention.key_length, default n_embd / n_head */
    int64_t n_rot;              /* rope.dimension_count, default head_dim */
    int64_t n_vocab;            /* rows of token_embd.weight */
    float rms_eps;
    float rope_freq_base;
    float rope_freq_scale;      /* 1 / rope.scaling.factor for linear scaling, else 1 */
    model_rope_type rope_type;
} model_hparams;

/* Reads and checks the hyper-parameters of `general.architecture`. Errors:
 * UNSUPPORTED_ARCH (naming the architecture), INVALID_MODEL (a key missing, of the
 * wrong type or inconsistent, naming the key). */
sllm_status model_hparams_read(const gguf_file *gguf, model_hparams *out);

#endif
