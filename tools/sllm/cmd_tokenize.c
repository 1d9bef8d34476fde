/* `sllm tokenize` (text to token ids) and `sllm bench tokenize` (tokenizer throughput). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"

typedef struct tokenize_args {
    const char *model_path;
    const char *prompt;
    const char *file;
    uint32_t flags;
    int repeat;
} tokenize_args;

static int parse_args(int argc, char **argv, tokenize_args *args, const char *usage) {
    args->flags = SLLM_TOKENIZE_ADD_SPECIAL;
    args->repeat = 5;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        if ((!strcmp(arg, "-m") || !strcmp(arg, "--model")) && has_value) args->model_path = argv[++i];
        else if ((!strcmp(arg, "-p") || !strcmp(arg, "--prompt")) && has_value) args->prompt = argv[++i];
        else if ((!strcmp(arg, "-f") || !strcmp(arg, "--file")) && has_value) args->file = argv[++i];
        else if (!strcmp(arg, "--repeat") && has_value) args->repeat = atoi(argv[++i]);
        else if (!strcmp(arg, "--no-special")) args->flags &= ~(uint32_t)SLLM_TOKENIZE_ADD_SPECIAL;
        else if (!strcmp(arg, "--parse-special")) args->flags |= SLLM_TOKENIZE_PARSE_SPECIAL;
        else {
            fprintf(stderr, "sllm: unexpected argument '%s'\nusage: %s\n", arg, usage);
            return 2;
        }
    }
    if (args->model_path == NULL || (args->prompt == NULL) == (args->file == NULL) || args->repeat < 1) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    return 0;
}

/* The text to tokenize: -p as given, or the whole of -f. */
static char *read_text(const tokenize_args *args, size_t *len) {
    if (args->prompt) {
        *len = strlen(args->prompt);
        char *copy = malloc(*len + 1);
        if (copy) memcpy(copy, args->prompt, *len + 1);
        return copy;
    }
    FILE *f = fopen(args->file, "rb");
    if (f == NULL) {
        fprintf(stderr, "sllm: cannot open '%s'\n", args->file);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *data = malloc(cap);
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = realloc(data, cap * 2);
            if (grown == NULL) { free(data); data = NULL; break; }
            data = grown;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return data;
}

/* Parses the arguments and reads the text; 0 on success, else the exit code. */
static int prepare(int argc, char **argv, const char *usage, tokenize_args *args, char **text,
                   size_t *len) {
    int rc = parse_args(argc, argv, args, usage);
    if (rc) return rc;
    *text = read_text(args, len);
    return *text ? 0 : 1;
}

static sllm_model *load_tokenizer_model(const char *path) {
    return cli_load_model(path, CLI_LOAD_METADATA_ONLY); /* only the metadata: the tokenizer lives there */
}

static int tokenize_all(const sllm_model *model, const char *text, size_t len, uint32_t flags,
                        int32_t **ids, size_t *n_ids) {
    sllm_status status = sllm_tokenize(model, text, len, flags, NULL, 0, n_ids);
    if (status != SLLM_OK && status != SLLM_ERR_BUFFER_TOO_SMALL) return cli_fail("tokenize", status);
    *ids = malloc((*n_ids ? *n_ids : 1) * sizeof **ids);
    if (*ids == NULL) return cli_fail("tokenize", SLLM_ERR_OUT_OF_MEMORY);
    status = sllm_tokenize(model, text, len, flags, *ids, *n_ids, n_ids);
    if (status != SLLM_OK) return cli_fail("tokenize", status);
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    static const char usage[] =
        "sllm tokenize -m MODEL [--no-special] [--parse-special] (-p TEXT | -f FILE)";
    tokenize_args args = { 0 };
    size_t len = 0, n_ids = 0;
    char *text = NULL;
    int rc = prepare(argc, argv, usage, &args, &text, &len);
    if (rc) return rc;
    sllm_model *model = load_tokenizer_model(args.model_path);
    int32_t *ids = NULL;
    rc = model ? tokenize_all(model, text, len, args.flags, &ids, &n_ids) : 1;
    for (size_t i = 0; rc == 0 && i < n_ids; i++) printf(i ? " %d" : "%d", ids[i]);
    if (rc == 0) printf("\n");
    free(ids);
    free(text);
    sllm_model_free(model);
    return rc;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cmd_bench_tokenize(int argc, char **argv) {
    static const char usage[] =
        "sllm bench tokenize -m MODEL -f FILE [--parse-special] [--no-special] [--repeat N]";
    tokenize_args args = { 0 };
    size_t len = 0, n_ids = 0;
    char *text = NULL;
    int rc = prepare(argc, argv, usage, &args, &text, &len);
    if (rc) return rc;
    double t0 = now_seconds();
    sllm_model *model = load_tokenizer_model(args.model_path);
    double load_s = now_seconds() - t0, best_s = 0, total_s = 0;
    for (int r = 0; model && rc == 0 && r < args.repeat; r++) {
        int32_t *ids = NULL;
        double start = now_seconds();
        rc = tokenize_all(model, text, len, args.flags, &ids, &n_ids);
        double elapsed = now_seconds() - start;
        free(ids);
        total_s += elapsed;
        if (r == 0 || elapsed < best_s) best_s = elapsed;
    }
    if (model && rc == 0) {
        double mb = (double)len / 1e6;
        printf("model:     %s (vocabulary %d)\n", args.model_path, (int)sllm_vocab_size(model));
        printf("text:      %zu bytes -> %zu tokens\n", len, n_ids);
        printf("load:      %.1f ms\n", load_s * 1e3);
        printf("tokenize:  best %.1f ms, mean %.1f ms over %d runs (one thread)\n", best_s * 1e3,
               total_s / args.repeat * 1e3, args.repeat);
        printf("speed:     %.2f MB/s load excluded (best), %.2f MB/s load included\n", mb / best_s,
               mb / (best_s + load_s));
    }
    free(text);
    sllm_model_free(model);
    return model ? rc : 1;
}
