/* `sllm bench`: prompt and decode speed of one sequence, the memory it took, the
 * machine's memory read bandwidth, and how much of it decoding uses. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "commands.h"
#include "infer.h"
#include "read_bandwidth.h"

typedef struct bench_options {
    const char *model_path;
    int64_t n_prompt, n_decode;
    int n_threads;
    int load_flags;
    int as_json;
    int n_rounds;
} bench_options;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The process's peak resident set so far, in bytes (0 when unknown). */
static double peak_rss_bytes(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return 0.0;
    return (double)usage.ru_maxrss * 1024.0; /* Linux reports kilobytes */
}

/* Bytes of every tensor: what the weights take in memory (copied or mapped). */
static double weight_bytes_total(const sllm_model *model) {
    double total = 0.0;
    for (int64_t i = 0; i < sllm_model_tensor_count(model); i++) {
        sllm_tensor_info info = { .struct_size = sizeof info };
        if (sllm_model_tensor_info(model, i, &info) == SLLM_OK) total += (double)info.size_bytes;
    }
    return total;
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

enum { BENCH_MAX_ROUNDS = 9, BENCH_SLICE_TOKENS = 4 };
#define BENCH_SAMPLER_BYTES ((size_t)256 << 20)

/* One decode round: its decode time, and the reads of the bandwidth sampler taken
 * between its slices (none without a sampler). */
typedef struct round_times {
    double decode_seconds;
    double probe_seconds, probe_bytes;
    int n_probes;
} round_times;

typedef struct bench_result {
    double prompt_seconds;
    int n_rounds;
    round_times rounds[BENCH_MAX_ROUNDS];   /* each round decodes the same positions */
    read_bandwidth probe;       /* the separate 1 GiB probe: best rate, loop, page size */
    double kv_bytes;            /* the K/V pool of the benchmarked sequence */
    double peak_rss_bytes;      /* load, prefill and decode; never a probe's buffer */
} bench_result;

/* One decode round as reported: its speed, the bandwidth measured during it, and the
 * share of that bandwidth decoding used. */
typedef struct round_figures {
    double tokens_per_s, bandwidth, efficiency;
} round_figures;

/* Forgets the peak RSS so far (Linux: "5" to /proc/self/clear_refs); 0 if it cannot. */
static int reset_peak_rss(void) {
    FILE *file = fopen("/proc/self/clear_refs", "w");
    if (file == NULL) return 0;
    int ok = fputs("5", file) >= 0;
    return fclose(file) == 0 && ok;
}

/* The separate probe (best rate over several read loops, 1 GiB): which loop the sampler
 * then uses, and the figure rounds fall back to without a sampler. Its buffer is kept
 * out of the peak RSS by reading the peak before it and resetting it after. */
static void probe_bandwidth(const bench_options *opt, bench_result *result, int *peak_reset) {
    double peak = peak_rss_bytes();
    if (peak > result->peak_rss_bytes) result->peak_rss_bytes = peak;
    read_bandwidth_measure(opt->n_threads, &result->probe);
    *peak_reset = reset_peak_rss();
}

/* The inference pool's and the sampler's workers spin for up to ~0.3 ms after their
 * work before they sleep; a spinning thread of one pool would take a core from the
 * other's first moments (seen as reads 25% slower). The pause is not timed. */
static void pause_for_spinners(void) {
    struct timespec pause = { 0, 2000000 };
    nanosleep(&pause, NULL);
}

/* The memory bandwidth of this VM changes from second to second (two threads read 34-37
 * GB/s most of the time and 55-64 GB/s at others), so a round is decoded in slices of
 * BENCH_SLICE_TOKENS tokens with one read of the sampler's buffer before each: decoding
 * and the probe see the same moments, and the round's bandwidth is all the bytes the
 * sampler read over all the time it took. */
static sllm_status decode_round(cli_infer *infer, const bench_options *opt, int32_t first, read_sampler *sampler,
                                round_times *out) {
    sllm_status status = SLLM_OK;
    int32_t next = first;
    memset(out, 0, sizeof *out);
    for (int64_t step = 0; status == SLLM_OK && step < opt->n_decode;) {
        if (sampler != NULL) {
            pause_for_spinners();
            out->probe_seconds += read_sampler_run(sampler);
            pause_for_spinners();
            out->probe_bytes += (double)read_sampler_bytes_read(sampler);
            out->n_probes++;
        }
        double start = now_seconds();
        for (int k = 0; status == SLLM_OK && k < BENCH_SLICE_TOKENS && step < opt->n_decode; k++, step++) {
            status = cli_infer_step(infer, &next, 1, opt->n_prompt + step);
            next = argmax(infer->logits, infer->n_vocab);
        }
        out->decode_seconds += now_seconds() - start;
    }
    return status;
}

static sllm_status run_bench(cli_infer *infer, const bench_options *opt, bench_result *result) {
    int32_t *prompt = malloc((size_t)opt->n_prompt * sizeof *prompt);
    if (prompt == NULL) return SLLM_ERR_OUT_OF_MEMORY;
    for (int64_t i = 0; i < opt->n_prompt; i++) prompt[i] = (int32_t)((i * 7919 + 13) % infer->n_vocab);
    /* One token first, so that page faults on the mapped weights are not timed. */
    sllm_status status = cli_infer_step(infer, prompt, 1, 0);
    double start = now_seconds();
    if (status == SLLM_OK) status = cli_infer_step(infer, prompt, opt->n_prompt, 0);
    result->prompt_seconds = now_seconds() - start;
    int32_t first = status == SLLM_OK ? argmax(infer->logits, infer->n_vocab) : 0;
    int peak_reset = 0;
    if (status == SLLM_OK) probe_bandwidth(opt, result, &peak_reset);
    /* Without a reset the peak would include the probe's buffer: then no sampler either,
     * and one round (its bandwidth the probe's). */
    read_sampler *sampler = peak_reset ? read_sampler_open(opt->n_threads, BENCH_SAMPLER_BYTES, &result->probe) : NULL;
    int n_rounds = peak_reset ? opt->n_rounds : 1;
    for (int r = 0; status == SLLM_OK && r < n_rounds; r++) {
        status = decode_round(infer, opt, first, sampler, &result->rounds[r]);
        if (status == SLLM_OK) result->n_rounds = r + 1;
    }
    /* The sampler's buffer is resident (every page written) until closed: not ours to count. */
    double peak = peak_rss_bytes() - (sampler ? (double)read_sampler_resident_bytes(sampler) : 0.0);
    if (peak > result->peak_rss_bytes) result->peak_rss_bytes = peak;
    read_sampler_close(sampler);
    result->kv_bytes = (double)infer->n_blocks * (double)sllm_kv_block_bytes(&infer->layout);
    free(prompt);
    return status;
}

/* Every round's figures, computed once (the bytes per token walk all tensors). */
static void rate_rounds(const bench_options *opt, const sllm_model *model, const bench_result *r,
                        round_figures *rounds) {
    double bytes_per_token = weight_bytes_per_token(model);
    for (int i = 0; i < r->n_rounds; i++) {
        round_figures *f = &rounds[i];
        const round_times *t = &r->rounds[i];
        f->tokens_per_s = (double)opt->n_decode / t->decode_seconds;
        f->bandwidth = t->n_probes > 0 ? t->probe_bytes / t->probe_seconds : r->probe.bytes_per_s;
        f->efficiency = f->bandwidth > 0 ? bytes_per_token * f->tokens_per_s / f->bandwidth : 0.0;
    }
}

/* The round of median efficiency (the lower middle one for an even count): one round's
 * consistent figures, neither the luckiest nor the unluckiest. */
static int median_round(const round_figures *rounds, int n_rounds) {
    for (int i = 0; i < n_rounds; i++) {
        int below = 0, equal_before = 0;
        for (int j = 0; j < n_rounds; j++) {
            below += rounds[j].efficiency < rounds[i].efficiency;
            equal_before += rounds[j].efficiency == rounds[i].efficiency && j < i;
        }
        if (below + equal_before == (n_rounds - 1) / 2) return i;
    }
    return 0;
}

static void report_json(const bench_options *opt, const sllm_model *model, const bench_result *r) {
    round_figures rounds[BENCH_MAX_ROUNDS];
    rate_rounds(opt, model, r, rounds);
    int m = median_round(rounds, r->n_rounds);
    round_figures median = rounds[m];
    json_t *out = json_object(), *rounds_json = json_array();
    json_object_set_new(out, "model", json_string(opt->model_path));
    json_object_set_new(out, "weights_layout", json_string(sllm_model_weights_layout(model)));
    json_object_set_new(out, "n_prompt", json_integer((json_int_t)opt->n_prompt));
    json_object_set_new(out, "n_decode", json_integer((json_int_t)opt->n_decode));
    json_object_set_new(out, "threads", json_integer(opt->n_threads));
    json_object_set_new(out, "prompt_tokens_per_s", json_real((double)opt->n_prompt / r->prompt_seconds));
    json_object_set_new(out, "decode_tokens_per_s", json_real(median.tokens_per_s));
    json_object_set_new(out, "weights_bytes", json_integer((json_int_t)weight_bytes_total(model)));
    json_object_set_new(out, "kv_bytes", json_integer((json_int_t)r->kv_bytes));
    json_object_set_new(out, "peak_rss_bytes", json_integer((json_int_t)r->peak_rss_bytes));
    json_object_set_new(out, "read_bandwidth_gb_per_s", json_real(median.bandwidth / 1e9));
    json_object_set_new(out, "read_bandwidth_reads_during_decode", json_integer(r->rounds[m].n_probes));
    json_object_set_new(out, "read_bandwidth_best_probe_gb_per_s", json_real(r->probe.bytes_per_s / 1e9));
    json_object_set_new(out, "read_bandwidth_loop", json_string(r->probe.loop ? r->probe.loop : ""));
    json_object_set_new(out, "read_bandwidth_huge_pages", json_boolean(r->probe.huge_pages));
    json_object_set_new(out, "weight_bytes_per_token", json_real(weight_bytes_per_token(model)));
    json_object_set_new(out, "decode_bandwidth_efficiency", json_real(median.efficiency));
    for (int i = 0; i < r->n_rounds; i++) {
        round_figures f = rounds[i];
        json_array_append_new(rounds_json, json_pack("{s:f, s:f, s:f}", "decode_tokens_per_s", f.tokens_per_s,
                                                "read_bandwidth_gb_per_s", f.bandwidth / 1e9,
                                                "decode_bandwidth_efficiency", f.efficiency));
    }
    json_object_set_new(out, "decode_rounds", rounds_json);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) puts(text);
    free(text);
    json_decref(out);
}

