/* The CLI as a host of the stateless API: the message list and one re-sent turn. */
#include "chat_host.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *copy_bytes(const char *data, size_t len) {
    char *copy = malloc(len + 1);
    if (copy == NULL) return NULL;
    if (len) memcpy(copy, data, len);
    copy[len] = '\0';
    return copy;
}

static void message_free(chat_message *message) {
    free(message->role);
    free(message->text);
    free(message->tokens);
}

sllm_status chat_history_add(chat_history *history, const char *role, const char *text, size_t text_len,
                             const int32_t *tokens, size_t n_tokens) {
    if (history->n_messages == history->capacity) {
        size_t capacity = history->capacity ? 2 * history->capacity : 16;
        chat_message *grown = realloc(history->messages, capacity * sizeof *grown);
        if (grown == NULL) return SLLM_ERR_OUT_OF_MEMORY;
        history->messages = grown;
        history->capacity = capacity;
    }
    chat_message message = { copy_bytes(role, strlen(role)), copy_bytes(text, text_len), text_len, NULL, 0 };
    if (tokens != NULL) {
        message.tokens = malloc((n_tokens ? n_tokens : 1) * sizeof *tokens);
        if (message.tokens && n_tokens) memcpy(message.tokens, tokens, n_tokens * sizeof *tokens);
        message.n_tokens = n_tokens;
    }
    if (message.role == NULL || message.text == NULL || (tokens != NULL && message.tokens == NULL)) {
        message_free(&message);
        return SLLM_ERR_OUT_OF_MEMORY;
    }
    history->messages[history->n_messages++] = message;
    return SLLM_OK;
}

void chat_history_truncate(chat_history *history, size_t n_keep) {
    while (history->n_messages > n_keep) message_free(&history->messages[--history->n_messages]);
}

void chat_history_free(chat_history *history) {
    chat_history_truncate(history, 0);
    free(history->messages);
    memset(history, 0, sizeof *history);
}

static sllm_status build_request(const chat_history *history, sllm_request **out) {
    sllm_request *request = NULL;
    sllm_status status = sllm_request_create(&request);
    for (size_t i = 0; status == SLLM_OK && i < history->n_messages; i++) {
        const chat_message *m = &history->messages[i];
        status = m->tokens != NULL
                     ? sllm_request_add_message_tokens(request, m->role, m->text, m->text_len, m->tokens, m->n_tokens)
                     : sllm_request_add_message(request, m->role, m->text, m->text_len);
    }
    if (status != SLLM_OK) {
        sllm_request_free(request);
        return status;
    }
    *out = request;
    return SLLM_OK;
}

sllm_status chat_history_generate(chat_history *history, sllm_cache *cache, const sllm_generate_params *params,
                                  sllm_stream_fn stream, void *user, sllm_result *result) {
    sllm_request *request = NULL;
    sllm_status status = build_request(history, &request);
    if (status == SLLM_OK) status = sllm_generate(cache, request, params, stream, user, result);
    if (status == SLLM_OK)
        status = chat_history_add(history, "assistant", result->text, result->text_len, result->tokens,
                                  result->n_tokens);
    sllm_request_free(request);
    return status;
}

double chat_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
