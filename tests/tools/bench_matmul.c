/* Times cpu_matmul per weight type (weights in 2 MiB pages and, where the CPU reads it,
 * the repacked tile16 layout, as a loaded model has them; BENCH_ROWS=1 keeps rows) on TinyLlama-shaped matrices (2048x2048, 5632x2048):
 * decode (1 token) as GB/s of weights and % of the measured memory read bandwidth,
 * prefill (128 tokens) as GFLOP/s and the TinyLlama-1.1B tokens/s it would give.
 * Usage: bench_matmul [threads] [repeats] [type...]   (best of `repeats` runs, and the median)
 * BENCH_KERNELS=avx2|scalar measures another kernel table than this CPU's best;
 * BENCH_SHAPES=576x576,1536x576 other matrix shapes (rows x columns). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include <immintrin.h>

#include "backend/cpu/cpu_matmul.h"
#include "backend/cpu/cpu_quant.h"
#include "backend/cpu/cpu_tile.h"
#include "core/hugemem.h"
#include "format/ggml_types.h"

/* TinyLlama-1.1B matmul FLOPs per token: 22 layers of q,o (2048^2), k,v (256x2048),
 * gate/up/down (5632x2048), plus the 32000x2048 output. */
#define TINYLLAMA_FLOP_PER_TOKEN \
    (2.0 * (22.0 * (2.0 * 2048 * 2048 + 2.0 * 256 * 2048 + 3.0 * 5632 * 2048) + 32000.0 * 2048))
/* Decode cycles through this many bytes of weight copies so each call reads DRAM, as in
 * a real forward pass (the L3 cache is 32 MiB). */
#define DECODE_WORKING_SET (256u << 20)
#define BANDWIDTH_BYTES (1u << 30)

/* The best table for this CPU, or the one BENCH_KERNELS names (scalar, avx2, avx512: to
 * measure what a CPU without the newer extensions would run). Chosen once: detection
 * runs cpuid, which costs microseconds in a virtual machine. */
static const cpu_kernels *bench_kernels(void) {
    cpu_features features = cpu_features_detect();
    const char *wanted = getenv("BENCH_KERNELS");
    const cpu_kernels *tables[4];
    int n = cpu_kernels_available(tables, 4);
    for (int i = 0; wanted != NULL && i < n; i++)
        if (strcmp(tables[i]->name, wanted) == 0) return tables[i];
    return cpu_kernels_best(&features);
}

static cpu_layout bench_layout(const cpu_kernels *kernels, uint32_t type, int64_t n_rows, int64_t n_cols) {
    return getenv("BENCH_ROWS") == NULL && kernels->gemm_tile16[type] != NULL &&
                   cpu_tile16_supported(type, n_rows, n_cols)
               ? CPU_LAYOUT_TILE16 : CPU_LAYOUT_ROWS;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct read_task {
    const uint64_t *data;
    size_t n_words;
    uint64_t sums[64];
} read_task;

/* AVX2 loads with 4 independent chains: a scalar loop does not saturate the memory bus. */
__attribute__((target("avx2"))) static void read_slice(void *context, int thread_index, int n_threads) {
    read_task *task = context;
    size_t begin = task->n_words * (size_t)thread_index / (size_t)n_threads / 16 * 16;
    size_t end = task->n_words * (size_t)(thread_index + 1) / (size_t)n_threads / 16 * 16;
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = begin; i < end; i += 16) {
        const __m256i *p = (const __m256i *)(task->data + i);
        a = _mm256_xor_si256(a, _mm256_loadu_si256(p));
        b = _mm256_xor_si256(b, _mm256_loadu_si256(p + 1));
        c = _mm256_xor_si256(c, _mm256_loadu_si256(p + 2));
        d = _mm256_xor_si256(d, _mm256_loadu_si256(p + 3));
    }
    __m256i all = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    task->sums[thread_index % 64] = (uint64_t)_mm256_extract_epi64(all, 0);
}

/* Best of 5 streaming reads over a 1 GiB buffer, in GB/s. */
static double measure_bandwidth(core_threadpool *pool) {
    read_task task = {.n_words = BANDWIDTH_BYTES / 8};
    core_region region;
    if (core_region_alloc(BANDWIDTH_BYTES, &region) != SLLM_OK) return 0.0;
    uint64_t *data = region.data;
    for (size_t i = 0; i < task.n_words; i++) data[i] = i * 0x9e3779b97f4a7c15ull;
    task.data = data;
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double start = now_s();
        core_threadpool_run(pool, read_slice, &task);
        double gbps = (double)BANDWIDTH_BYTES / (now_s() - start) * 1e-9;
        if (gbps > best) best = gbps;
    }
    core_region_free(&region);
    return best;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct timing { double best_s, median_s; } timing;

