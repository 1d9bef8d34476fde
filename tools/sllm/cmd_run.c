/* `sllm run`: plain completion of a prompt (no chat template), streamed as generated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_json.h"
#include "commands.h"
#include "sampling_options.h"

typedef struct run_options {
    const char *model_path, *prompt, *prompt_file;
    int64_t n_predict, n_threads;
    cli_sampling sampling;
    int load_flags;
    int as_json, help;
} run_options;

static const char *const run_usage =
    "usage: sllm run -m MODEL (-p PROMPT | -f FILE) [-n N] [-t THREADS] [sampling options]\n"
    "                [--mmap] [--json [--logprobs] [--top-logprobs N]]\n"
    "\n"
    "Completes PROMPT as plain text (no chat template), streaming the text as it is\n"
    "generated; --json prints one object instead (text, token ids, finish reason, counts,\n"
    "timings, logprobs when asked).\n"
    "\n"
    "  -p PROMPT         the prompt\n"
    "  -f FILE           the prompt from a file (- for standard input)\n"
    "  -n N              tokens to generate at most (default 64; -1: until the context is full)\n"
    "  -t THREADS        compute threads (default 2)\n"
    "  --temp T          temperature, 0 is greedy (default 0.8)\n"
    CLI_SAMPLING_HELP
    CLI_LOAD_OPTIONS_HELP;

static int parse_run_option(const char *arg, const char *value, run_options *opt) {
    if (strcmp(arg, "-m") == 0) opt->model_path = value;
    else if (strcmp(arg, "-p") == 0) opt->prompt = value;
    else if (strcmp(arg, "-f") == 0) opt->prompt_file = value;
    else if (strcmp(arg, "-n") == 0) return cli_parse_int64(value, &opt->n_predict) && opt->n_predict >= -1;
    else if (strcmp(arg, "-t") == 0) return cli_parse_int64(value, &opt->n_threads) && opt->n_threads >= 1;
    else return 0;
    return 1;
}

static int parse_run_args(int argc, char **argv, run_options *opt) {
    *opt = (run_options){ .n_predict = 64, .n_threads = 2 };
    cli_sampling_init(&opt->sampling, 0.8);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--json") == 0) { opt->as_json = 1; continue; }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) { opt->help = 1; continue; }
        if (cli_parse_load_option(arg, &opt->load_flags)) continue;
        cli_parse_outcome outcome = cli_sampling_parse("run", arg, value, &opt->sampling);
        if (outcome == CLI_PARSE_BAD) return 0;
        if (outcome == CLI_PARSE_FLAG) continue;
        if (outcome == CLI_PARSE_WITH_VALUE) { i++; continue; }
        if (value == NULL || !parse_run_option(arg, value, opt)) {
            fprintf(stderr, "sllm run: unknown option, or a missing or bad value: %s%s%s\n", arg,
                    value ? " " : "", value ? value : "");
            return 0;
        }
        i++;
    }
    if (opt->help) return 1;
    if (opt->model_path == NULL) fprintf(stderr, "sllm run: -m MODEL is required\n");
    else if ((opt->prompt == NULL) == (opt->prompt_file == NULL)) fprintf(stderr, "sllm run: give -p PROMPT or -f FILE\n");
    else return 1;
    return 0;
}

/* The whole of a file (or standard input) as a NUL-terminated string, or NULL. */
static char *read_prompt_file(const char *path) {
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "sllm run: cannot open %s\n", path);
        return NULL;
    }
    size_t len = 0, capacity = 4096;
    char *text = malloc(capacity);
    for (size_t got; text != NULL && (got = fread(text + len, 1, capacity - len - 1, file)) > 0;) {
        len += got;
        if (capacity - len - 1 == 0) {
            char *grown = realloc(text, capacity * 2);
            if (grown == NULL) free(text);
            text = grown;
            capacity *= 2;
        }
    }
    int failed = text == NULL || ferror(file);
    if (file != stdin) fclose(file);
    if (failed) {
        fprintf(stderr, "sllm run: cannot read %s\n", path);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

/* The prompt is echoed with the first text, so that a request the library refuses
 * prints only the error. */
typedef struct run_stream {
    const char *prompt;
    int echoed;
} run_stream;

static void echo_prompt(run_stream *stream) {
    if (!stream->echoed) fputs(stream->prompt, stdout);
    stream->echoed = 1;
}

static int print_text(void *user, const char *text, size_t len, const int32_t *tokens, size_t n_tokens) {
    (void)tokens, (void)n_tokens;
    echo_prompt(user);
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
    cache_params.n_threads = (int)opt->n_threads;
    sllm_generate_params params;
    sllm_generate_params_init(&params);
    params.max_tokens = opt->n_predict > INT32_MAX ? INT32_MAX : (int32_t)opt->n_predict;
    cli_sampling_apply(&opt->sampling, &params);
    sllm_cache *cache = NULL;
    sllm_request *request = NULL;
    sllm_result result;
    sllm_result_init(&result);
    sllm_status status = sllm_cache_create(model, &cache_params, &cache);
    if (status == SLLM_OK) status = sllm_request_create(&request);
    if (status == SLLM_OK) status = sllm_request_set_prompt_text(request, opt->prompt, strlen(opt->prompt));
    run_stream stream = { opt->prompt, 0 };
    if (status == SLLM_OK)
        status = sllm_generate(cache, request, &params, opt->as_json ? NULL : print_text, &stream, &result);
    int rc;
    if (status != SLLM_OK) rc = cli_fail("generation failed", status);
    else if (opt->as_json) rc = chat_result_write_json(stdout, 0, NULL, &result);
    else rc = (echo_prompt(&stream), printf("\n"), 0);
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
    if (opt.help) return fputs(run_usage, stdout), 0;
    char *file_text = NULL;
    if (opt.prompt_file != NULL && (opt.prompt = file_text = read_prompt_file(opt.prompt_file)) == NULL) return 1;
    sllm_model *model = cli_load_model(opt.model_path, opt.load_flags);
    int rc = model == NULL ? 1 : run_completion(model, &opt);
    sllm_model_free(model);
    free(file_text);
    return rc;
}
