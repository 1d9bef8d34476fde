/* K/V layout naming: two caches share hashes only when their K/V bytes are interchangeable. */
#include "cache/kv_layout.h"

#include <stdio.h>

const char *kv_dtype_name(sllm_kv_dtype dtype) {
    switch (dtype) {
    case SLLM_KV_F16: return "f16";
    case SLLM_KV_F32: return "f32";
    case SLLM_KV_BF16: return "bf16";
    case SLLM_KV_Q8_0: return "q8_0";
    }
    return NULL;
}

void kv_layout_describe(sllm_kv_dtype dtype, size_t block_size, char out[KV_LAYOUT_CAPACITY]) {
    const char *name = kv_dtype_name(dtype);
    snprintf(out, KV_LAYOUT_CAPACITY, "dtype=%s;block_size=%zu;order=head,token,dim",
             name ? name : "?", block_size);
}
