/* Seeded random llama/qwen2/qwen3 GGUF files for the C tests, with optional defects. */
#ifndef SLLM_TESTS_RANDOM_MODEL_H
#define SLLM_TESTS_RANDOM_MODEL_H

#include <stdint.h>

#include "core/error.h"

typedef struct random_model_spec {
    const char *arch;               /* written as general.architecture */
    int64_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    uint32_t type;                  /* matrices: GGML_TYPE_F32 or GGML_TYPE_F16 */
    uint64_t seed;
    int tied;                       /* 1: no output.weight */
    int llama3_rope_freqs;          /* 1: add rope_freqs.weight */
    /* Defects, for load-error tests (NULL: none). */
    const char *omit_tensor;        /* leave this tensor out */
    const char *omit_key;           /* leave this metadata key out (full key) */
    const char *short_tensor;       /* write this 2-D tensor with one row less */
    const char *retyped_tensor;     /* write this tensor with type `retype` (zero data) */
    uint32_t retype;
} random_model_spec;

/* Defaults: width 64, 2 layers, 4 heads over 2 KV heads, ff 128, vocab 256, ctx 512,
 * F32, seed 1. Qwen2 gets Q/K/V biases, qwen3 Q/K norms, as the architecture requires. */
void random_model_defaults(random_model_spec *spec, const char *arch);

sllm_status random_model_write(const random_model_spec *spec, const char *path);

#endif
