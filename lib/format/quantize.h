/* Re-quantizes a whole GGUF model file to one of the supported weight types / mixes. */
#ifndef SLLM_FORMAT_QUANTIZE_H
#define SLLM_FORMAT_QUANTIZE_H

#include <stdint.h>

#include "core/error.h"

/* Reads `in_path`, writes `out_path` with every 2-D+ weight in `type_name`'s type:
 * F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K (Q4_K_S, Q5_K_S are aliases of
 * Q4_K, Q5_K) or the mixes Q4_K_M / Q5_K_M. llama.cpp's rules (llama_tensor_get_type):
 * 1-D tensors (norms, biases) keep their type; output.weight (token_embd.weight when the
 * output is tied) becomes Q6_K for every quantized type; the _M mixes use Q6_K for
 * attn_v and ffn_down in the layers use_more_bits picks; a K type on rows that are not a
 * multiple of 256 falls back to Q5_0 (Q4_K), Q5_1 (Q5_K) or Q8_0 (Q6_K), and a 32-block
 * type on rows that are not a multiple of 32 to F16. Metadata is copied, with
 * general.file_type set to llama.cpp's ftype number. */
sllm_status quantize_file(const char *in_path, const char *out_path, const char *type_name);

/* The type quantize_file gives tensor `name` of shape dims (n_dims) under the mix
 * `type_name`, given the tensor's position among attn_v / ffn_down tensors. Exposed for
 * tests. Returns false for an unknown type name. */
typedef struct quantize_plan {
    uint32_t base_type;      /* ggml type of ordinary weights */
    int mix;                 /* 0 none, 1 for the _M mixes */
    uint32_t file_type;      /* llama.cpp's LLAMA_FTYPE_* number */
} quantize_plan;

sllm_status quantize_plan_for(const char *type_name, quantize_plan *plan);

uint32_t quantize_tensor_type(const quantize_plan *plan, const char *name, uint32_t n_dims,
                              const int64_t *dims, uint32_t source_type, int has_output,
                              int layer_index, int n_layers);

#endif
