/* The ggml tensor type table. Block sizes and byte sizes follow ggml's block structs. */
#include "format/ggml_types.h"

#include "statelessllm.h"

#define TYPE(id_, name_, block_, bytes_, computable_) \
    [id_] = { .name = name_, .block_size = block_, .block_bytes = bytes_, .computable = computable_ }

static const ggml_type_traits type_table[GGML_TYPE_ID_LIMIT] = {
    TYPE(GGML_TYPE_F32, "F32", 1, 4, true),
    TYPE(GGML_TYPE_F16, "F16", 1, 2, true),
    TYPE(GGML_TYPE_Q4_0, "Q4_0", 32, 18, true),
    TYPE(GGML_TYPE_Q4_1, "Q4_1", 32, 20, true),
    TYPE(GGML_TYPE_Q5_0, "Q5_0", 32, 22, true),
    TYPE(GGML_TYPE_Q5_1, "Q5_1", 32, 24, true),
    TYPE(GGML_TYPE_Q8_0, "Q8_0", 32, 34, true),
    TYPE(GGML_TYPE_Q8_1, "Q8_1", 32, 36, false),
    TYPE(GGML_TYPE_Q2_K, "Q2_K", 256, 84, false),
    TYPE(GGML_TYPE_Q3_K, "Q3_K", 256, 110, false),
    TYPE(GGML_TYPE_Q4_K, "Q4_K", 256, 144, true),
    TYPE(GGML_TYPE_Q5_K, "Q5_K", 256, 176, true),
    TYPE(GGML_TYPE_Q6_K, "Q6_K", 256, 210, true),
    TYPE(GGML_TYPE_Q8_K, "Q8_K", 256, 292, false),
    TYPE(GGML_TYPE_IQ2_XXS, "IQ2_XXS", 256, 66, false),
    TYPE(GGML_TYPE_IQ2_XS, "IQ2_XS", 256, 74, false),
    TYPE(GGML_TYPE_IQ3_XXS, "IQ3_XXS", 256, 98, false),
    TYPE(GGML_TYPE_IQ1_S, "IQ1_S", 256, 50, false),
    TYPE(GGML_TYPE_IQ4_NL, "IQ4_NL", 32, 18, false),
    TYPE(GGML_TYPE_IQ3_S, "IQ3_S", 256, 110, false),
    TYPE(GGML_TYPE_IQ2_S, "IQ2_S", 256, 82, false),
    TYPE(GGML_TYPE_IQ4_XS, "IQ4_XS", 256, 136, false),
    TYPE(GGML_TYPE_I8, "I8", 1, 1, false),
    TYPE(GGML_TYPE_I16, "I16", 1, 2, false),
    TYPE(GGML_TYPE_I32, "I32", 1, 4, false),
    TYPE(GGML_TYPE_I64, "I64", 1, 8, false),
    TYPE(GGML_TYPE_F64, "F64", 1, 8, false),
    TYPE(GGML_TYPE_IQ1_M, "IQ1_M", 256, 56, false),
    TYPE(GGML_TYPE_BF16, "BF16", 1, 2, true),
    TYPE(GGML_TYPE_TQ1_0, "TQ1_0", 256, 54, false),
    TYPE(GGML_TYPE_TQ2_0, "TQ2_0", 256, 66, false),
    TYPE(GGML_TYPE_MXFP4, "MXFP4", 32, 17, false),
};

const ggml_type_traits *ggml_type_get(uint32_t type) {
    if (type >= GGML_TYPE_ID_LIMIT || type_table[type].name == NULL) return NULL;
    return &type_table[type];
}

bool ggml_row_size(uint32_t type, int64_t n_elements, uint64_t *bytes) {
    const ggml_type_traits *traits = ggml_type_get(type);
    if (traits == NULL || n_elements < 0 || n_elements % traits->block_size != 0) return false;
    uint64_t n_blocks = (uint64_t)n_elements / traits->block_size;
    if (n_blocks > UINT64_MAX / traits->block_bytes) return false;
    *bytes = n_blocks * traits->block_bytes;
    return true;
}

SLLM_API const char *sllm_tensor_type_name(uint32_t type) {
    const ggml_type_traits *traits = ggml_type_get(type);
    return traits ? traits->name : NULL;
}
