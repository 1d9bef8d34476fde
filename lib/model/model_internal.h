/* The sllm_model handle's contents, shared by the library's own files only. */
#ifndef SLLM_MODEL_INTERNAL_H
#define SLLM_MODEL_INTERNAL_H

#include <stdint.h>

#include "core/hugemem.h"
#include "core/log.h"
#include "format/gguf.h"
#include "model/hparams.h"
#include "model/weights.h"

struct tokenizer;

struct sllm_model {
    gguf_file *gguf;
    core_logger logger;
    struct tokenizer *tokenizer;   /* NULL when the file has no tokenizer.ggml.model */
    uint8_t model_id[32];          /* BLAKE2b-256 of the GGUF header, metadata, tensor infos
                                      and file size: names the model in cache hashes */
    int has_weights;               /* hparams and weights are valid (not metadata_only) */
    model_hparams hparams;
    model_weights weights;
    core_region weights_region;    /* the copy of the tensor data (SLLM_WEIGHTS_COPY) */
    char weights_layout[160];      /* sllm_model_weights_layout's text */
};

#endif
