/* sllm bench's memory read bandwidth probe: huge-page buffer, wide loads, several
 * streams per thread with software prefetch, the loop picked at run time. */
#include "read_bandwidth.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hugemem.h"
#include "core/threadpool.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define READ_X86 1
#include <immintrin.h>
#endif

enum {
    READ_BUFFER_BYTES = 1 << 30,
    READ_STEP_BYTES = 256,      /* what one stream reads per iteration: four cache lines */
    READ_MAX_STREAMS = 4,
    READ_MAX_AHEAD = 16384,     /* mapped past the measured bytes, so prefetches stay inside */
    READ_REPEATS = 3
};

/* Each thread reads its slice as `n_streams` contiguous parts advanced in lock step
 * (more reads in flight than one stream keeps, independent accumulators so no add
 * chain limits the loads), prefetching every line `ahead` bytes before it is loaded.
 * Which combination is fastest differs between machines (and VMs); the probe tries a
 * few and keeps the best. */
typedef struct read_config {
    int n_streams;
    size_t ahead;
    int into_l2;    /* prefetch into L2 (T1) rather than L1 (T0): ~4% faster on the 2-core VM */
} read_config;

static const read_config configs[] = {
    { 1, 1024, 0 }, { 2, 1024, 0 }, { 4, 1024, 0 }, { 2, 16384, 0 }, { 4, 4096, 0 },
    { 1, 1024, 1 }, { 2, 1024, 1 }, { 4, 1024, 1 }, { 1, 4096, 1 }, { 2, 2048, 1 },
};

typedef uint64_t (*read_fn)(const uint8_t *const *streams, int n_streams, size_t stream_bytes, size_t ahead,
                            int into_l2);

/* The sum of every 64-bit word read, so that no load can be optimized away. */
static uint64_t read_scalar(const uint8_t *const *streams, int n_streams, size_t stream_bytes, size_t ahead,
                            int into_l2) {
    uint64_t sums[READ_MAX_STREAMS] = { 0 };
    for (size_t offset = 0; offset < stream_bytes; offset += READ_STEP_BYTES) {
        for (int s = 0; s < n_streams; s++) {
            const uint64_t *words = (const uint64_t *)(streams[s] + offset);
#if defined(__GNUC__) || defined(__clang__)
            for (int line = 0; line < READ_STEP_BYTES / 64; line++) {
                if (into_l2) __builtin_prefetch(streams[s] + offset + ahead + 64 * line, 0, 2);
                else __builtin_prefetch(streams[s] + offset + ahead + 64 * line, 0, 3);
            }
#else
            (void)ahead;
            (void)into_l2;
#endif
            uint64_t lanes = 0;
            for (int w = 0; w < READ_STEP_BYTES / 8; w++) lanes += words[w];
            sums[s] += lanes;
        }
    }
    return sums[0] + sums[1] + sums[2] + sums[3];
}

#ifdef READ_X86
/* One step's lines, into L2 or L1 (the hint must be a constant). */
static inline void prefetch_step(const uint8_t *p, int into_l2) {
    for (int line = 0; line < READ_STEP_BYTES / 64; line++) {
        if (into_l2) _mm_prefetch((const char *)(p + 64 * line), _MM_HINT_T1);
        else _mm_prefetch((const char *)(p + 64 * line), _MM_HINT_T0);
    }
}

__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t *const *streams, int n_streams,
                                                          size_t stream_bytes, size_t ahead, int into_l2) {
    __m256i sums[READ_MAX_STREAMS];
    for (int s = 0; s < READ_MAX_STREAMS; s++) sums[s] = _mm256_setzero_si256();
    for (size_t offset = 0; offset < stream_bytes; offset += READ_STEP_BYTES) {
        for (int s = 0; s < n_streams; s++) {
            const uint8_t *p = streams[s] + offset;
            prefetch_step(p + ahead, into_l2);
            __m256i a = _mm256_xor_si256(_mm256_load_si256((const __m256i *)p), _mm256_load_si256((const __m256i *)(p + 32)));
            __m256i b = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(p + 64)), _mm256_load_si256((const __m256i *)(p + 96)));
            __m256i c = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(p + 128)), _mm256_load_si256((const __m256i *)(p + 160)));
            __m256i d = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(p + 192)), _mm256_load_si256((const __m256i *)(p + 224)));
            sums[s] = _mm256_add_epi64(sums[s], _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d)));
        }
    }
    __m256i total = _mm256_add_epi64(_mm256_add_epi64(sums[0], sums[1]), _mm256_add_epi64(sums[2], sums[3]));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, total);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint8_t *const *streams, int n_streams,
                                                               size_t stream_bytes, size_t ahead, int into_l2) {
    __m512i sums[READ_MAX_STREAMS];
    for (int s = 0; s < READ_MAX_STREAMS; s++) sums[s] = _mm512_setzero_si512();
    for (size_t offset = 0; offset < stream_bytes; offset += READ_STEP_BYTES) {
        for (int s = 0; s < n_streams; s++) {
            const uint8_t *p = streams[s] + offset;
            prefetch_step(p + ahead, into_l2);
            __m512i a = _mm512_xor_si512(_mm512_load_si512(p), _mm512_load_si512(p + 64));
            __m512i b = _mm512_xor_si512(_mm512_load_si512(p + 128), _mm512_load_si512(p + 192));
            sums[s] = _mm512_add_epi64(sums[s], _mm512_xor_si512(a, b));
        }
    }
    __m512i total = _mm512_add_epi64(_mm512_add_epi64(sums[0], sums[1]), _mm512_add_epi64(sums[2], sums[3]));
    uint64_t lanes[8];
    _mm512_storeu_si512(lanes, total);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}
