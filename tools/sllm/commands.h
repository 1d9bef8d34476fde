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

/* Loads a model with default params, or prints the error and returns NULL. */
sllm_model *cli_load_model(const char *path, int metadata_only);

#endif
