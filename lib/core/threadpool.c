/* The thread pool: workers spin briefly on a generation counter, then sleep on a condvar. */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define POOL_PAUSE() _mm_pause()
#else
#define POOL_PAUSE() ((void)0)
#endif

/* About 50-100 µs of pause instructions: long enough to bridge the short single-threaded
 * ops between two matmuls of a forward pass, short enough not to burn a core when idle. */
enum { POOL_SPIN_ITERATIONS = 20000 };

typedef struct pool_worker {
    struct core_threadpool *pool;
    int thread_index;
    pthread_t thread;
} pool_worker;

struct core_threadpool {
    int n_threads;
    pool_worker *workers;          /* n_threads - 1 entries */
    int n_started;
    core_task_fn fn;               /* published by the release store to `generation` */
    void *context;
    atomic_uint generation;        /* bumped once per run (and once to stop) */
    atomic_int n_done;             /* workers finished with the current generation */
    atomic_int n_sleeping;
    atomic_bool stop;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
};

static unsigned pool_wait_for_generation(core_threadpool *pool, unsigned seen) {
    for (int i = 0; i < POOL_SPIN_ITERATIONS; i++) {
        unsigned current = atomic_load_explicit(&pool->generation, memory_order_acquire);
        if (current != seen) return current;
        POOL_PAUSE();
    }
    pthread_mutex_lock(&pool->mutex);
    /* seq_cst increment then check pairs with run()'s seq_cst bump then load of
     * n_sleeping: one of the two sides always sees the other, so no wakeup is lost. */
    atomic_fetch_add(&pool->n_sleeping, 1);
    unsigned current;
    while ((current = atomic_load(&pool->generation)) == seen)
        pthread_cond_wait(&pool->wake, &pool->mutex);
    atomic_fetch_sub(&pool->n_sleeping, 1);
    pthread_mutex_unlock(&pool->mutex);
    return current;
}

static void *pool_worker_main(void *arg) {
    pool_worker *worker = arg;
    core_threadpool *pool = worker->pool;
    unsigned seen = 0;
    for (;;) {
        seen = pool_wait_for_generation(pool, seen);
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) break;
        pool->fn(pool->context, worker->thread_index, pool->n_threads);
        atomic_fetch_add_explicit(&pool->n_done, 1, memory_order_release);
    }
    return NULL;
}

static void pool_bump_generation(core_threadpool *pool) {
    atomic_fetch_add(&pool->generation, 1);
    if (atomic_load(&pool->n_sleeping) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
}

sllm_status core_threadpool_create(int n_threads, core_threadpool **out) {
    if (out == NULL) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "threadpool: out is NULL");
    if (n_threads < 1 || n_threads > 4096)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "threadpool: n_threads %d is not in [1, 4096]",
                         n_threads);
    core_threadpool *pool = calloc(1, sizeof *pool);
    if (pool == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "threadpool: allocating the pool");
    pool->n_threads = n_threads;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->n_done, 0);
    atomic_init(&pool->n_sleeping, 0);
    atomic_init(&pool->stop, false);
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    sllm_status status = SLLM_OK;
    if (n_threads > 1) {
        pool->workers = calloc((size_t)n_threads - 1, sizeof *pool->workers);
        if (pool->workers == NULL) {
            status = core_fail(SLLM_ERR_OUT_OF_MEMORY, "threadpool: allocating %d workers",
                               n_threads - 1);
            goto fail;
        }
    }
    for (int i = 0; i < n_threads - 1; i++) {
        pool->workers[i].pool = pool;
        pool->workers[i].thread_index = i + 1;
        if (pthread_create(&pool->workers[i].thread, NULL, pool_worker_main, &pool->workers[i]) != 0) {
            status = core_fail(SLLM_ERR_OUT_OF_MEMORY, "threadpool: starting worker thread %d of %d",
                               i + 1, n_threads - 1);
            goto fail;
        }
        pool->n_started++;
    }
    *out = pool;
    return SLLM_OK;
fail:
    core_threadpool_free(pool);
    return status;
}

void core_threadpool_free(core_threadpool *pool) {
    if (pool == NULL) return;
    atomic_store(&pool->stop, true);
    pool_bump_generation(pool);
    for (int i = 0; i < pool->n_started; i++) pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->workers);
    free(pool);
}

int core_threadpool_size(const core_threadpool *pool) { return pool ? pool->n_threads : 1; }

void core_threadpool_run(core_threadpool *pool, core_task_fn fn, void *context) {
    if (pool == NULL || pool->n_threads == 1) {
        fn(context, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->context = context;
    atomic_store_explicit(&pool->n_done, 0, memory_order_relaxed);
    pool_bump_generation(pool);
    fn(context, 0, pool->n_threads);
    int n_workers = pool->n_threads - 1;
    for (unsigned spins = 0;
         atomic_load_explicit(&pool->n_done, memory_order_acquire) != n_workers; spins++) {
        POOL_PAUSE();
        if (spins > POOL_SPIN_ITERATIONS) sched_yield();
    }
}
