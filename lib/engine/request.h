/* The engine's internal form of one generate() request: messages, limits, sampling and stop
 * strings, with every string owned. Built from sllm_message lists or from JSON. */
#ifndef SLLM_ENGINE_REQUEST_H
#define SLLM_ENGINE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "chat/chat.h"
#include "engine/sampler.h"

enum { REQUEST_MAX_STOP = 16 };

typedef struct request_message {
    chat_role role;
    char *content;              /* owned, NUL-terminated; content_len excludes the NUL */
    size_t content_len;
    int32_t *token_ids;         /* owned; the ids an earlier result returned for this
                                 * message (our extension), to reuse instead of tokenizing */
    size_t n_token_ids;
    int has_token_ids;          /* 1 when token_ids was given (possibly empty) */
} request_message;

typedef struct request {
    request_message *messages;
    size_t n_messages;
    int64_t max_tokens;         /* -1: not given (the engine applies its limit) */
    sampler_params sampling;    /* sampling.logit_bias points at logit_bias below */
    sampler_logit_bias *logit_bias;
    int has_seed;               /* 0: no seed given (the engine may pick one) */
    char *stop[REQUEST_MAX_STOP];   /* owned, NUL-terminated, non-empty */
    size_t stop_len[REQUEST_MAX_STOP];
    size_t n_stop;
    int stream;                 /* accepted; streaming is chosen by the callback */
    char *cache_salt;           /* owned, NUL-terminated; NULL when not given */
    size_t cache_salt_len;
} request;

/* Empty request with default sampling (sampler_params_init) and max_tokens = -1. */
void request_init(request *req);

/* Frees everything the request owns and re-initialises it. NULL is allowed. */
void request_free(request *req);

#endif
