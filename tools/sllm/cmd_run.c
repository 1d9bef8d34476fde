/* `sllm run`: plain completion of a prompt (no chat template), streamed as generated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_json.h"
#include "commands.h"

typedef struct run_options {
    const char *model_path, *prompt;
    int64_t n_predict;
    double temperature;
    uint64_t seed;
    int n_threads;
    int load_flags;
    int as_json, logprobs, top_logprobs;
} run_options;

static const char *const run_usage = "usage: sllm run -m MODEL -p PROMPT [-n N] [--temp T] [--seed S] [-t THREADS]\n"
                                     "                [--mmap] [--json [--logprobs] [--top-logprobs N]]\n"
                                     CLI_LOAD_OPTIONS_HELP;

static int parse_run_args(int argc, char **argv, run_options *opt) {
    *opt = (run_options){ NULL, NULL, 64, 0.8, 0, 2, 0, 0, 0, 0 };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--json") == 0) { opt->as_json = 1; continue; }
        if (strcmp(arg, "--logprobs") == 0) { opt->logprobs = 1; continue; }
        if (cli_parse_load_option(arg, &opt->load_flags)) continue;
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

static int print_text(void *user, const char *text, size_t len, const int32_t *tokens, size_t n_tokens) {
    (void)user, (void)tokens, (void)n_tokens;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

/* The completion goes through the public API (sllm_generate) like any host's: streamed
 * text by default; with --json one object with text, token ids, finish reason, counts,
 * timings and logprobs when asked. */
static int run_completion(sllm_model *model, const run_options *opt) {
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
    if (status == SLLM_OK && !opt->as_json) fputs(opt->prompt, stdout);
    if (status == SLLM_OK)
        status = sllm_generate(cache, request, &params, opt->as_json ? NULL : print_text, NULL, &result);
    int rc;
    if (status != SLLM_OK) rc = cli_fail("generation failed", status);
    else if (opt->as_json) rc = chat_result_write_json(stdout, 0, NULL, &result);
    else rc = (printf("\n"), 0);
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
    sllm_model *model = cli_load_model(opt.model_path, opt.load_flags);
    if (model == NULL) return 1;
    int rc = run_completion(model, &opt);
    sllm_model_free(model);
    return rc;
}
