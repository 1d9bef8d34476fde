/* Parsing of an OpenAI-style chat completion request (JSON, via jansson) into a request. */
#ifndef SLLM_ENGINE_REQUEST_JSON_H
#define SLLM_ENGINE_REQUEST_JSON_H

#include <stddef.h>

#include "engine/request.h"

/* Parses json[0..len) into *out (which need not be initialised; on failure it is left
 * initialised and empty). Fields:
 *   messages (required, non-empty): [{role, content, token_ids?}] with role one of system,
 *     user, assistant, tool; content a string, an array of {"type": "text", "text": ...}
 *     parts (concatenated), or null (as ""); token_ids (our extension) an array of
 *     non-negative integers;
 *   max_tokens / max_completion_tokens (integer >= 0; the latter wins), temperature, top_p,
 *   top_k, min_p, seed, stop (string or array of up to 16 non-empty strings),
 *   presence_penalty, frequency_penalty, repetition_penalty, logit_bias ({"<token id>":
 *   bias}; a bias <= -100 bans the token, as OpenAI documents), logprobs (bool),
 *   top_logprobs (0..20), n (must be 1), stream (bool), salt / cache_salt (our extension:
 *   the per-request cache salt). model and unknown fields are ignored; null means "not
 *   given" for every optional field.
 * Errors: INVALID_JSON (malformed; the message has jansson's line and column),
 * INVALID_UTF8 (invalid UTF-8 or an invalid \u escape), INVALID_REQUEST (a missing or
 * mistyped field, named: "messages[2].content: expected a string or an array of text
 * parts"), INVALID_ROLE, INVALID_SAMPLING (a sampling value out of range; logit_bias
 * token ids are range-checked later, against the model's vocabulary), OUT_OF_MEMORY. */
sllm_status request_parse_json(const char *json, size_t len, request *out);

#endif
