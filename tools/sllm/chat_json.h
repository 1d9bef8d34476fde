/* JSON for `sllm chat`: the --replay script format and one JSON line per turn (--json). */
#ifndef SLLM_CLI_CHAT_JSON_H
#define SLLM_CLI_CHAT_JSON_H

#include <stdint.h>
#include <stdio.h>

#include "statelessllm.h"

/* {"system": "...", "turns": ["...", ...], "temperature": T, "seed": S, "max_tokens": N};
 * only "turns" is required. */
typedef struct chat_script {
    char *system;               /* NULL when absent */
    char **turns;
    size_t n_turns;
    int has_temperature, has_seed, has_max_tokens;
    double temperature;
    uint64_t seed;
    int64_t max_tokens;
} chat_script;

/* Reads and validates a script. Returns 0, or prints what is wrong and where to stderr
 * and returns 1 (nothing to free). */
int chat_script_load(const char *path, chat_script *script);
void chat_script_free(chat_script *script);

/* Writes one result as a single-line JSON object and a newline: turn (when > 0), user
 * (when not NULL), text, tokens, finish_reason, the token counts and timings, and
 * logprobs / top_logprobs when the result has them. Returns 0, or 1 when the JSON could
 * not be built. */
int chat_result_write_json(FILE *out, int turn, const char *user_text, const sllm_result *result);

/* "stop", "length", "cancelled" or "none". */
const char *chat_finish_reason_name(sllm_finish_reason reason);

#endif
