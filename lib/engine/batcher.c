/* The queue and the pass loop of engine/batcher.h. */
#include "engine/batcher.h"

#include <stdio.h>

#include "core/error.h"

/* Steps one pass takes at most (each has at least one token). */
enum { PASS_MAX_STEPS = 64 };

struct batch_request {
    const forward_batch *batch;
    sllm_status status;
    char message[256];          /* the runner's error message, for the caller's thread */
    int done;
    batch_request *next;
};

sllm_status batcher_init(batcher *b, forward_context *forward, int64_t max_batch_tokens) {
    *b = (batcher){ .forward = forward, .max_batch_tokens = max_batch_tokens };
    if (pthread_mutex_init(&b->mutex, NULL) != 0) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "batcher: no mutex");
    if (pthread_cond_init(&b->pass_done, NULL) != 0) {
        pthread_mutex_destroy(&b->mutex);
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "batcher: no condition variable");
    }
    return SLLM_OK;
}

void batcher_destroy(batcher *b) {
    pthread_cond_destroy(&b->pass_done);
    pthread_mutex_destroy(&b->mutex);
}

/* Under the mutex: the oldest queued steps whose tokens fit one pass together (the first
 * always, however long: forward_run chunks it). */
static int64_t take_steps(batcher *b, batch_request **taken) {
    int64_t n = 0, tokens = 0;
    while (b->head != NULL && n < PASS_MAX_STEPS) {
        int64_t step_tokens = b->head->batch->n_tokens;
        if (n > 0 && tokens + step_tokens > b->max_batch_tokens) break;
        taken[n++] = b->head;
        tokens += step_tokens;
        b->head = b->head->next;
    }
    if (b->head == NULL) b->tail = NULL;
    return n;
}

/* Outside the mutex. A shared pass that fails is rerun step by step, so that each caller
 * gets its own step's status (one request's bad token must not fail the others). */
static void run_pass(batcher *b, batch_request **taken, int64_t n) {
    const forward_batch *batches[PASS_MAX_STEPS];
    for (int64_t i = 0; i < n; i++) batches[i] = taken[i]->batch;
    sllm_status status = forward_run_many(b->forward, batches, n);
    for (int64_t i = 0; i < n; i++) {
        batch_request *r = taken[i];
        r->status = status == SLLM_OK || n == 1 ? status : forward_run(b->forward, batches[i]);
        if (r->status != SLLM_OK) snprintf(r->message, sizeof r->message, "%s", sllm_last_error());
    }
}

sllm_status batcher_run(batcher *b, const forward_batch *batch) {
    batch_request request = { batch, SLLM_OK, "", 0, NULL };
    pthread_mutex_lock(&b->mutex);
    if (b->tail != NULL) b->tail->next = &request;
    else b->head = &request;
    b->tail = &request;
    while (!request.done) {
        if (b->running) {
            pthread_cond_wait(&b->pass_done, &b->mutex);
            continue;
        }
        batch_request *taken[PASS_MAX_STEPS];
        int64_t n = take_steps(b, taken);
        b->running = 1;
        pthread_mutex_unlock(&b->mutex);
        run_pass(b, taken, n);
        pthread_mutex_lock(&b->mutex);
        for (int64_t i = 0; i < n; i++) taken[i]->done = 1;
        b->passes++;
        b->shared_steps += n > 1 ? (uint64_t)n : 0;
        b->running = 0;
        pthread_cond_broadcast(&b->pass_done);
    }
    pthread_mutex_unlock(&b->mutex);
    if (request.status != SLLM_OK) return core_fail(request.status, "%s", request.message);
    return SLLM_OK;
}
