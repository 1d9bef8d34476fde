/* The public tokenizer API: sllm_tokenize, sllm_detokenize, sllm_token_piece and the special
 * token queries, over the model's struct tokenizer. */
#include <string.h>

#include "model/model_internal.h"
#include "tokenizer/tokenizer.h"

static sllm_status model_tokenizer(const sllm_model *model, const char *fn,
                                   const struct tokenizer **tok) {
    if (model == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
    if (model->tokenizer == NULL)
        return core_fail(SLLM_ERR_UNSUPPORTED_TOKENIZER, "%s: the model file has no tokenizer", fn);
    *tok = model->tokenizer;
    return SLLM_OK;
}

/* Copies what fits and reports the full size, the convention of every sized output here. */
static sllm_status copy_out(const char *fn, const void *data, size_t n, size_t elem_size, void *out,
                            size_t capacity) {
    if (n > capacity)
        return core_fail(SLLM_ERR_BUFFER_TOO_SMALL, "%s: needs room for %zu, capacity is %zu", fn, n,
                         capacity);
    if (n) memcpy(out, data, n * elem_size);
    return SLLM_OK;
}

SLLM_API sllm_status sllm_tokenize(const sllm_model *model, const char *text, size_t len,
                                   uint32_t flags, int32_t *out, size_t capacity, size_t *n_tokens) {
    const struct tokenizer *tok = NULL;
    sllm_status status = model_tokenizer(model, "sllm_tokenize", &tok);
    if (status != SLLM_OK) return status;
    if (n_tokens == NULL || (text == NULL && len > 0) || (out == NULL && capacity > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_tokenize: NULL text, out or n_tokens");
    if (flags & ~(uint32_t)(SLLM_TOKENIZE_ADD_SPECIAL | SLLM_TOKENIZE_PARSE_SPECIAL))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_tokenize: unknown flags 0x%x", (unsigned)flags);
    tok_ids ids = { 0 };
    status = tok_tokenize(tok, text, len, (flags & SLLM_TOKENIZE_ADD_SPECIAL) != 0,
                          (flags & SLLM_TOKENIZE_PARSE_SPECIAL) != 0, &ids);
    if (status == SLLM_OK) {
        *n_tokens = ids.len;
        status = copy_out("sllm_tokenize", ids.data, ids.len, sizeof *ids.data, out, capacity);
    }
    tok_ids_free(&ids);
    return status;
}

SLLM_API sllm_status sllm_detokenize(const sllm_model *model, const int32_t *tokens, size_t n_tokens,
                                     uint32_t flags, char *out, size_t capacity, size_t *n_bytes) {
    const struct tokenizer *tok = NULL;
    sllm_status status = model_tokenizer(model, "sllm_detokenize", &tok);
    if (status != SLLM_OK) return status;
    if (n_bytes == NULL || (tokens == NULL && n_tokens > 0) || (out == NULL && capacity > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_detokenize: NULL tokens, out or n_bytes");
    if (flags & ~(uint32_t)(SLLM_DETOKENIZE_RENDER_SPECIAL | SLLM_DETOKENIZE_KEEP_LEADING_SPACE))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_detokenize: unknown flags 0x%x", (unsigned)flags);
    tok_bytes text = { 0 };
    status = tok_detokenize(tok, tokens, n_tokens, (flags & SLLM_DETOKENIZE_RENDER_SPECIAL) != 0,
                            (flags & SLLM_DETOKENIZE_KEEP_LEADING_SPACE) != 0, &text);
    if (status == SLLM_OK) {
        *n_bytes = text.len;
        status = copy_out("sllm_detokenize", text.data, text.len, 1, out, capacity);
    }
    tok_bytes_free(&text);
    return status;
}

SLLM_API sllm_status sllm_token_piece(const sllm_model *model, int32_t token, char *out,
                                      size_t capacity, size_t *n_bytes) {
    const struct tokenizer *tok = NULL;
    sllm_status status = model_tokenizer(model, "sllm_token_piece", &tok);
    if (status != SLLM_OK) return status;
    if (n_bytes == NULL || (out == NULL && capacity > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_token_piece: NULL out or n_bytes");
    if (token < 0 || token >= tok->n_vocab)
        return core_fail(SLLM_ERR_INVALID_TOKEN, "sllm_token_piece: token %d is outside the vocabulary [0, %d)",
                         (int)token, (int)tok->n_vocab);
    const char *piece;
    size_t len;
    tok_piece(tok, token, true, &piece, &len);
    *n_bytes = len;
    return copy_out("sllm_token_piece", piece, len, 1, out, capacity);
}

SLLM_API int32_t sllm_token_bos(const sllm_model *model) {
    return model && model->tokenizer ? model->tokenizer->bos : -1;
}

SLLM_API int32_t sllm_token_eos(const sllm_model *model) {
    return model && model->tokenizer ? model->tokenizer->eos : -1;
}

SLLM_API int32_t sllm_token_eot(const sllm_model *model) {
    return model && model->tokenizer ? model->tokenizer->eot : -1;
}

SLLM_API int sllm_token_is_eog(const sllm_model *model, int32_t token) {
    if (model == NULL || model->tokenizer == NULL || token < 0 || token >= model->tokenizer->n_vocab)
        return 0;
    return model->tokenizer->is_eog[token];
}

SLLM_API int32_t sllm_vocab_size(const sllm_model *model) {
    return model && model->tokenizer ? model->tokenizer->n_vocab : 0;
}
