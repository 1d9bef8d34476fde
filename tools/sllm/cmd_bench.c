/* `sllm bench`: prompt and decode speed of one sequence, the machine's memory read
 * bandwidth, and how much of it decoding uses. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "core/threadpool.h"
#include "infer.h"

enum { BANDWIDTH_BUFFER_BYTES = 1 << 30, BANDWIDTH_REPEATS = 3 };

typedef struct bench_options {
    const char *model_path;
    int64_t n_prompt, n_decode;
    int n_threads;
    int as_json;
} bench_options;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct read_task {
    const uint64_t *data;
    size_t n_words;
    uint64_t sums[64];      /* per thread, so that the reads cannot be optimized away */
} read_task;

static void read_slice(void *context, int thread_index, int n_threads) {
    read_task *task = context;
    size_t begin = task->n_words * (size_t)thread_index / (size_t)n_threads;
    size_t end = task->n_words * (size_t)(thread_index + 1) / (size_t)n_threads;
    uint64_t lanes[8] = { 0 };
    for (size_t i = begin; i + 8 <= end; i += 8)
        for (int j = 0; j < 8; j++) lanes[j] += task->data[i + j];
    task->sums[thread_index % 64] = lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3] ^ lanes[4] ^ lanes[5] ^ lanes[6] ^ lanes[7];
}

/* Best of a few multi-threaded streaming reads over 1 GiB, in bytes per second. */
static double measure_read_bandwidth(int n_threads) {
    uint64_t *data = malloc(BANDWIDTH_BUFFER_BYTES);
    core_threadpool *pool = NULL;
    if (data == NULL || core_threadpool_create(n_threads, &pool) != SLLM_OK) {
        free(data);
        return 0.0;
    }
    memset(data, 1, BANDWIDTH_BUFFER_BYTES);
    read_task task = { data, BANDWIDTH_BUFFER_BYTES / sizeof *data, { 0 } };
    double best = 0.0;
    for (int rep = 0; rep < BANDWIDTH_REPEATS; rep++) {
        double start = now_seconds();
        core_threadpool_run(pool, read_slice, &task);
        double rate = (double)BANDWIDTH_BUFFER_BYTES / (now_seconds() - start);
        if (rate > best) best = rate;
    }
    core_threadpool_free(pool);
    free(data);
    return best;
}

/* Weight bytes one decode step reads: every tensor once, except that only one row of
 * the token embedding is read (unless it doubles as the output matrix). */
static double weight_bytes_per_token(const sllm_model *model) {
    int64_t index;
    int tied = sllm_model_tensor_find(model, "output.weight", &index) != SLLM_OK;
    double total = 0.0;
    for (int64_t i = 0; i < sllm_model_tensor_count(model); i++) {
        sllm_tensor_info info = { .struct_size = sizeof info };
        if (sllm_model_tensor_info(model, i, &info) != SLLM_OK) continue;
        if (strcmp(info.name, "token_embd.weight") == 0 && !tied && info.n_dims == 2)
            total += (double)info.size_bytes / (double)info.dims[1];
        else
            total += (double)info.size_bytes;
    }
    return total;
}

static int32_t argmax(const float *row, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (row[i] > row[best]) best = i;
    return (int32_t)best;
}

typedef struct bench_result {
    double prompt_seconds, decode_seconds;
} bench_result;

static sllm_status run_bench(cli_infer *infer, const bench_options *opt, bench_result *result) {
    int32_t *prompt = malloc((size_t)opt->n_prompt * sizeof *prompt);
    if (prompt == NULL) return SLLM_ERR_OUT_OF_MEMORY;
    for (int64_t i = 0; i < opt->n_prompt; i++) prompt[i] = (int32_t)((i * 7919 + 13) % infer->n_vocab);
    /* One token first, so that page faults on the mapped weights are not timed. */
    sllm_status status = cli_infer_step(infer, prompt, 1, 0);
    double start = now_seconds();
    if (status == SLLM_OK) status = cli_infer_step(infer, prompt, opt->n_prompt, 0);
    result->prompt_seconds = now_seconds() - start;
    start = now_seconds();
    for (int64_t step = 0; status == SLLM_OK && step < opt->n_decode; step++) {
        int32_t next = argmax(infer->logits, infer->n_vocab);
        status = cli_infer_step(infer, &next, 1, opt->n_prompt + step);
    }
    result->decode_seconds = now_seconds() - start;
    free(prompt);
    return status;
}

