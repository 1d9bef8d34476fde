/* The sampling and stopping options `sllm run` and `sllm chat` share (llama.cpp's
 * spelling where it has one), parsed strictly and copied into sllm_generate_params. */
#ifndef SLLM_CLI_SAMPLING_OPTIONS_H
#define SLLM_CLI_SAMPLING_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "statelessllm.h"

enum { CLI_MAX_STOP = 16 };

typedef struct cli_sampling {
    double temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
    int64_t top_k;
    uint64_t seed;
    int temperature_set, seed_set;      /* given on the command line (a replay script yields) */
    int logprobs, top_logprobs;
    const char *stop[CLI_MAX_STOP];
    size_t n_stop;
} cli_sampling;

/* The library's defaults, except the temperature (commands differ). */
void cli_sampling_init(cli_sampling *sampling, double temperature);

/* What cli_sampling_parse did with an argument. */
typedef enum cli_parse_outcome {
    CLI_PARSE_NOT_MINE = 0,     /* not a sampling option */
    CLI_PARSE_FLAG = 1,         /* an option without a value (--logprobs) */
    CLI_PARSE_WITH_VALUE = 2,   /* an option and the value after it */
    CLI_PARSE_BAD = -1          /* a sampling option with a missing or malformed value (said on stderr) */
} cli_parse_outcome;

/* `command` names the command in messages; value is the next argument or NULL. Ranges
 * (top_p in (0, 1], ...) are the library's to check: it names the bad value. */
cli_parse_outcome cli_sampling_parse(const char *command, const char *arg, const char *value, cli_sampling *sampling);

/* Copies the options into params (stop points into sampling: keep it alive). */
void cli_sampling_apply(const cli_sampling *sampling, sllm_generate_params *params);

/* Strict number parsing for every option: the whole string, finite, in range. */
int cli_parse_double(const char *text, double *out);
int cli_parse_int64(const char *text, int64_t *out);

/* Every option but --temp, whose default each command states. */
#define CLI_SAMPLING_HELP \
    "  --seed S          sampling seed (default 0): same request and seed, same tokens\n" \
    "  --top-k K         keep the K most likely tokens (default 0: off)\n" \
    "  --top-p P         nucleus sampling, P in (0, 1] (default 1: off)\n" \
    "  --min-p P         drop tokens below P x the top probability (default 0: off)\n" \
    "  --repeat-penalty R\n" \
    "                    divide the logits of tokens already seen by R (default 1: off)\n" \
    "  --presence-penalty X\n" \
    "  --frequency-penalty X\n" \
    "                    OpenAI's penalties on tokens already generated (default 0)\n" \
    "  --stop TEXT       stop before TEXT (never printed); repeatable, up to 16\n" \
    "  --logprobs        with --json: each generated token's log-probability\n" \
    "  --top-logprobs N  with --json: the N (<= 20) most likely alternatives per token\n"

#endif
