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
    PRETOK_COMMAND_R,
    /* llama.cpp's LLAMA_VOCAB_PRE_TYPE_DEFAULT, which is NOT gpt-2: punctuation runs
     * split off first, then the GPT-2 rules, then digit runs and groups of three
     * ASCII digits. llama.cpp uses it for tokenizer.ggml.pre "default" and for a
     * BPE vocabulary without tokenizer.ggml.pre. */
    PRETOK_LLAMA_CPP_DEFAULT
} pretok_kind;

/* Maps tokenizer.ggml.pre to a kind, with llama.cpp's (src/llama-vocab.cpp) names:
 *   gpt-2 (also jina-es, jina-de, gigachat, jina-v2-es, jina-v2-de, a.x-4.0, mellum,
 *   exaone4) -> PRETOK_DEFAULT; phi-2 -> PRETOK_PHI2; mpt, olmo, jais -> PRETOK_MPT
 *   (all four share the GPT-2 regex);
 *   llama3, llama-v3, llama-bpe, falcon3, falcon-h1, pixtral, midm-2.0, lfm2 -> PRETOK_LLAMA3;
 *   qwen2, deepseek-r1-qwen, kormo -> PRETOK_QWEN2; stablelm2 -> PRETOK_STABLELM2;
 *   smollm -> PRETOK_SMOLLM; starcoder, codeshell, exaone, minerva-7b -> PRETOK_STARCODER;
 *   refact -> PRETOK_REFACT; command-r -> PRETOK_COMMAND_R; falcon -> PRETOK_FALCON;
 *   deepseek-llm, deepseek-coder -> their kinds;
 *   "default" and absent (name NULL or len 0) -> PRETOK_LLAMA_CPP_DEFAULT.
 * Any other value: SLLM_ERR_UNSUPPORTED_TOKENIZER naming it. `name` need not be
 * NUL-terminated.
 * Vocab flags llama.cpp ties to these (for the tokenizer, not the splitter):
 * LLAMA3 sets ignore_merges and defaults add_bos to true; clean_spaces is false for
 * qwen2, smollm, command-r, deepseek-llm and deepseek-coder, true for the rest. */
sllm_status pretok_kind_from_name(const char *name, size_t len, pretok_kind *out);

typedef struct pretok_span {
    size_t start;
    size_t len;
} pretok_span;

/* Splits UTF-8 text into pieces (byte spans, in order, covering the text exactly,
 * none empty) the way llama.cpp's unicode_regex_split does for `kind`.
 * Grows *spans (realloc) as needed; *n_spans gets the count. *spans may be NULL with
 * *capacity 0 on the first call; reuse the buffer across calls to avoid allocation.
 * Empty text gives zero spans. The caller frees *spans (also after a failure).
 * Invalid UTF-8: each byte that does not start a well-formed sequence is one code
 * point of its own, classed as U+FFFD (a symbol, \p{S}), because llama.cpp
 * replaces it with U+FFFD before splitting. Note llama.cpp then also BPE-encodes
 * EF BF BD in its place; these spans keep the original byte. */
sllm_status pretok_split(pretok_kind kind, const char *text, size_t len, pretok_span **spans,
                         size_t *n_spans, size_t *capacity);

#endif