/* Times `repeats` rounds; each round runs every copy once (decode) or the first copy
 * `inner` times (prefill) and the per-call time of the round is recorded. */
static timing time_matmul(const cpu_kernels *kernels, core_threadpool *pool, uint32_t type, uint8_t **copies, int n_copies,
                          int64_t n_rows, int64_t n_cols, const float *x, int64_t n_tokens,
                          float *y, void *scratch, int repeats) {
    double samples[64];
    if (repeats > 64) repeats = 64;
    for (int rep = 0; rep < repeats; rep++) {
        double start = now_s();
        for (int k = 0; k < n_copies; k++)
            cpu_matmul_layout_with(kernels, pool, type, bench_layout(kernels, type, n_rows, n_cols), copies[k], n_rows, n_cols, x,
                                   n_tokens, y, scratch);
        samples[rep] = (now_s() - start) / n_copies;
    }
    qsort(samples, (size_t)repeats, sizeof samples[0], compare_doubles);
    return (timing){samples[0], samples[repeats / 2]};
}

/* Decode time against a streaming read of the same bytes, measured back to back and
 * repeated: the best ratio is robust to other processes sharing the memory bus. */
static double paired_efficiency(const cpu_kernels *kernels, core_threadpool *pool, uint32_t type, uint8_t **copies, int n_copies,
                                size_t matrix_bytes, int64_t n_rows, int64_t n_cols, const float *x, float *y,
                                void *scratch, int repeats) {
    double best = 0.0;
    for (int rep = 0; rep < repeats; rep++) {
        double start = now_s();
        for (int k = 0; k < n_copies; k++) {
            read_task task = {.data = (const uint64_t *)copies[k], .n_words = matrix_bytes / 8};
            core_threadpool_run(pool, read_slice, &task);
        }
        double read_s = now_s() - start;
        start = now_s();
        for (int k = 0; k < n_copies; k++)
            cpu_matmul_layout_with(kernels, pool, type, bench_layout(kernels, type, n_rows, n_cols), copies[k], n_rows, n_cols, x, 1,
                                   y, scratch);
        double decode_s = now_s() - start;
        if (read_s / decode_s > best) best = read_s / decode_s;
    }
    return best;
}

enum { MAX_SHAPES = 8, MAX_DIM = 5632 };

/* TinyLlama's shapes, or those BENCH_SHAPES lists ("576x576,1536x576": rows x columns,
 * each at most MAX_DIM, e.g. a small model's matrices). Returns how many. */
static int bench_shapes(int64_t shapes[MAX_SHAPES][2]) {
    const char *spec = getenv("BENCH_SHAPES");
    int n = 0;
    while (spec != NULL && *spec != '\0' && n < MAX_SHAPES) {
        long long rows, cols;
        int used = 0;
        if (sscanf(spec, "%lldx%lld%n", &rows, &cols, &used) != 2 || rows < 16 || cols < 256 || rows > MAX_DIM ||
            cols > MAX_DIM)
            break;
        shapes[n][0] = rows;
        shapes[n][1] = cols;
        n++;
        spec += used;
        if (*spec == ',') spec++;
    }
    if (n > 0) return n;
    const int64_t tinyllama[3][2] = {{2048, 2048}, {5632, 2048}, {2048, 5632}};
    memcpy(shapes, tinyllama, sizeof tinyllama);
    return 3;
}

