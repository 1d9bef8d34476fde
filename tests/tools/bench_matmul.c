/* Times cpu_matmul per weight type for TinyLlama-shaped matrices (2048x2048, 5632x2048)
 * at 1 and 128 tokens: prints GB/s of weights read and GFLOP/s. Usage: bench_matmul [threads] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend/cpu/cpu_matmul.h"
#include "backend/cpu/cpu_quant.h"
#include "format/ggml_types.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    int n_threads = argc > 1 ? atoi(argv[1]) : 2;
    const uint32_t types[] = {GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0,
                              GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                              GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};
    const int64_t shapes[][2] = {{2048, 2048}, {5632, 2048}};
    core_threadpool *pool = NULL;
    if (core_threadpool_create(n_threads, &pool) != SLLM_OK) return 1;
    cpu_features features = cpu_features_detect();
    printf("kernels: %s, threads: %d\n", cpu_kernels_best(&features)->name, n_threads);
    printf("%-5s %11s %7s %9s %9s\n", "type", "rows x cols", "tokens", "GB/s", "GFLOP/s");
    float *x = malloc(sizeof(float) * 2048 * 128), *y = malloc(sizeof(float) * 5632 * 128);
    float *src = malloc(sizeof(float) * 5632 * 2048);
    for (int64_t i = 0; i < 5632 * 2048; i++) src[i] = (float)sin((double)i * 0.37);
    for (int64_t i = 0; i < 2048 * 128; i++) x[i] = (float)cos((double)i * 0.11);
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        for (int s = 0; s < 2; s++) {
            int64_t n_rows = shapes[s][0], n_cols = shapes[s][1];
            uint64_t row_bytes = 0;
            ggml_row_size(types[k], n_cols, &row_bytes);
            uint8_t *w = malloc(row_bytes * (size_t)n_rows);
            for (int64_t r = 0; r < n_rows; r++) cpu_quantize(types[k], src + r * n_cols, w + r * row_bytes, n_cols);
            for (int64_t n_tokens = 1; n_tokens <= 128; n_tokens *= 128) {
                int reps = n_tokens == 1 ? 200 : 5;
                cpu_matmul(pool, types[k], w, n_rows, n_cols, x, n_tokens, y);
                double start = now_s();
                for (int rep = 0; rep < reps; rep++) cpu_matmul(pool, types[k], w, n_rows, n_cols, x, n_tokens, y);
                double seconds = (now_s() - start) / reps;
                printf("%-5s %5lldx%-5lld %7lld %9.1f %9.1f\n", ggml_type_get(types[k])->name,
                       (long long)n_rows, (long long)n_cols, (long long)n_tokens,
                       (double)row_bytes * (double)n_rows / seconds * 1e-9,
                       2.0 * (double)n_rows * (double)n_cols * (double)n_tokens / seconds * 1e-9);
            }
            free(w);
        }
    }
    free(src);
    free(x);
    free(y);
    core_threadpool_free(pool);
    return 0;
}
