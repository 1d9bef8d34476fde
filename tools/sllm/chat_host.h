/* The CLI as a host of the stateless API: it keeps the message list (with the token ids
 * each reply came back with) and re-sends all of it on every turn. */
#ifndef SLLM_CLI_CHAT_HOST_H
#define SLLM_CLI_CHAT_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "statelessllm.h"

typedef struct chat_message {
    char *role;
    char *text;
    size_t text_len;
    int32_t *tokens;        /* the ids a result returned for this reply; NULL for typed text */
    size_t n_tokens;
} chat_message;

typedef struct chat_history {
    chat_message *messages;
    size_t n_messages, capacity;
} chat_history;

/* Appends a copy of the message (tokens may be NULL). Returns SLLM_OK or OUT_OF_MEMORY. */
sllm_status chat_history_add(chat_history *history, const char *role, const char *text, size_t text_len,
                             const int32_t *tokens, size_t n_tokens);
/* Drops every message after the first n_keep (n_keep 1 keeps a system prompt). */
void chat_history_truncate(chat_history *history, size_t n_keep);
void chat_history_free(chat_history *history);

/* One turn: builds a fresh request from the whole history, generates, and on success
 * appends the reply (text and token ids) as the assistant's message. *result must be
 * initialized; the caller frees it. stream may be NULL. */
sllm_status chat_history_generate(chat_history *history, sllm_cache *cache, const sllm_generate_params *params,
                                  sllm_stream_fn stream, void *user, sllm_result *result);

/* Milliseconds on the monotonic clock. */
double chat_now_ms(void);

#endif
