/* Shared forward passes for concurrent generate() calls on one cache: each caller queues
 * its step (a prefill chunk or one decode token) and waits; whichever caller finds no
 * pass running takes every queued step that fits and runs them together
 * (forward_run_many), so concurrent decodes read the weights once per step instead of
 * once per request. Results are those of running each step alone, bit for bit. */
#ifndef SLLM_ENGINE_BATCHER_H
#define SLLM_ENGINE_BATCHER_H

#include <pthread.h>
#include <stdint.h>

#include "engine/forward.h"

typedef struct batch_request batch_request;

typedef struct batcher {
    pthread_mutex_t mutex;
    pthread_cond_t pass_done;       /* broadcast after every pass */
    batch_request *head, *tail;     /* queued steps, oldest first */
    int running;                    /* a caller is running a pass */
    forward_context *forward;
    int64_t max_batch_tokens;       /* a pass takes steps up to this many tokens together */
    uint64_t passes, shared_steps;  /* statistics: passes run, steps that shared one */
} batcher;

sllm_status batcher_init(batcher *b, forward_context *forward, int64_t max_batch_tokens);
void batcher_destroy(batcher *b);

/* Runs `batch` (forward_run's contract), alone or in a pass with other callers' steps. */
sllm_status batcher_run(batcher *b, const forward_batch *batch);

#endif
