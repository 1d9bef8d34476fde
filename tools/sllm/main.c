/* sllm: the command-line front end (info, tokenize, run, bench, quantize, chat). */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const cli_command commands[] = {
    { "info", cmd_info, "sllm info MODEL.gguf [--json]" },
    { "quantize", cmd_quantize, "sllm quantize IN.gguf OUT.gguf TYPE" },
    { "run", cmd_run, "sllm run -m MODEL -p PROMPT [-n N] [--temp T] [--seed S] [-t THREADS] [--mmap] [--json]" },
    { "bench", cmd_bench, "sllm bench -m MODEL [-p 128] [-n 64] [-t 2] [-r 3] [--mmap] [--json]" },
    { "tokenize", cmd_tokenize, "sllm tokenize -m MODEL [--no-special] [--parse-special] (-p TEXT | -f FILE)" },
    { "chat", cmd_chat, "sllm chat -m MODEL [--replay FILE.json] [--mmap] [--json] [--system TEXT] ... (sllm chat --help)" },
    { "bench-chat", cmd_bench_chat, "sllm bench chat -m MODEL [-c CONVERSATIONS] [-T TURNS] [-u USER_TOKENS] [-r REPLY_TOKENS] [--interleave] [--mmap] [--json]" },
    { "bench-tokenize", cmd_bench_tokenize, "sllm bench tokenize -m MODEL -f FILE [--parse-special] [--repeat N]" },
};

static const size_t n_commands = sizeof commands / sizeof commands[0];

int cli_fail(const char *what, sllm_status status) {
    fprintf(stderr, "sllm: %s: %s: %s\n", what, sllm_status_string(status), sllm_last_error());
    return 1;
}

sllm_model *cli_load_model(const char *path, int flags) {
    sllm_model_params params;
    sllm_model_params_init(&params);
    params.metadata_only = (flags & CLI_LOAD_METADATA_ONLY) != 0;
    params.weights_placement = flags & CLI_LOAD_MMAP ? SLLM_WEIGHTS_MMAP : SLLM_WEIGHTS_COPY;
    sllm_model *model = NULL;
    sllm_status status = sllm_model_load(path, &params, &model);
    if (status != SLLM_OK) {
        cli_fail("cannot load model", status);
        return NULL;
    }
    return model;
}

int cli_parse_load_option(const char *arg, int *flags) {
    if (strcmp(arg, "--mmap") != 0) return 0;
    *flags |= CLI_LOAD_MMAP;
    return 1;
}

static void print_usage(FILE *out) {
    fprintf(out, "sllm %s — libstatelessllm command-line tool\nusage:\n", sllm_version());
    for (size_t i = 0; i < n_commands; i++) fprintf(out, "  %s\n", commands[i].usage);
}

/* `sllm bench tokenize ...` is the command "bench-tokenize"; plain `sllm bench -m ...`
 * is "bench". */
static const cli_command *find_command(int argc, char **argv, int *n_words) {
    if (argc >= 3) {
        char joined[64];
        snprintf(joined, sizeof joined, "%s-%s", argv[1], argv[2]);
        for (size_t i = 0; i < n_commands; i++)
            if (strcmp(commands[i].name, joined) == 0) { *n_words = 2; return &commands[i]; }
    }
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, argv[1]) == 0) { *n_words = 1; return &commands[i]; }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("sllm %s\n", sllm_version());
        return 0;
    }
    int n_words = 0;
    const cli_command *command = find_command(argc, argv, &n_words);
    if (command == NULL) {
        fprintf(stderr, "sllm: unknown command '%s'\n", argv[1]);
        print_usage(stderr);
        return 2;
    }
    return command->run(argc - n_words, argv + n_words);
}
