/* Binds each tensor an architecture needs to a zero-copy view, checking shape and type. */
#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NAME_CAP = 96 };

typedef enum tensor_kind {
    KIND_MATRIX,    /* any computable type; rows are dot products */
    KIND_VECTOR     /* norms, biases, frequency factors: F32 */
} tensor_kind;

static void format_dims(char *buf, size_t cap, uint32_t n_dims, const int64_t *dims) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (uint32_t d = 0; d < n_dims && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? ", " : "", (long long)dims[d]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

static sllm_status check_type(const gguf_tensor *tensor, tensor_kind kind) {
    const ggml_type_traits *traits = ggml_type_get(tensor->type);
    if (traits == NULL || traits->name == NULL)
        return core_fail(SLLM_ERR_UNSUPPORTED_TYPE, "tensor '%s' has unknown type id %u", tensor->name,
                         (unsigned)tensor->type);
    if (kind == KIND_VECTOR && tensor->type != GGML_TYPE_F32)
        return core_fail(SLLM_ERR_UNSUPPORTED_TYPE, "tensor '%s' has type %s, which is not supported (F32 expected)",
                         tensor->name, traits->name);
    if (!traits->computable)
        return core_fail(SLLM_ERR_UNSUPPORTED_TYPE, "tensor '%s' has type %s, which is not supported",
                         tensor->name, traits->name);
    uint64_t row_bytes;
    if (!ggml_row_size(tensor->type, tensor->dims[0], &row_bytes))
        return core_fail(SLLM_ERR_INVALID_MODEL, "tensor '%s': %lld columns is not a multiple of %s's block size %u",
                         tensor->name, (long long)tensor->dims[0], traits->name, (unsigned)traits->block_size);
    return SLLM_OK;
}

/* Binds `name` expecting dims [n_cols] (n_rows == 0) or [n_cols, n_rows]. A missing
 * tensor is an error only when `required`. */
static sllm_status bind(const gguf_file *gguf, const char *name, tensor_kind kind, int64_t n_cols,
                        int64_t n_rows, int required, model_tensor *out) {
    memset(out, 0, sizeof *out);
    const gguf_tensor *tensor = gguf_find_tensor(gguf, name);
    if (tensor == NULL) {
        if (required) return core_fail(SLLM_ERR_INVALID_MODEL, "tensor '%s' is missing", name);
        return SLLM_OK;
    }
    int64_t expected[2] = { n_cols, n_rows };
    uint32_t expected_dims = n_rows > 0 ? 2 : 1;
    int same = tensor->n_dims == expected_dims;
    for (uint32_t d = 0; same && d < expected_dims; d++) same = tensor->dims[d] == expected[d];
    if (!same) {
        char want[64], found[96];
        format_dims(want, sizeof want, expected_dims, expected);
        format_dims(found, sizeof found, tensor->n_dims, tensor->dims);
        return core_fail(SLLM_ERR_INVALID_MODEL, "tensor '%s': expected %s, found %s", name, want, found);
    }
    sllm_status status = check_type(tensor, kind);
    if (status != SLLM_OK) return status;
    out->name = tensor->name;
    out->data = tensor->data;
    out->type = tensor->type;
    out->n_cols = n_cols;
    out->n_rows = n_rows > 0 ? n_rows : 1;
    out->offset = tensor->offset;
    out->size_bytes = tensor->size_bytes;
    return SLLM_OK;
}

static sllm_status bind_layer_tensor(const gguf_file *gguf, int64_t layer, const char *suffix,
                                     tensor_kind kind, int64_t n_cols, int64_t n_rows, int required,
                                     model_tensor *out) {
    char name[NAME_CAP];
    snprintf(name, sizeof name, "blk.%lld.%s", (long long)layer, suffix);
    return bind(gguf, name, kind, n_cols, n_rows, required, out);
}

static sllm_status bind_layer(const gguf_file *gguf, const model_hparams *hp, int64_t il, model_layer *layer) {
    const int64_t n_embd = hp->n_embd, n_q = hp->n_head * hp->head_dim, n_kv = hp->n_head_kv * hp->head_dim;
    const int qwen2 = hp->arch == MODEL_ARCH_QWEN2, qwen3 = hp->arch == MODEL_ARCH_QWEN3;
    const struct {
        const char *suffix;
        tensor_kind kind;
        int64_t n_cols, n_rows;
        int required;
        model_tensor *out;
    } specs[] = {
        { "attn_norm.weight", KIND_VECTOR, n_embd, 0, 1, &layer->attn_norm },
        { "attn_q.weight", KIND_MATRIX, n_embd, n_q, 1, &layer->wq },
        { "attn_k.weight", KIND_MATRIX, n_embd, n_kv, 1, &layer->wk },
        { "attn_v.weight", KIND_MATRIX, n_embd, n_kv, 1, &layer->wv },
        { "attn_output.weight", KIND_MATRIX, n_q, n_embd, 1, &layer->wo },
        { "attn_q.bias", KIND_VECTOR, n_q, 0, qwen2, &layer->bq },
        { "attn_k.bias", KIND_VECTOR, n_kv, 0, qwen2, &layer->bk },
        { "attn_v.bias", KIND_VECTOR, n_kv, 0, qwen2, &layer->bv },
        { "attn_output.bias", KIND_VECTOR, n_embd, 0, 0, &layer->bo },
        { "attn_q_norm.weight", KIND_VECTOR, hp->head_dim, 0, qwen3, &layer->q_norm },
        { "attn_k_norm.weight", KIND_VECTOR, hp->head_dim, 0, qwen3, &layer->k_norm },
        { "ffn_norm.weight", KIND_VECTOR, n_embd, 0, 1, &layer->ffn_norm },
        { "ffn_gate.weight", KIND_MATRIX, n_embd, hp->n_ff, 1, &layer->ffn_gate },
        { "ffn_up.weight", KIND_MATRIX, n_embd, hp->n_ff, 1, &layer->ffn_up },
        { "ffn_down.weight", KIND_MATRIX, hp->n_ff, n_embd, 1, &layer->ffn_down },
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        sllm_status status = bind_layer_tensor(gguf, il, specs[i].suffix, specs[i].kind, specs[i].n_cols,
                                               specs[i].n_rows, specs[i].required, specs[i].out);
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

static sllm_status bind_globals(const gguf_file *gguf, const model_hparams *hp, model_weights *w) {
    sllm_status status = bind(gguf, "token_embd.weight", KIND_MATRIX, hp->n_embd, hp->n_vocab, 1, &w->token_embd);
    if (status != SLLM_OK) return status;
    status = bind(gguf, "output_norm.weight", KIND_VECTOR, hp->n_embd, 0, 1, &w->output_norm);
    if (status != SLLM_OK) return status;
    status = bind(gguf, "output.weight", KIND_MATRIX, hp->n_embd, hp->n_vocab, 0, &w->output);
    if (status != SLLM_OK) return status;
    if (w->output.data == NULL) {
        w->output = w->token_embd;
        w->tied_output = 1;
    }
    return bind(gguf, "rope_freqs.weight", KIND_VECTOR, hp->n_rot / 2, 0, 0, &w->rope_freqs);
}

sllm_status model_weights_bind(const gguf_file *gguf, const model_hparams *hp, model_weights *out) {
    model_weights weights;
    memset(&weights, 0, sizeof weights);
    sllm_status status = bind_globals(gguf, hp, &weights);
    if (status != SLLM_OK) return status;
    weights.layers = calloc((size_t)hp->n_layer, sizeof *weights.layers);
    if (weights.layers == NULL)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "out of memory binding %lld layers", (long long)hp->n_layer);
    weights.n_layers = hp->n_layer;
    for (int64_t il = 0; il < hp->n_layer; il++) {
        status = bind_layer(gguf, hp, il, &weights.layers[il]);
        if (status != SLLM_OK) goto fail;
    }
    weights.data = gguf->base + gguf->data_offset;
    weights.data_bytes = gguf->file_size - gguf->data_offset;
    *out = weights;
    return SLLM_OK;
fail:
    model_weights_free(&weights);
    return status;
}

void model_weights_free(model_weights *weights) {
    if (weights == NULL) return;
    free(weights->layers);
    weights->layers = NULL;
    weights->n_layers = 0;
}
