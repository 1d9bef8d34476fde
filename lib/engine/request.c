/* Initialisation and freeing of the engine's internal request. */
#include "engine/request.h"

#include <stdlib.h>
#include <string.h>

void request_init(request *req) {
    memset(req, 0, sizeof *req);
    req->max_tokens = -1;
    sampler_params_init(&req->sampling);
}

void request_free(request *req) {
    if (!req) return;
    for (size_t i = 0; i < req->n_messages; i++) {
        free(req->messages[i].content);
        free(req->messages[i].token_ids);
    }
    free(req->messages);
    free(req->logit_bias);
    for (size_t i = 0; i < req->n_stop; i++) free(req->stop[i]);
    free(req->cache_salt);
    request_init(req);
}