static void bench_type(const cpu_kernels *kernels, core_threadpool *pool, uint32_t type, const float *src, const float *x,
                       float *y, double bandwidth, int repeats) {
    int64_t shapes[MAX_SHAPES][2];
    int n_shapes = bench_shapes(shapes);
    void *scratch = malloc(cpu_matmul_scratch_bytes(type, MAX_DIM, 128) + 64);
    for (int s = 0; s < n_shapes; s++) {
        int64_t n_rows = shapes[s][0], n_cols = shapes[s][1];
        uint64_t row_bytes = 0;
        ggml_row_size(type, n_cols, &row_bytes);
        size_t matrix_bytes = (size_t)row_bytes * (size_t)n_rows;
        /* BENCH_HOT=1: one copy, so decode reads from cache (compute throughput alone) */
        int n_copies = getenv("BENCH_HOT") != NULL ? 1 : (int)(DECODE_WORKING_SET / matrix_bytes) + 1;
        uint8_t *copies[512];
        if (n_copies > 512) n_copies = 512;
        size_t stride = (matrix_bytes + 63) / 64 * 64;
        core_region region;
        if (core_region_alloc(stride * (size_t)n_copies, &region) != SLLM_OK) exit(1);
        uint8_t *rows = malloc(matrix_bytes);
        for (int64_t r = 0; r < n_rows; r++)
            cpu_quantize(type, src + r * n_cols, rows + r * row_bytes, n_cols);
        for (int k = 0; k < n_copies; k++) {
            copies[k] = (uint8_t *)region.data + (size_t)k * stride;
            if (bench_layout(kernels, type, n_rows, n_cols) == CPU_LAYOUT_TILE16) cpu_tile16_pack(type, rows, n_rows, n_cols, copies[k]);
            else memcpy(copies[k], rows, matrix_bytes);
        }
        free(rows);
        const char *name = ggml_type_get(type)->name;
        /* BENCH_ONLY=decode or BENCH_ONLY=prefill: profile one of the two */
        const char *only = getenv("BENCH_ONLY");
        if (only == NULL || strcmp(only, "prefill") != 0) {
        timing decode = time_matmul(kernels, pool, type, copies, n_copies, n_rows, n_cols, x, 1, y, scratch, repeats);
        double best_gbps = (double)matrix_bytes / decode.best_s * 1e-9;
        double median_gbps = (double)matrix_bytes / decode.median_s * 1e-9;
        double paired = paired_efficiency(kernels, pool, type, copies, n_copies, matrix_bytes, n_rows, n_cols, x, y, scratch, repeats);
        printf("%-5s %5lldx%-5lld decode   %7.1f GB/s %5.1f%% of bandwidth   (median %5.1f GB/s %5.1f%%; paired %5.1f%%)\n",
               name, (long long)n_rows, (long long)n_cols, best_gbps, 100.0 * best_gbps / bandwidth,
               median_gbps, 100.0 * median_gbps / bandwidth, 100.0 * paired);
        }
        if (only == NULL || strcmp(only, "decode") != 0) {
        timing prefill = time_matmul(kernels, pool, type, copies, 1, n_rows, n_cols, x, 128, y, scratch, repeats);
        double flop = 2.0 * (double)n_rows * (double)n_cols * 128.0;
        double best_gflops = flop / prefill.best_s * 1e-9, median_gflops = flop / prefill.median_s * 1e-9;
        printf("%-5s %5lldx%-5lld prefill  %7.1f GFLOP/s = %5.0f TinyLlama tok/s (median %5.1f GFLOP/s = %5.0f tok/s)\n",
               name, (long long)n_rows, (long long)n_cols, best_gflops, best_gflops * 1e9 / TINYLLAMA_FLOP_PER_TOKEN,
               median_gflops, median_gflops * 1e9 / TINYLLAMA_FLOP_PER_TOKEN);
        }
        fflush(stdout);
        core_region_free(&region);
    }
    free(scratch);
}

int main(int argc, char **argv) {
    int n_threads = argc > 1 ? atoi(argv[1]) : 2;
    int repeats = argc > 2 ? atoi(argv[2]) : 7;
    if (n_threads < 1 || repeats < 1) {
        fprintf(stderr, "usage: bench_matmul [threads] [repeats] [type...]\n");
        return 2;
    }
    uint32_t types[16] = {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0,
                          GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                          GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};
    int n_types = 11;
    if (argc > 3) {
        n_types = 0;
        for (int a = 3; a < argc && n_types < 16; a++) {
            for (uint32_t id = 0; id < GGML_TYPE_ID_LIMIT; id++) {
                const ggml_type_traits *info = ggml_type_get(id);
                if (info != NULL && info->name != NULL && strcmp(info->name, argv[a]) == 0) types[n_types++] = id;
            }
        }
    }
    core_threadpool *pool = NULL;
    if (core_threadpool_create(n_threads, &pool) != SLLM_OK) return 1;
    const cpu_kernels *kernels = bench_kernels();
    double bandwidth = measure_bandwidth(pool);
    printf("kernels: %s%s, threads: %d, measured read bandwidth: %.1f GB/s, best of %d (median)\n",
           kernels->name, getenv("BENCH_ROWS") ? " (row layout)" : "", n_threads, bandwidth, repeats);
    float *x = malloc(sizeof(float) * 5632 * 128), *y = malloc(sizeof(float) * 5632 * 128);
    float *src = malloc(sizeof(float) * 5632 * 2048);
    for (int64_t i = 0; i < 5632 * 2048; i++) src[i] = (float)sin((double)i * 0.37);
    for (int64_t i = 0; i < 5632 * 128; i++) x[i] = (float)cos((double)i * 0.11);
    for (int k = 0; k < n_types; k++) bench_type(kernels, pool, types[k], src, x, y, bandwidth, repeats);
    free(src);
    free(x);
    free(y);
    core_threadpool_free(pool);
    return 0;
}
