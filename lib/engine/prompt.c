/* Prompt building: render messages with the chat template, tokenize each segment on its own. */
#include "engine/prompt.h"

#include <stdio.h>
#include <stdlib.h>

#include "model/model_internal.h"

static sllm_status check_token_ids(const int32_t *tokens, size_t n_tokens, int32_t n_vocab, const char *what) {
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return core_fail(SLLM_ERR_INVALID_TOKEN, "%s: token %zu is %d, outside the vocabulary [0, %d)",
                             what, i, (int)tokens[i], (int)n_vocab);
    return SLLM_OK;
}

static sllm_status select_template(const sllm_model *model, const sllm_generate_params *params,
                                   chat_template_kind *kind) {
    gguf_string text = { NULL, 0 };
    gguf_get_string(model->gguf, "tokenizer.chat_template", &text); /* absent: text stays empty */
    return chat_template_select(params->chat_template, text.data, (size_t)text.len, kind);
}

static sllm_status append_segment(const struct tokenizer *tok, const sllm_request *req,
                                  const chat_segment *segment, int *tokens_used, tok_ids *out) {
    if (segment->is_special_markup)
        return tok_tokenize(tok, segment->text, segment->len, false, true, out);
    const request_message *message = &req->conversation.messages[segment->message_index];
    if (!message->has_token_ids) return tok_tokenize(tok, segment->text, segment->len, false, false, out);
    /* The message's own ids stand for all of its content; later pieces of it add nothing. */
    if (tokens_used[segment->message_index]) return SLLM_OK;
    tokens_used[segment->message_index] = 1;
    sllm_status status = tok_ids_reserve(out, message->n_token_ids);
    if (status != SLLM_OK) return status;
    for (size_t i = 0; i < message->n_token_ids; i++) out->data[out->len++] = message->token_ids[i];
    return SLLM_OK;
}

static sllm_status build_from_messages(const sllm_model *model, const sllm_request *req,
                                       const sllm_generate_params *params, tok_ids *out) {
    const struct tokenizer *tok = model->tokenizer;
    if (req->conversation.n_messages == 0)
        return core_fail(SLLM_ERR_INVALID_REQUEST, "the request has no messages");
    for (size_t i = 0; i < req->conversation.n_messages; i++) {
        const request_message *message = &req->conversation.messages[i];
        if (!message->has_token_ids) continue;
        char what[64];
        snprintf(what, sizeof what, "message %zu token_ids", i);
        sllm_status status = check_token_ids(message->token_ids, message->n_token_ids, tok->n_vocab, what);
        if (status != SLLM_OK) return status;
    }
    chat_template_kind kind;
    sllm_status status = select_template(model, params, &kind);
    if (status != SLLM_OK) return status;
    chat_message *messages = calloc(req->conversation.n_messages, sizeof *messages);
    int *tokens_used = calloc(req->conversation.n_messages, sizeof *tokens_used);
    chat_rendered rendered = { 0 };
    if (messages == NULL || tokens_used == NULL) {
        status = core_fail(SLLM_ERR_OUT_OF_MEMORY, "prompt: out of memory");
        goto done;
    }
    for (size_t i = 0; i < req->conversation.n_messages; i++)
        messages[i] = (chat_message){ req->conversation.messages[i].role, req->conversation.messages[i].content,
                                      req->conversation.messages[i].content_len };
    status = chat_render(kind, messages, req->conversation.n_messages, params->add_generation_prompt != 0, &rendered);
    if (status != SLLM_OK) goto done;
    if (tok->add_bos && tok->bos >= 0 && !chat_template_includes_bos(kind)) status = tok_ids_push(out, tok->bos);
    for (size_t i = 0; i < rendered.n_segments && status == SLLM_OK; i++)
        status = append_segment(tok, req, &rendered.segments[i], tokens_used, out);
done:
    chat_rendered_free(&rendered);
    free(messages);
    free(tokens_used);
    return status;
}

sllm_status prompt_build(const sllm_model *model, const sllm_request *req,
                         const sllm_generate_params *params, tok_ids *out) {
    if (req->kind == REQUEST_PROMPT_TOKENS) {
        if (req->n_prompt_tokens == 0)
            return core_fail(SLLM_ERR_INVALID_REQUEST, "the request's prompt has no tokens");
        sllm_status status = check_token_ids(req->prompt_tokens, req->n_prompt_tokens,
                                             (int32_t)model->hparams.n_vocab, "prompt");
        if (status == SLLM_OK) status = tok_ids_reserve(out, req->n_prompt_tokens);
        if (status != SLLM_OK) return status;
        for (size_t i = 0; i < req->n_prompt_tokens; i++) out->data[out->len++] = req->prompt_tokens[i];
        return SLLM_OK;
    }
    if (model->tokenizer == NULL)
        return core_fail(SLLM_ERR_UNSUPPORTED_TOKENIZER, "the model has no tokenizer: pass prompt tokens");
    if (req->kind == REQUEST_PROMPT_TEXT) {
        sllm_status status = tok_tokenize(model->tokenizer, req->prompt_text, req->prompt_text_len,
                                          true, false, out);
        if (status == SLLM_OK && out->len == 0)
            return core_fail(SLLM_ERR_INVALID_REQUEST, "the prompt text gives no tokens");
        return status;
    }
    return build_from_messages(model, req, params, out);
}
