/* Pre-tokenizers for byte-level BPE (stub: one piece per call until the matchers land). */
#include "tokenizer/pretokenize.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

sllm_status pretok_kind_from_name(const char *name, size_t len, pretok_kind *out) {
    if (!out) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "pretok_kind_from_name: out is NULL");
    if (!name || len == 0 || (len == 7 && memcmp(name, "default", 7) == 0) ||
        (len == 5 && memcmp(name, "gpt-2", 5) == 0)) {
        *out = PRETOK_DEFAULT;
        return SLLM_OK;
    }
    return core_fail(SLLM_ERR_UNSUPPORTED_TOKENIZER, "unsupported pre-tokenizer '%.*s'",
                     (int)(len > 200 ? 200 : len), name);
}

sllm_status pretok_split(pretok_kind kind, const char *text, size_t len, pretok_span **spans,
                         size_t *n_spans, size_t *capacity) {
    if (!spans || !n_spans || !capacity || (!text && len))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "pretok_split: NULL argument");
    *n_spans = 0;
    if (len == 0) return SLLM_OK;
    if (*capacity < 1) {
        pretok_span *grown = realloc(*spans, 16 * sizeof *grown);
        if (!grown) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "pretok_split: out of memory");
        *spans = grown;
        *capacity = 16;
    }
    (*spans)[0].start = 0;
    (*spans)[0].len = len;
    *n_spans = 1;
    return SLLM_OK;
}