#endif

static read_fn pick_read_fn(const char **name) {
#ifdef READ_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return *name = "AVX-512", read_avx512;
    if (__builtin_cpu_supports("avx2")) return *name = "AVX2", read_avx2;
#endif
    *name = "scalar";
    return read_scalar;
}

typedef struct read_task {
    read_fn read;
    const uint8_t *data;
    size_t thread_bytes;        /* a multiple of READ_MAX_STREAMS * READ_STEP_BYTES */
    read_config config;
    uint64_t sums[64];          /* per thread, so that the reads cannot be optimized away */
} read_task;

static void read_slice(void *context, int thread_index, int n_threads) {
    (void)n_threads;
    read_task *task = context;
    const uint8_t *slice = task->data + (size_t)thread_index * task->thread_bytes;
    size_t stream_bytes = task->thread_bytes / (size_t)task->config.n_streams;
    const uint8_t *streams[READ_MAX_STREAMS];
    for (int s = 0; s < task->config.n_streams; s++) streams[s] = slice + (size_t)s * stream_bytes;
    task->sums[thread_index % 64] += task->read(streams, task->config.n_streams, stream_bytes, task->config.ahead,
                                                 task->config.into_l2);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A task over a fresh huge-page buffer of `bytes` (plus room for the prefetches), every
 * page written once so that it is mapped (and, where the kernel agrees, huge). */
static int read_task_open(int n_threads, size_t bytes, read_task *task, core_region *region, core_threadpool **pool) {
    memset(task, 0, sizeof *task);
    const size_t unit = (size_t)READ_MAX_STREAMS * READ_STEP_BYTES;
    task->thread_bytes = bytes / (size_t)n_threads / unit * unit;
    *pool = NULL;
    if (task->thread_bytes == 0 || core_region_alloc(bytes + READ_MAX_AHEAD, region) != SLLM_OK) return 0;
    if (core_threadpool_create(n_threads, pool) != SLLM_OK) {
        core_region_free(region);
        return 0;
    }
    memset(region->data, 1, region->bytes);
    task->data = region->data;
    return 1;
}

/* What one run of the task reads: every thread's slice. */
static size_t read_task_bytes(const read_task *task, const core_threadpool *pool) {
    return task->thread_bytes * (size_t)core_threadpool_size(pool);
}

static double read_task_seconds(read_task *task, core_threadpool *pool) {
    double start = now_seconds();
    core_threadpool_run(pool, read_slice, task);
    return now_seconds() - start;
}

void read_bandwidth_measure(int n_threads, read_bandwidth *out) {
    memset(out, 0, sizeof *out);
    read_task task;
    core_region region;
    core_threadpool *pool;
    if (!read_task_open(n_threads, READ_BUFFER_BYTES, &task, &region, &pool)) return;
    task.read = pick_read_fn(&out->loop);
    out->huge_pages = region.huge;
    size_t bytes_read = read_task_bytes(&task, pool);
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        task.config = configs[c];
        for (int rep = 0; rep < READ_REPEATS; rep++) {
            double rate = (double)bytes_read / read_task_seconds(&task, pool);
            if (rate > out->bytes_per_s) {
                out->bytes_per_s = rate;
                out->best_config = (int)c;
            }
        }
    }
    core_threadpool_free(pool);
    core_region_free(&region);
}

struct read_sampler {
    read_task task;
    core_region region;
    core_threadpool *pool;
};

read_sampler *read_sampler_open(int n_threads, size_t bytes, const read_bandwidth *best) {
    read_sampler *sampler = calloc(1, sizeof *sampler);
    if (sampler == NULL) return NULL;
    if (!read_task_open(n_threads, bytes, &sampler->task, &sampler->region, &sampler->pool)) {
        free(sampler);
        return NULL;
    }
    const char *loop;
    sampler->task.read = pick_read_fn(&loop);
    sampler->task.config = configs[best->best_config];
    return sampler;
}

double read_sampler_run(read_sampler *sampler) { return read_task_seconds(&sampler->task, sampler->pool); }

size_t read_sampler_bytes_read(const read_sampler *sampler) {
    return read_task_bytes(&sampler->task, sampler->pool);
}

/* Every page was written: whole huge pages, or the 4 KiB pages the bytes span. */
size_t read_sampler_resident_bytes(const read_sampler *sampler) {
    return sampler->region.huge ? sampler->region.mapped : (sampler->region.bytes + 4095) / 4096 * 4096;
}

void read_sampler_close(read_sampler *sampler) {
    if (sampler == NULL) return;
    core_threadpool_free(sampler->pool);
    core_region_free(&sampler->region);
    free(sampler);
}
