/* Pre-tokenizers for byte-level BPE: the regex splitting step of each llama.cpp
 * `tokenizer.ggml.pre` family, hand-written over Unicode categories (no regex library). */
#ifndef SLLM_TOKENIZER_PRETOKENIZE_H
#define SLLM_TOKENIZER_PRETOKENIZE_H

#include <stddef.h>

#include "statelessllm.h"

typedef enum pretok_kind {
    PRETOK_DEFAULT /* gpt-2 */,
    PRETOK_LLAMA3,
    PRETOK_QWEN2,
    PRETOK_SMOLLM,
    PRETOK_DEEPSEEK_LLM,
    PRETOK_DEEPSEEK_CODER,
    PRETOK_FALCON,
    PRETOK_STARCODER,
    PRETOK_REFACT,
    PRETOK_MPT,
    PRETOK_PHI2,
    PRETOK_STABLELM2,
    PRETOK_COMMAND_R
} pretok_kind;

/* Maps tokenizer.ggml.pre (e.g. "gpt-2", "llama-bpe", "qwen2", "smollm", ...;
 * "default" and absent (name NULL or len 0) -> PRETOK_DEFAULT) to a kind;
 * SLLM_ERR_UNSUPPORTED_TOKENIZER naming the value otherwise. `name` need not be
 * NUL-terminated. */
sllm_status pretok_kind_from_name(const char *name, size_t len, pretok_kind *out);

typedef struct pretok_span {
    size_t start;
    size_t len;
} pretok_span;

/* Splits UTF-8 text into pieces (byte spans, in order, covering the text exactly).
 * Grows *spans (realloc) as needed; *n_spans gets the count. *spans may be NULL with
 * *capacity 0 on the first call; reuse the buffer across calls to avoid allocation.
 * Invalid UTF-8 bytes are treated as single code points of category "other".
 * Empty text gives zero spans. */
sllm_status pretok_split(pretok_kind kind, const char *text, size_t len, pretok_span **spans,
                         size_t *n_spans, size_t *capacity);

#endif
