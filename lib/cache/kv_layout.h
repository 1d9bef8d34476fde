/* The string that names a cache's K/V layout inside the hash chain (dtype, block size). */
#ifndef SLLM_CACHE_KV_LAYOUT_H
#define SLLM_CACHE_KV_LAYOUT_H

#include <stddef.h>

#include "statelessllm.h"

enum { KV_LAYOUT_CAPACITY = 96 };

/* Name of a KV dtype ("f16"), or NULL for an unknown value. */
const char *kv_dtype_name(sllm_kv_dtype dtype);

/* Writes e.g. "dtype=f16;block_size=16;order=head,token,dim". */
void kv_layout_describe(sllm_kv_dtype dtype, size_t block_size, char out[KV_LAYOUT_CAPACITY]);

#endif