static void report_text(const bench_options *opt, const sllm_model *model, const bench_result *r) {
    round_figures rounds[BENCH_MAX_ROUNDS];
    rate_rounds(opt, model, r, rounds);
    int m = median_round(rounds, r->n_rounds);
    round_figures median = rounds[m];
    double weights = weight_bytes_total(model);
    printf("model                        %s\n", opt->model_path);
    printf("weights                      %s\n", sllm_model_weights_layout(model));
    printf("threads                      %d\n", opt->n_threads);
    printf("prompt (%4lld tokens)         %.1f tokens/s\n", (long long)opt->n_prompt,
           (double)opt->n_prompt / r->prompt_seconds);
    printf("decode (%4lld tokens)         %.1f tokens/s\n", (long long)opt->n_decode, median.tokens_per_s);
    printf("peak memory (RSS)            %.1f MiB (weights %.1f MiB + KV %.1f MiB + %.1f MiB other)\n",
           r->peak_rss_bytes / 1048576.0, weights / 1048576.0, r->kv_bytes / 1048576.0,
           (r->peak_rss_bytes - weights - r->kv_bytes) / 1048576.0);
    if (r->rounds[m].n_probes > 0)
        printf("memory read bandwidth        %.1f GB/s (read between decode slices: %d reads of %zu MiB; ",
               median.bandwidth / 1e9, r->rounds[m].n_probes, BENCH_SAMPLER_BYTES >> 20);
    else
        printf("memory read bandwidth        %.1f GB/s (", median.bandwidth / 1e9);
    printf("best of a separate 1 GiB probe %.1f GB/s; %s loads, %s pages, %d threads)\n", r->probe.bytes_per_s / 1e9,
           r->probe.loop ? r->probe.loop : "no", r->probe.huge_pages ? "2 MiB" : "4 KiB", opt->n_threads);
    printf("weight bytes per token       %.1f MB\n", weight_bytes_per_token(model) / 1e6);
    printf("decode bandwidth efficiency  %.0f%%\n", median.efficiency * 100.0);
    if (r->n_rounds < 2) return;
    printf("decode rounds                %d, the median one above:", r->n_rounds);
    for (int i = 0; i < r->n_rounds; i++) {
        round_figures f = rounds[i];
        printf("%s %.1f tok/s at %.0f%% of %.1f GB/s", i ? ";" : "", f.tokens_per_s, f.efficiency * 100.0,
               f.bandwidth / 1e9);
    }
    printf("\n");
}

