/* dump_logits: runs the library's forward pass over given token ids and writes the logits
 * (float32 little-endian, one row of n_vocab per token) or a greedy continuation, for the
 * numpy reference tests.
 *   dump_logits MODEL.gguf --tokens 1,2,3 [--threads N] [--chunk K] [--kv f32|f16] [--out FILE.f32]
 *   dump_logits MODEL.gguf --tokens 1,2,3 --greedy 32      (prints the generated ids)
 * K/V are stored as F32 unless --kv f16, so that F32 models compare exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_backend.h"
#include "engine/forward.h"
#include "engine/kv_simple.h"
#include "statelessllm.h"

enum { BLOCK_SIZE = 16 };

typedef struct options {
    const char *model_path, *out_path;
    int32_t *tokens;
    int64_t n_tokens;
    int n_threads;
    int64_t chunk;
    int64_t greedy;
    sllm_kv_dtype kv_dtype;
} options;

static int parse_tokens(const char *text, options *opt) {
    size_t cap = 1;
    for (const char *p = text; *p; p++) cap += *p == ',';
    opt->tokens = malloc(cap * sizeof *opt->tokens);
    if (opt->tokens == NULL) return 0;
    const char *p = text;
    while (*p) {
        char *end;
        long value = strtol(p, &end, 10);
        if (end == p) return 0;
        opt->tokens[opt->n_tokens++] = (int32_t)value;
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') return 0;
    }
    return opt->n_tokens > 0;
}

static int parse_args(int argc, char **argv, options *opt) {
    memset(opt, 0, sizeof *opt);
    opt->n_threads = 1;
    opt->kv_dtype = SLLM_KV_F32;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (arg[0] != '-' && opt->model_path == NULL) { opt->model_path = arg; continue; }
        if (value == NULL) return 0;
        i++;
        if (strcmp(arg, "--tokens") == 0) { if (!parse_tokens(value, opt)) return 0; }
        else if (strcmp(arg, "--threads") == 0) opt->n_threads = atoi(value);
        else if (strcmp(arg, "--chunk") == 0) opt->chunk = atoll(value);
        else if (strcmp(arg, "--greedy") == 0) opt->greedy = atoll(value);
        else if (strcmp(arg, "--out") == 0) opt->out_path = value;
        else if (strcmp(arg, "--kv") == 0) opt->kv_dtype = strcmp(value, "f16") == 0 ? SLLM_KV_F16 : SLLM_KV_F32;
        else return 0;
    }
    return opt->model_path != NULL && opt->n_tokens > 0 && opt->n_threads >= 1;
}

static int32_t argmax(const float *row, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (row[i] > row[best]) best = i;
    return (int32_t)best;
}

static int write_logits(const char *path, const float *logits, size_t n_floats) {
    FILE *out = path ? fopen(path, "wb") : stdout;
    if (out == NULL) return 0;
    int ok = fwrite(logits, sizeof *logits, n_floats, out) == n_floats;
    if (path) ok = fclose(out) == 0 && ok;
    else ok = fflush(out) == 0 && ok;
    return ok;
}

static sllm_status run(const options *opt, sllm_model *model, sllm_backend *backend) {
    int64_t n_total = opt->n_tokens + opt->greedy;
    int64_t n_vocab = sllm_model_n_vocab(model), n_blocks = (n_total + BLOCK_SIZE - 1) / BLOCK_SIZE;
    int64_t chunk = opt->chunk > 0 ? opt->chunk : opt->n_tokens;
    sllm_kv_layout layout;
    forward_kv_layout(model, opt->kv_dtype, BLOCK_SIZE, &layout);
    forward_context *ctx = NULL;
    kv_simple *kv = NULL;
    int all_logits = opt->greedy == 0;
    float *logits = malloc((size_t)(all_logits ? opt->n_tokens : 1) * (size_t)n_vocab * sizeof *logits);
    int32_t *table = malloc((size_t)n_blocks * sizeof *table);
    sllm_status status = logits && table ? SLLM_OK : SLLM_ERR_OUT_OF_MEMORY;
    if (status == SLLM_OK) status = forward_create(model, backend, chunk, &ctx);
    if (status == SLLM_OK) status = kv_simple_create(backend, &layout, n_blocks, &kv);
    if (status == SLLM_OK) status = kv_simple_alloc(kv, n_blocks, table);
    forward_batch batch = { opt->tokens, opt->n_tokens, 0, table, n_blocks, kv ? kv->buffer : NULL, &layout,
                            all_logits, logits };
    if (status == SLLM_OK) status = forward_run(ctx, &batch);
    if (status == SLLM_OK && all_logits && !write_logits(opt->out_path, logits, (size_t)(opt->n_tokens * n_vocab))) {
        fprintf(stderr, "dump_logits: cannot write the logits\n");
        status = SLLM_ERR_IO;
    }
    for (int64_t step = 0; status == SLLM_OK && step < opt->greedy; step++) {
        int32_t next = argmax(logits, n_vocab);
        printf("%s%d", step ? " " : "", (int)next);
        forward_batch decode = { &next, 1, opt->n_tokens + step, table, n_blocks, kv->buffer, &layout, 0, logits };
        if (step + 1 < opt->greedy) status = forward_run(ctx, &decode);
    }
    if (opt->greedy) printf("\n");
    kv_simple_free(kv);
    forward_free(ctx);
    free(table);
    free(logits);
    return status;
}

int main(int argc, char **argv) {
    options opt;
    if (!parse_args(argc, argv, &opt)) {
        fprintf(stderr, "usage: dump_logits MODEL.gguf --tokens 1,2,3 [--threads N] [--chunk K] "
                        "[--kv f32|f16] [--out FILE.f32] [--greedy N]\n");
        free(opt.tokens);
        return 2;
    }
    sllm_model *model = NULL;
    sllm_backend *backend = NULL;
    sllm_status status = sllm_model_load(opt.model_path, NULL, &model);
    if (status == SLLM_OK) status = cpu_backend_create(opt.n_threads, &backend);
    if (status == SLLM_OK) status = run(&opt, model, backend);
    if (status != SLLM_OK) fprintf(stderr, "dump_logits: %s: %s\n", sllm_status_string(status), sllm_last_error());
    if (backend) backend->ops->destroy(backend);
    sllm_model_free(model);
    free(opt.tokens);
    return status == SLLM_OK ? 0 : 1;
}
