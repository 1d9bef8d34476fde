/* The sampling and stopping options of `sllm run` and `sllm chat`. */
#include "sampling_options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_sampling_init(cli_sampling *sampling, double temperature) {
    memset(sampling, 0, sizeof *sampling);
    sampling->temperature = temperature;
    sampling->top_p = 1.0;
    sampling->repeat_penalty = 1.0;
}

int cli_parse_double(const char *text, double *out) {
    if (text == NULL || *text == '\0') return 0;
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || *end != '\0' || !isfinite(value)) return 0;
    *out = value;
    return 1;
}

int cli_parse_int64(const char *text, int64_t *out) {
    if (text == NULL || *text == '\0') return 0;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0') return 0;
    *out = (int64_t)value;
    return 1;
}

static int parse_u64(const char *text, uint64_t *out) {
    if (text == NULL || *text < '0' || *text > '9') return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') return 0;
    *out = (uint64_t)value;
    return 1;
}

static int parse_int_in(const char *text, int64_t low, int64_t high, int64_t *out) {
    int64_t value = 0;
    if (!cli_parse_int64(text, &value) || value < low || value > high) return 0;
    *out = value;
    return 1;
}

/* The options that take a real number, and where each goes. */
static double *real_option(const char *arg, cli_sampling *sampling) {
    static const struct { const char *name; size_t offset; } reals[] = {
        { "--temp", offsetof(cli_sampling, temperature) },
        { "--top-p", offsetof(cli_sampling, top_p) },
        { "--min-p", offsetof(cli_sampling, min_p) },
        { "--repeat-penalty", offsetof(cli_sampling, repeat_penalty) },
        { "--presence-penalty", offsetof(cli_sampling, presence_penalty) },
        { "--frequency-penalty", offsetof(cli_sampling, frequency_penalty) },
    };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if (strcmp(arg, reals[i].name) == 0) return (double *)(void *)((char *)sampling + reals[i].offset);
    return NULL;
}

static cli_parse_outcome bad_value(const char *command, const char *arg, const char *value, const char *wanted) {
    if (value == NULL) fprintf(stderr, "sllm %s: %s needs a value (%s)\n", command, arg, wanted);
    else fprintf(stderr, "sllm %s: %s %s: expected %s\n", command, arg, value, wanted);
    return CLI_PARSE_BAD;
}

static cli_parse_outcome parse_integer_option(const char *command, const char *arg, const char *value,
                                              cli_sampling *sampling) {
    int64_t number = 0;
    if (strcmp(arg, "--seed") == 0) {
        if (!parse_u64(value, &sampling->seed)) return bad_value(command, arg, value, "an integer >= 0");
        sampling->seed_set = 1;
    } else if (strcmp(arg, "--top-k") == 0) {
        if (!parse_int_in(value, 0, INT32_MAX, &number)) return bad_value(command, arg, value, "an integer >= 0");
        sampling->top_k = number;
    } else if (strcmp(arg, "--top-logprobs") == 0) {
        if (!parse_int_in(value, 0, 20, &number)) return bad_value(command, arg, value, "an integer in 0..20");
        sampling->top_logprobs = (int)number;
    } else {
        return CLI_PARSE_NOT_MINE;
    }
    return CLI_PARSE_WITH_VALUE;
}

cli_parse_outcome cli_sampling_parse(const char *command, const char *arg, const char *value, cli_sampling *sampling) {
    if (strcmp(arg, "--logprobs") == 0) {
        sampling->logprobs = 1;
        return CLI_PARSE_FLAG;
    }
    double *real = real_option(arg, sampling);
    if (real != NULL) {
        if (!cli_parse_double(value, real)) return bad_value(command, arg, value, "a number");
        sampling->temperature_set |= strcmp(arg, "--temp") == 0;
        return CLI_PARSE_WITH_VALUE;
    }
    if (strcmp(arg, "--stop") == 0) {
        if (value == NULL || *value == '\0') return bad_value(command, arg, value, "a non-empty string");
        if (sampling->n_stop == CLI_MAX_STOP) {
            fprintf(stderr, "sllm %s: at most %d --stop strings\n", command, CLI_MAX_STOP);
            return CLI_PARSE_BAD;
        }
        sampling->stop[sampling->n_stop++] = value;
        return CLI_PARSE_WITH_VALUE;
    }
    return parse_integer_option(command, arg, value, sampling);
}

void cli_sampling_apply(const cli_sampling *sampling, sllm_generate_params *params) {
    params->temperature = (float)sampling->temperature;
    params->top_p = (float)sampling->top_p;
    params->top_k = (int32_t)sampling->top_k;
    params->min_p = (float)sampling->min_p;
    params->repetition_penalty = (float)sampling->repeat_penalty;
    params->presence_penalty = (float)sampling->presence_penalty;
    params->frequency_penalty = (float)sampling->frequency_penalty;
    params->seed = sampling->seed;
    params->logprobs = sampling->logprobs;
    params->top_logprobs = sampling->top_logprobs;
    params->stop = sampling->n_stop > 0 ? sampling->stop : NULL;
    params->n_stop = sampling->n_stop;
}