static void report(const bench_options *opt, const sllm_model *model, const bench_result *r, double bandwidth) {
    double prompt_tps = (double)opt->n_prompt / r->prompt_seconds;
    double decode_tps = (double)opt->n_decode / r->decode_seconds;
    double bytes_per_token = weight_bytes_per_token(model);
    double efficiency = bandwidth > 0 ? bytes_per_token * decode_tps / bandwidth : 0.0;
    if (opt->as_json) {
        json_t *out = json_pack("{s:s, s:I, s:I, s:i, s:f, s:f, s:f, s:f, s:f}", "model", opt->model_path,
                                "n_prompt", (json_int_t)opt->n_prompt, "n_decode", (json_int_t)opt->n_decode,
                                "threads", opt->n_threads, "prompt_tokens_per_s", prompt_tps,
                                "decode_tokens_per_s", decode_tps, "read_bandwidth_gb_per_s", bandwidth / 1e9,
                                "weight_bytes_per_token", bytes_per_token, "decode_bandwidth_efficiency", efficiency);
        char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) puts(text);
        free(text);
        json_decref(out);
        return;
    }
    printf("model                        %s\n", opt->model_path);
    printf("threads                      %d\n", opt->n_threads);
    printf("prompt (%4lld tokens)         %.1f tokens/s\n", (long long)opt->n_prompt, prompt_tps);
    printf("decode (%4lld tokens)         %.1f tokens/s\n", (long long)opt->n_decode, decode_tps);
    printf("memory read bandwidth        %.1f GB/s\n", bandwidth / 1e9);
    printf("weight bytes per token       %.1f MB\n", bytes_per_token / 1e6);
    printf("decode bandwidth efficiency  %.0f%%\n", efficiency * 100.0);
}

static int parse_bench_args(int argc, char **argv, bench_options *opt) {
    *opt = (bench_options){ NULL, 128, 64, 2, 0 };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--json") == 0) { opt->as_json = 1; continue; }
        if (value == NULL) return 0;
        i++;
        if (strcmp(arg, "-m") == 0) opt->model_path = value;
        else if (strcmp(arg, "-p") == 0) opt->n_prompt = atoll(value);
        else if (strcmp(arg, "-n") == 0) opt->n_decode = atoll(value);
        else if (strcmp(arg, "-t") == 0) opt->n_threads = atoi(value);
        else return 0;
    }
    return opt->model_path && opt->n_prompt >= 1 && opt->n_decode >= 1 && opt->n_threads >= 1;
}

int cmd_bench(int argc, char **argv) {
    bench_options opt;
    if (!parse_bench_args(argc, argv, &opt)) {
        fprintf(stderr, "usage: sllm bench -m MODEL [-p 128] [-n 64] [-t 2] [--json]\n");
        return 2;
    }
    sllm_model *model = cli_load_model(opt.model_path, 0);
    if (model == NULL) return 1;
    cli_infer infer;
    int rc = cli_infer_open(&infer, model, opt.n_threads, opt.n_prompt + opt.n_decode, opt.n_prompt);
    if (rc == 0) {
        bench_result result;
        sllm_status status = run_bench(&infer, &opt, &result);
        cli_infer_close(&infer);
        if (status == SLLM_OK) report(&opt, model, &result, measure_read_bandwidth(opt.n_threads));
        else rc = cli_fail("benchmark failed", status);
    }
    sllm_model_free(model);
    return rc;
}
