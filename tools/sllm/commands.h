/* The sllm CLI's subcommands: each gets argc/argv with argv[0] = its own (last) name word and returns the exit code. */
#ifndef SLLM_CLI_COMMANDS_H
#define SLLM_CLI_COMMANDS_H

#include <stdio.h>

#include "statelessllm.h"

typedef int (*cli_command_fn)(int argc, char **argv);

typedef struct cli_command {
    const char *name;      /* "info", "bench-tokenize" (typed as `sllm bench tokenize`) */
    cli_command_fn run;
    const char *usage;     /* one line */
} cli_command;

int cmd_info(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_bench_tokenize(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_bench_chat(int argc, char **argv);

/* Prints "sllm: <what>: <status string>: <last error>" to stderr and returns 1. */
int cli_fail(const char *what, sllm_status status);

/* cli_load_model's flags. */
enum {
    CLI_LOAD_METADATA_ONLY = 1,     /* sllm_model_params.metadata_only */
    CLI_LOAD_MMAP = 2               /* weights_placement SLLM_WEIGHTS_MMAP (--mmap) */
};

/* Loads a model with default params adjusted by `flags`, or prints the error and
 * returns NULL. */
sllm_model *cli_load_model(const char *path, int flags);

/* Returns 1 when `arg` is an option (without a value) of how the model is loaded, after
 * recording it in *flags: --mmap. Every command that computes takes these. */
int cli_parse_load_option(const char *arg, int *flags);

/* The usage lines of those options. */
#define CLI_LOAD_OPTIONS_HELP \
    "  --mmap            compute from the mmap'd file (pages shared with the page cache)\n" \
    "                    instead of a copy in 2 MiB huge pages (the default)\n"

#endif
