/* The prompt of one call: template rendering and tokenization, a pure function of the request. */
#ifndef SLLM_ENGINE_PROMPT_H
#define SLLM_ENGINE_PROMPT_H

#include "api_request.h"
#include "tokenizer/tokenizer.h"

/* Appends the request's prompt tokens to *out. Messages are rendered with the chat
 * template (params->chat_template or the model's) and tokenized segment by segment:
 * markup with special-token parsing, content without it, and a message's own token ids
 * where the request carries them. So history re-sent with the ids a result returned
 * tokenizes to exactly the sequence whose K/V the cache holds. */
sllm_status prompt_build(const sllm_model *model, const sllm_request *req,
                         const sllm_generate_params *params, tok_ids *out);

#endif
