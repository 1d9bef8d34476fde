/* JSON for `sllm chat`: reading --replay scripts and writing one JSON line per turn. */
#include "chat_json.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char *copy_string(const char *text) {
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy) memcpy(copy, text, len + 1);
    return copy;
}

void chat_script_free(chat_script *script) {
    for (size_t i = 0; i < script->n_turns; i++) free(script->turns[i]);
    free(script->turns);
    free(script->system);
    memset(script, 0, sizeof *script);
}

static int script_error(const char *path, const char *what) {
    fprintf(stderr, "sllm chat: %s: %s\n", path, what);
    return 1;
}

/* Unknown keys are errors, so that a misspelt "temprature" is not silently ignored. */
static int check_keys(const char *path, json_t *root) {
    static const char *const known[] = { "system", "turns", "temperature", "seed", "max_tokens" };
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(key, known[i]) != 0) i++;
        if (i == sizeof known / sizeof known[0]) {
            fprintf(stderr, "sllm chat: %s: unknown key \"%s\" (expected system, turns, temperature, seed, "
                            "max_tokens)\n", path, key);
            return 1;
        }
    }
    return 0;
}

static int read_options(const char *path, json_t *root, chat_script *script) {
    json_t *value = json_object_get(root, "temperature");
    if (value != NULL) {
        if (!json_is_number(value) || json_number_value(value) < 0)
            return script_error(path, "\"temperature\" must be a number >= 0");
        script->has_temperature = 1;
        script->temperature = json_number_value(value);
    }
    if ((value = json_object_get(root, "seed")) != NULL) {
        if (!json_is_integer(value) || json_integer_value(value) < 0)
            return script_error(path, "\"seed\" must be an integer >= 0");
        script->has_seed = 1;
        script->seed = (uint64_t)json_integer_value(value);
    }
    if ((value = json_object_get(root, "max_tokens")) != NULL) {
        if (!json_is_integer(value) || json_integer_value(value) < 0)
            return script_error(path, "\"max_tokens\" must be an integer >= 0");
        script->has_max_tokens = 1;
        script->max_tokens = (int64_t)json_integer_value(value);
    }
    if ((value = json_object_get(root, "system")) != NULL) {
        if (!json_is_string(value)) return script_error(path, "\"system\" must be a string");
        if ((script->system = copy_string(json_string_value(value))) == NULL)
            return script_error(path, "out of memory");
    }
    return 0;
}

static int read_turns(const char *path, json_t *root, chat_script *script) {
    json_t *turns = json_object_get(root, "turns");
    if (!json_is_array(turns) || json_array_size(turns) == 0)
        return script_error(path, "\"turns\" must be a non-empty array of user messages");
    script->turns = calloc(json_array_size(turns), sizeof *script->turns);
    if (script->turns == NULL) return script_error(path, "out of memory");
    size_t index;
    json_t *turn;
    json_array_foreach(turns, index, turn) {
        if (!json_is_string(turn)) {
            fprintf(stderr, "sllm chat: %s: turns[%zu] must be a string\n", path, index);
            return 1;
        }
        if ((script->turns[index] = copy_string(json_string_value(turn))) == NULL)
            return script_error(path, "out of memory");
        script->n_turns = index + 1;
    }
    return 0;
}

int chat_script_load(const char *path, chat_script *script) {
    memset(script, 0, sizeof *script);
    json_error_t error;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL) {
        fprintf(stderr, "sllm chat: %s:%d:%d: %s\n", path, error.line, error.column, error.text);
        return 1;
    }
    int rc = !json_is_object(root) ? script_error(path, "expected a JSON object with \"turns\"")
                                   : check_keys(path, root) || read_options(path, root, script) ||
                                         read_turns(path, root, script);
    json_decref(root);
    if (rc != 0) chat_script_free(script);
    return rc;
}

const char *chat_finish_reason_name(sllm_finish_reason reason) {
    switch (reason) {
    case SLLM_FINISH_STOP: return "stop";
    case SLLM_FINISH_LENGTH: return "length";
    case SLLM_FINISH_CANCELLED: return "cancelled";
    default: return "none";
    }
}

static json_t *int_array(const int32_t *values, size_t count) {
    json_t *array = json_array();
    for (size_t i = 0; array && i < count; i++) json_array_append_new(array, json_integer(values[i]));
    return array;
}

/* OpenAI's shape, with token ids instead of token strings (a piece may be part of a
 * UTF-8 character, which a JSON string cannot hold). */
static json_t *logprobs_json(const sllm_result *result) {
    json_t *array = json_array();
    for (size_t i = 0; array && i < result->n_tokens; i++) json_array_append_new(array, json_real(result->logprobs[i]));
    return array;
}

static json_t *top_logprobs_json(const sllm_result *result) {
    json_t *array = json_array();
    int n_top = result->n_top_logprobs;
    for (size_t i = 0; array && i < result->n_tokens; i++) {
        json_t *alternatives = json_array();
        for (int k = 0; alternatives && k < n_top; k++) {
            const sllm_token_logprob *entry = &result->top_logprobs[i * (size_t)n_top + (size_t)k];
            if (entry->token < 0) continue;
            json_array_append_new(alternatives, json_pack("{s:i, s:f}", "token", (json_int_t)entry->token,
                                                          "logprob", (double)entry->logprob));
        }
        json_array_append_new(array, alternatives);
    }
    return array;
}

int chat_result_write_json(FILE *out, int turn, const char *user_text, const sllm_result *result) {
    json_t *line = json_object();
    if (line != NULL && turn > 0) json_object_set_new(line, "turn", json_integer(turn));
    if (line != NULL && user_text != NULL) json_object_set_new(line, "user", json_string(user_text));
    json_t *fields = json_pack("{s:s%, s:o, s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:f}",
                               "text", result->text ? result->text : "",
                               result->text_len, "tokens", int_array(result->tokens, result->n_tokens),
                               "finish_reason", chat_finish_reason_name(result->finish_reason),
                               "prompt_tokens", (json_int_t)result->prompt_tokens,
                               "cached_tokens", (json_int_t)result->cached_tokens,
                               "generated_tokens", (json_int_t)result->generated_tokens,
                               "ttft_ms", result->ttft_ms, "prefill_ms", result->prefill_ms,
                               "decode_ms", result->decode_ms, "total_ms", result->total_ms);
    if (line == NULL || fields == NULL || json_object_update(line, fields) != 0) {
        json_decref(fields);
        json_decref(line);
        return 1;
    }
    json_decref(fields);
    if (result->logprobs != NULL) json_object_set_new(line, "logprobs", logprobs_json(result));
    if (result->top_logprobs != NULL && result->n_top_logprobs > 0)
        json_object_set_new(line, "top_logprobs", top_logprobs_json(result));
    int rc = json_dumpf(line, out, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0;
    fputc('\n', out);
    fflush(out);
    json_decref(line);
    return rc;
}
