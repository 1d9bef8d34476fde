/* Every ggml tensor type id: name, block size, bytes per block, and whether we compute it. */
#ifndef SLLM_FORMAT_GGML_TYPES_H
#define SLLM_FORMAT_GGML_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ids as ggml numbers them (ids 4, 5 and 31–33 were removed upstream and stay unknown). */
enum ggml_type_id {
    GGML_TYPE_F32 = 0, GGML_TYPE_F16 = 1, GGML_TYPE_Q4_0 = 2, GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6, GGML_TYPE_Q5_1 = 7, GGML_TYPE_Q8_0 = 8, GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10, GGML_TYPE_Q3_K = 11, GGML_TYPE_Q4_K = 12, GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14, GGML_TYPE_Q8_K = 15, GGML_TYPE_IQ2_XXS = 16, GGML_TYPE_IQ2_XS = 17,
    GGML_TYPE_IQ3_XXS = 18, GGML_TYPE_IQ1_S = 19, GGML_TYPE_IQ4_NL = 20, GGML_TYPE_IQ3_S = 21,
    GGML_TYPE_IQ2_S = 22, GGML_TYPE_IQ4_XS = 23, GGML_TYPE_I8 = 24, GGML_TYPE_I16 = 25,
    GGML_TYPE_I32 = 26, GGML_TYPE_I64 = 27, GGML_TYPE_F64 = 28, GGML_TYPE_IQ1_M = 29,
    GGML_TYPE_BF16 = 30, GGML_TYPE_TQ1_0 = 34, GGML_TYPE_TQ2_0 = 35, GGML_TYPE_MXFP4 = 39,
    GGML_TYPE_ID_LIMIT = 40
};

typedef struct ggml_type_traits {
    const char *name;       /* NULL for an unknown id */
    uint32_t block_size;    /* elements per block */
    uint32_t block_bytes;   /* bytes per block */
    bool computable;        /* the CPU backend has kernels for it */
} ggml_type_traits;

/* Traits of `type`, or NULL for an id ggml does not define. */
const ggml_type_traits *ggml_type_get(uint32_t type);

/* Bytes of one row of `n_elements` elements; false when the id is unknown, n_elements
 * is not a multiple of the block size, or the size overflows. */
bool ggml_row_size(uint32_t type, int64_t n_elements, uint64_t *bytes);

#endif
