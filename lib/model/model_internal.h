/* The sllm_model handle's contents, shared by the library's own files only. */
#ifndef SLLM_MODEL_INTERNAL_H
#define SLLM_MODEL_INTERNAL_H

#include "core/log.h"
#include "format/gguf.h"

struct tokenizer;

struct sllm_model {
    gguf_file *gguf;
    core_logger logger;
    struct tokenizer *tokenizer;   /* NULL when the file has no tokenizer.ggml.model */
};

#endif
