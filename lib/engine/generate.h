/* One generate() call: prompt -> cached prefix -> prefill -> sample/decode -> register blocks. */
#ifndef SLLM_ENGINE_GENERATE_H
#define SLLM_ENGINE_GENERATE_H

#include <stdint.h>

#include "engine/engine.h"

/* Hooks for tests: every logits vector the sampler sees (the prompt's last token's first,
 * then one per generated token) is passed to on_logits. */
typedef struct generate_hooks {
    void (*on_logits)(void *user, const float *logits, int64_t n_vocab);
    void *user;
} generate_hooks;

sllm_status engine_generate(sllm_cache *cache, sllm_request *req, const sllm_generate_params *params,
                            sllm_stream_fn stream, void *user, sllm_result *result,
                            const generate_hooks *hooks);

#endif
