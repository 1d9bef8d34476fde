/* `sllm run`: plain completion of a prompt (no chat template), streamed as generated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_json.h"
#include "commands.h"
#include "engine/sampler.h"
#include "infer.h"

typedef struct run_options {
    const char *model_path, *prompt;
    int64_t n_predict;
    double temperature;
    uint64_t seed;
    int n_threads;
    int as_json, logprobs, top_logprobs;
} run_options;

static const char *const run_usage = "usage: sllm run -m MODEL -p PROMPT [-n N] [--temp T] [--seed S] [-t THREADS]\n"
                                     "                [--json [--logprobs] [--top-logprobs N]]\n";

static int parse_run_args(int argc, char **argv, run_options *opt) {
    *opt = (run_options){ NULL, NULL, 64, 0.8, 0, 2, 0, 0, 0 };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--json") == 0) { opt->as_json = 1; continue; }
        if (strcmp(arg, "--logprobs") == 0) { opt->logprobs = 1; continue; }
        if (value == NULL) return 0;
        i++;
        if (strcmp(arg, "-m") == 0) opt->model_path = value;
        else if (strcmp(arg, "-p") == 0) opt->prompt = value;
        else if (strcmp(arg, "-n") == 0) opt->n_predict = atoll(value);
        else if (strcmp(arg, "--temp") == 0) opt->temperature = atof(value);
        else if (strcmp(arg, "--seed") == 0) opt->seed = strtoull(value, NULL, 10);
        else if (strcmp(arg, "-t") == 0) opt->n_threads = atoi(value);
        else if (strcmp(arg, "--top-logprobs") == 0) opt->top_logprobs = atoi(value);
        else return 0;
    }
    return opt->model_path && opt->prompt && opt->n_predict >= 0 && opt->n_threads >= 1;
}

static int32_t *tokenize_prompt(const sllm_model *model, const char *prompt, size_t *n_tokens) {
    size_t len = strlen(prompt);
    sllm_status status = sllm_tokenize(model, prompt, len, SLLM_TOKENIZE_ADD_SPECIAL, NULL, 0, n_tokens);
    if (status != SLLM_OK && status != SLLM_ERR_BUFFER_TOO_SMALL) {
        cli_fail("cannot tokenize the prompt", status);
        return NULL;
    }
    int32_t *tokens = malloc((*n_tokens ? *n_tokens : 1) * sizeof *tokens);
    if (tokens == NULL) return NULL;
    status = sllm_tokenize(model, prompt, len, SLLM_TOKENIZE_ADD_SPECIAL, tokens, *n_tokens, n_tokens);
    if (status != SLLM_OK) {
        cli_fail("cannot tokenize the prompt", status);
        free(tokens);
        return NULL;
    }
    return tokens;
}

static void print_piece(const sllm_model *model, int32_t token) {
    char piece[256];
    size_t n_bytes = 0;
    if (sllm_token_piece(model, token, piece, sizeof piece, &n_bytes) == SLLM_OK) fwrite(piece, 1, n_bytes, stdout);
    fflush(stdout);
}

/* Samples and streams up to n_predict tokens after the prompt; stops at end of generation. */
static sllm_status generate(cli_infer *infer, sampler *chooser, int32_t *history, int64_t n_prompt, int64_t n_predict) {
    sllm_status status = cli_infer_step(infer, history, n_prompt, 0);
    for (int64_t step = 0; status == SLLM_OK && step < n_predict; step++) {
        sampler_result chosen;
        status = sampler_sample(chooser, infer->logits, history, (size_t)(n_prompt + step), &chosen);
        if (status != SLLM_OK || sllm_token_is_eog(infer->model, chosen.token)) break;
        history[n_prompt + step] = chosen.token;
        print_piece(infer->model, chosen.token);
        if (step + 1 < n_predict) status = cli_infer_step(infer, &chosen.token, 1, n_prompt + step);
    }
    printf("\n");
    return status;
}

/* --json: the same completion through the public API (sllm_generate), printed as one JSON
 * object: text, token ids, finish reason, counts, timings, logprobs when asked. */
static int run_json(sllm_model *model, const run_options *opt) {
    sllm_cache_params cache_params;
    sllm_cache_params_init(&cache_params);
    cache_params.n_threads = opt->n_threads;
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.max_tokens = (int32_t)opt->n_predict;
    params.temperature = (float)opt->temperature;
    params.seed = opt->seed;
    params.logprobs = opt->logprobs;
    params.top_logprobs = opt->top_logprobs;
    sllm_cache *cache = NULL;
    sllm_request *request = NULL;
    sllm_result result;
    sllm_result_init(&result);
    sllm_status status = sllm_cache_create(model, &cache_params, &cache);
    if (status == SLLM_OK) status = sllm_request_create(&request);
    if (status == SLLM_OK) status = sllm_request_set_prompt_text(request, opt->prompt, strlen(opt->prompt));
    if (status == SLLM_OK) status = sllm_generate(cache, request, &params, NULL, NULL, &result);
    int rc = status == SLLM_OK ? chat_result_write_json(stdout, 0, NULL, &result) : cli_fail("generation failed", status);
    sllm_result_free(&result);
    sllm_request_free(request);
    sllm_cache_free(cache);
    return rc;
}

int cmd_run(int argc, char **argv) {
    run_options opt;
    if (!parse_run_args(argc, argv, &opt)) {
        fputs(run_usage, stderr);
        return 2;
    }
    sllm_model *model = cli_load_model(opt.model_path, 0);
    if (model == NULL) return 1;
    if (opt.as_json) {
        int json_rc = run_json(model, &opt);
        sllm_model_free(model);
        return json_rc;
    }
    int rc = 1;
    size_t n_prompt = 0;
    int32_t *prompt = tokenize_prompt(model, opt.prompt, &n_prompt);
    int32_t *history = prompt ? malloc((n_prompt + (size_t)opt.n_predict + 1) * sizeof *history) : NULL;
    sampler *chooser = NULL;
    cli_infer infer;
    memset(&infer, 0, sizeof infer);
    if (history == NULL || n_prompt == 0) goto done;
    int64_t n_total = (int64_t)n_prompt + opt.n_predict;
    if (n_total > sllm_model_n_ctx(model)) {
        fprintf(stderr, "sllm run: %lld prompt + %lld new tokens exceed the context of %lld\n", (long long)n_prompt,
                (long long)opt.n_predict, (long long)sllm_model_n_ctx(model));
        goto done;
    }
    memcpy(history, prompt, n_prompt * sizeof *history);
    sampler_params sp;
    sampler_params_init(&sp);
    sp.temperature = (float)opt.temperature;
    sp.seed = opt.seed;
    sllm_status status = sampler_create(&sp, (int32_t)sllm_model_n_vocab(model), &chooser);
    if (status != SLLM_OK) {
        cli_fail("bad sampling parameters", status);
        goto done;
    }
    int64_t max_batch = (int64_t)n_prompt < 256 ? (int64_t)n_prompt : 256;
    if (cli_infer_open(&infer, model, opt.n_threads, n_total, max_batch) != 0) goto done;
    fputs(opt.prompt, stdout);
    status = generate(&infer, chooser, history, (int64_t)n_prompt, opt.n_predict);
    rc = status == SLLM_OK ? 0 : cli_fail("generation failed", status);
done:
    if (infer.ctx) cli_infer_close(&infer);
    sampler_free(chooser);
    free(history);
    free(prompt);
    sllm_model_free(model);
    return rc;
}
