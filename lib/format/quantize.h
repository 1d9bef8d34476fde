/* Re-quantizes a whole GGUF model file to one of the supported weight types / mixes. */
#ifndef SLLM_FORMAT_QUANTIZE_H
#define SLLM_FORMAT_QUANTIZE_H

#include <stdint.h>

#include "core/error.h"

/* Reads `in_path`, writes `out_path` with every 2-D+ weight in `type_name`'s type:
 * F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K, or llama.cpp's file types
 * Q4_K_S Q4_K_M Q5_K_S Q5_K_M, whose per-tensor types follow llama.cpp's
 * llama_tensor_get_type for dense llama / qwen2 / qwen3 models (the rules are written
 * out in quantize.c and docs/formats.md). Q4_K and Q5_K are this project's uniform types
 * (every weight in that type, output.weight in Q6_K), not llama.cpp's aliases of the _M
 * mixes. Metadata is copied, with general.file_type set to llama.cpp's ftype number. */
sllm_status quantize_file(const char *in_path, const char *out_path, const char *type_name);

/* Which of llama.cpp's per-tensor rules a type name brings. */
typedef enum quantize_mix {
    QUANTIZE_UNIFORM = 0,    /* output rule and row-length fallbacks only */
    QUANTIZE_MIX_Q4_K_S,
    QUANTIZE_MIX_M           /* Q4_K_M, Q5_K_M */
} quantize_mix;

typedef struct quantize_plan {
    uint32_t base_type;      /* ggml type of ordinary weights */
    quantize_mix mix;
    uint32_t file_type;      /* llama.cpp's LLAMA_FTYPE_* number */
} quantize_plan;

/* What the rules need to know about the whole model. */
typedef struct quantize_model {
    int n_layer;             /* <arch>.block_count: llama.cpp's n_ffn_down */
    int n_attn_v;            /* attn_v (attn_qkv, attn_kv_b) weights: n_attention_wv */
    int has_output;          /* output.weight exists; else token_embd.weight is the output */
    int is_70b;              /* llama.cpp's LLM_TYPE_70B (raises Q4_K attn_v to Q5_K) */
} quantize_model;

sllm_status quantize_plan_for(const char *type_name, quantize_plan *plan);

/* The type quantize_file gives tensor `name` of shape dims (n_dims). `index` is the
 * tensor's position among the model's attn_v weights (for attn_v) or ffn_down weights
 * (for ffn_down) in llama.cpp's order: by layer number, then by name. Exposed for tests. */
uint32_t quantize_tensor_type(const quantize_plan *plan, const quantize_model *model, const char *name,
                              uint32_t n_dims, const int64_t *dims, uint32_t source_type, int index);

#endif
