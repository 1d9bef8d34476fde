/* sllm_request: building the conversation a generate() call receives. */
#include "api_request.h"

#include <stdlib.h>
#include <string.h>

#include "engine/request_json.h"
#include "tokenizer/unicode.h"

static sllm_request *request_alloc(void) {
    sllm_request *req = calloc(1, sizeof *req);
    if (req == NULL) return NULL;
    request_init(&req->conversation);
    atomic_init(&req->cancel_requested, 0);
    return req;
}

SLLM_API sllm_status sllm_request_create(sllm_request **out) {
    if (out == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_request_create: out must not be NULL");
    sllm_request *req = request_alloc();
    if (req == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "sllm_request_create: out of memory");
    *out = req;
    return SLLM_OK;
}

static void clear_prompt(sllm_request *req) {
    free(req->prompt_tokens);
    req->prompt_tokens = NULL;
    req->n_prompt_tokens = 0;
    free(req->prompt_text);
    req->prompt_text = NULL;
    req->prompt_text_len = 0;
}

SLLM_API void sllm_request_free(sllm_request *req) {
    if (req == NULL) return;
    clear_prompt(req);
    request_free(&req->conversation);
    free(req);
}

static void *copy_bytes(const void *data, size_t len, size_t extra) {
    char *copy = malloc(len + extra);
    if (copy != NULL && len > 0) memcpy(copy, data, len);
    return copy;
}

static sllm_status check_utf8(const char *text, size_t len, const char *what, size_t index) {
    size_t valid = unicode_utf8_valid_prefix((const uint8_t *)(text ? text : ""), len);
    if (valid == len) return SLLM_OK;
    return core_fail(SLLM_ERR_INVALID_UTF8, "%s %zu: not valid UTF-8 at byte %zu", what, index, valid);
}

static sllm_status grow_messages(sllm_request *req) {
    if (req->conversation.n_messages < req->cap_messages) return SLLM_OK;
    size_t cap = req->cap_messages ? 2 * req->cap_messages : 8;
    request_message *grown = realloc(req->conversation.messages, cap * sizeof *grown);
    if (grown == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
    req->conversation.messages = grown;
    req->cap_messages = cap;
    return SLLM_OK;
}

sllm_status request_push_message(sllm_request *req, chat_role role, const char *content,
                                 size_t content_len, const int32_t *token_ids, size_t n_token_ids) {
    size_t index = req->conversation.n_messages;
    if (content == NULL && content_len > 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "message %zu: content is NULL", index);
    sllm_status status = check_utf8(content, content_len, "message", index);
    if (status == SLLM_OK) status = grow_messages(req);
    if (status != SLLM_OK) return status;
    request_message message = { .role = role, .content_len = content_len, .n_token_ids = n_token_ids,
                                .has_token_ids = token_ids != NULL };
    message.content = copy_bytes(content, content_len, 1);
    message.token_ids = token_ids ? copy_bytes(token_ids, n_token_ids * sizeof *token_ids, sizeof *token_ids) : NULL;
    if (message.content == NULL || (token_ids != NULL && message.token_ids == NULL)) {
        free(message.content);
        free(message.token_ids);
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
    }
    message.content[content_len] = '\0';
    if (req->kind != REQUEST_MESSAGES) clear_prompt(req);
    req->kind = REQUEST_MESSAGES;
    req->conversation.messages[req->conversation.n_messages++] = message;
    return SLLM_OK;
}

static sllm_status add_message(sllm_request *req, const char *role, const char *content,
                               size_t content_len, const int32_t *token_ids, size_t n_token_ids) {
    if (req == NULL || role == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_request_add_message: request and role must not be NULL");
    chat_role parsed;
    sllm_status status = chat_role_from_name(role, strlen(role), &parsed);
    if (status != SLLM_OK) return core_fail_context(status, "message %zu", req->conversation.n_messages);
    return request_push_message(req, parsed, content, content_len, token_ids, n_token_ids);
}

SLLM_API sllm_status sllm_request_add_message(sllm_request *req, const char *role,
                                              const char *content, size_t content_len) {
    return add_message(req, role, content, content_len, NULL, 0);
}

SLLM_API sllm_status sllm_request_add_message_tokens(sllm_request *req, const char *role,
                                                     const char *content, size_t content_len,
                                                     const int32_t *tokens, size_t n_tokens) {
    static const int32_t no_tokens[1] = { 0 };
    if (tokens == NULL && n_tokens > 0)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_request_add_message_tokens: tokens is NULL");
    return add_message(req, role, content, content_len, tokens ? tokens : no_tokens, n_tokens);
}

SLLM_API sllm_status sllm_request_set_prompt_tokens(sllm_request *req, const int32_t *tokens,
                                                    size_t n_tokens) {
    if (req == NULL || (tokens == NULL && n_tokens > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_request_set_prompt_tokens: NULL argument");
    int32_t *copy = copy_bytes(tokens, n_tokens * sizeof *tokens, sizeof *tokens);
    if (copy == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
    clear_prompt(req);
    req->kind = REQUEST_PROMPT_TOKENS;
    req->prompt_tokens = copy;
    req->n_prompt_tokens = n_tokens;
    return SLLM_OK;
}

SLLM_API sllm_status sllm_request_set_prompt_text(sllm_request *req, const char *text, size_t len) {
    if (req == NULL || (text == NULL && len > 0))
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_request_set_prompt_text: NULL argument");
    sllm_status status = check_utf8(text, len, "prompt text", 0);
    if (status != SLLM_OK) return status;
    char *copy = copy_bytes(text, len, 1);
    if (copy == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
    copy[len] = '\0';
    clear_prompt(req);
    req->kind = REQUEST_PROMPT_TEXT;
    req->prompt_text = copy;
    req->prompt_text_len = len;
    return SLLM_OK;
}

SLLM_API sllm_status sllm_request_from_json(const char *json, size_t len, sllm_request **out) {
    if (json == NULL || out == NULL)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "sllm_request_from_json: json and out must not be NULL");
    sllm_request *req = request_alloc();
    if (req == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "sllm_request_from_json: out of memory");
    sllm_status status = request_parse_json(json, len, &req->conversation);
    if (status != SLLM_OK) {
        sllm_request_free(req);
        return status;
    }
    req->kind = REQUEST_MESSAGES;
    req->from_json = 1;
    req->cap_messages = req->conversation.n_messages;
    *out = req;
    return SLLM_OK;
}

SLLM_API void sllm_cancel(sllm_request *req) {
    if (req != NULL) atomic_store(&req->cancel_requested, 1);
}
