/* A fixed-size thread pool owned by a handle (never global): run one task on all threads. */
#ifndef SLLM_CORE_THREADPOOL_H
#define SLLM_CORE_THREADPOOL_H

#include "core/error.h"

typedef struct core_threadpool core_threadpool;

/* A task body: called once per thread with that thread's index in [0, n_threads).
 * Work must be split by output (rows/columns), never along a reduction axis. */
typedef void (*core_task_fn)(void *context, int thread_index, int n_threads);

/* n_threads >= 1; the calling thread counts as one, so n_threads - 1 workers start. */
sllm_status core_threadpool_create(int n_threads, core_threadpool **out);
void core_threadpool_free(core_threadpool *pool);
int core_threadpool_size(const core_threadpool *pool);

/* Runs `fn` on every thread of the pool (the caller runs index 0) and returns when all
 * have finished. A NULL pool runs fn(context, 0, 1) on the caller. Not reentrant:
 * one run at a time per pool (callers serialize). */
void core_threadpool_run(core_threadpool *pool, core_task_fn fn, void *context);

#endif
