/* The sllm_request handle's contents: the conversation (or raw prompt) of one call, and
 * for a JSON request the sampling settings it carried. */
#ifndef SLLM_API_REQUEST_H
#define SLLM_API_REQUEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/request.h"
#include "statelessllm.h"

typedef enum request_kind {
    REQUEST_MESSAGES = 0,
    REQUEST_PROMPT_TOKENS = 1,
    REQUEST_PROMPT_TEXT = 2
} request_kind;

struct sllm_request {
    request_kind kind;
    request conversation;       /* messages; from JSON also sampling, stop, salt */
    size_t cap_messages;        /* allocated length of conversation.messages */
    int from_json;              /* conversation.sampling replaces the call's sampling */
    int32_t *prompt_tokens;
    size_t n_prompt_tokens;
    char *prompt_text;
    size_t prompt_text_len;
    atomic_int cancel_requested;
};

/* Appends a message (content and token ids copied). token_ids NULL: none given. */
sllm_status request_push_message(sllm_request *req, chat_role role, const char *content,
                                 size_t content_len, const int32_t *token_ids, size_t n_token_ids);

#endif