static const char *const bench_usage =
    "usage: sllm bench -m MODEL [-p 128] [-n 64] [-t 2] [-r 3] [--mmap] [--json]\n"
    "  -r ROUNDS         decode rounds (1-9), each in slices of 4 tokens with the memory\n"
    "                    bandwidth read between them; the round of median efficiency is\n"
    "                    reported, every round listed\n"
    CLI_LOAD_OPTIONS_HELP;

static int parse_bench_args(int argc, char **argv, bench_options *opt) {
    *opt = (bench_options){ NULL, 128, 64, 2, 0, 0, 3 };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--json") == 0) { opt->as_json = 1; continue; }
        if (cli_parse_load_option(arg, &opt->load_flags)) continue;
        if (value == NULL) return 0;
        i++;
        if (strcmp(arg, "-m") == 0) opt->model_path = value;
        else if (strcmp(arg, "-p") == 0) opt->n_prompt = atoll(value);
        else if (strcmp(arg, "-n") == 0) opt->n_decode = atoll(value);
        else if (strcmp(arg, "-t") == 0) opt->n_threads = atoi(value);
        else if (strcmp(arg, "-r") == 0) opt->n_rounds = atoi(value);
        else return 0;
    }
    return opt->model_path && opt->n_prompt >= 1 && opt->n_decode >= 1 && opt->n_threads >= 1 &&
           opt->n_rounds >= 1 && opt->n_rounds <= BENCH_MAX_ROUNDS;
}

int cmd_bench(int argc, char **argv) {
    bench_options opt;
    if (!parse_bench_args(argc, argv, &opt)) {
        fputs(bench_usage, stderr);
        return 2;
    }
    sllm_model *model = cli_load_model(opt.model_path, opt.load_flags);
    if (model == NULL) return 1;
    cli_infer infer;
    int rc = cli_infer_open(&infer, model, opt.n_threads, opt.n_prompt + opt.n_decode, opt.n_prompt);
    if (rc == 0) {
        bench_result result;
        memset(&result, 0, sizeof result);
        sllm_status status = run_bench(&infer, &opt, &result);
        cli_infer_close(&infer);
        if (status == SLLM_OK) {
            if (opt.as_json) report_json(&opt, model, &result);
            else report_text(&opt, model, &result);
        } else {
            rc = cli_fail("benchmark failed", status);
        }
    }
    sllm_model_free(model);
    return rc;
}
