/* OpenAI-style chat request JSON -> request (jansson), with field-named errors. */
#include "engine/request_json.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenAI documents logit_bias in [-100, 100], with -100 meaning "ban". */
#define REQUEST_BAN_BIAS (-100.0)

static sllm_status request_type_error(const char *field, const char *expected) {
    return core_fail(SLLM_ERR_INVALID_REQUEST, "%s: expected %s", field, expected);
}

static sllm_status request_copy_string(const char *text, size_t len, char **out) {
    char *copy = malloc(len + 1);
    if (!copy) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    *out = copy;
    return SLLM_OK;
}

/* ---- Scalars ---------------------------------------------------------------------- */

static sllm_status request_get_float(const json_t *root, const char *field, float *out) {
    const json_t *value = json_object_get(root, field);
    if (!value || json_is_null(value)) return SLLM_OK;
    if (!json_is_number(value)) return request_type_error(field, "a number");
    *out = (float)json_number_value(value);
    return SLLM_OK;
}

static sllm_status request_get_int(const json_t *root, const char *field, json_int_t *out, int *given) {
    const json_t *value = json_object_get(root, field);
    if (!value || json_is_null(value)) return SLLM_OK;
    if (!json_is_integer(value)) return request_type_error(field, "an integer");
    *out = json_integer_value(value);
    if (given) *given = 1;
    return SLLM_OK;
}

static sllm_status request_get_bool(const json_t *root, const char *field, int *out) {
    const json_t *value = json_object_get(root, field);
    if (!value || json_is_null(value)) return SLLM_OK;
    if (!json_is_boolean(value)) return request_type_error(field, "true or false");
    *out = json_is_true(value);
    return SLLM_OK;
}

static sllm_status request_get_string(const json_t *root, const char *field, char **out, size_t *len) {
    const json_t *value = json_object_get(root, field);
    if (!value || json_is_null(value)) return SLLM_OK;
    if (!json_is_string(value)) return request_type_error(field, "a string");
    free(*out);
    *out = NULL;
    *len = json_string_length(value);
    return request_copy_string(json_string_value(value), *len, out);
}

/* ---- Messages --------------------------------------------------------------------- */

typedef struct request_text {
    char *data;
    size_t len, cap;
} request_text;

static sllm_status request_text_append(request_text *text, const char *data, size_t len) {
    if (text->len + len + 1 > text->cap) {
        size_t cap = text->cap ? text->cap : 64;
        while (cap < text->len + len + 1) cap *= 2;
        char *grown = realloc(text->data, cap);
        if (!grown) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
        text->data = grown;
        text->cap = cap;
    }
    memcpy(text->data + text->len, data, len);
    text->len += len;
    text->data[text->len] = '\0';
    return SLLM_OK;
}

static sllm_status request_parse_content_parts(const json_t *parts, size_t index, request_text *text) {
    size_t part_index;
    const json_t *part;
    json_array_foreach(parts, part_index, part) {
        if (!json_is_object(part))
            return core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu].content[%zu]: expected an object", index,
                             part_index);
        const json_t *type = json_object_get(part, "type");
        if (!json_is_string(type))
            return core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu].content[%zu].type: expected a string", index,
                             part_index);
        if (strcmp(json_string_value(type), "text") != 0)
            return core_fail(SLLM_ERR_INVALID_REQUEST,
                             "messages[%zu].content[%zu].type: '%.32s' is not supported (only 'text')", index,
                             part_index, json_string_value(type));
        const json_t *part_text = json_object_get(part, "text");
        if (!json_is_string(part_text))
            return core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu].content[%zu].text: expected a string", index,
                             part_index);
        sllm_status status = request_text_append(text, json_string_value(part_text), json_string_length(part_text));
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

static sllm_status request_parse_content(const json_t *content, size_t index, request_message *message) {
    request_text text = {0};
    sllm_status status = request_text_append(&text, "", 0);
    if (status != SLLM_OK) goto fail;
    if (json_is_string(content)) {
        status = request_text_append(&text, json_string_value(content), json_string_length(content));
    } else if (json_is_array(content)) {
        status = request_parse_content_parts(content, index, &text);
    } else if (!content || !json_is_null(content)) {
        status = core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu].content: expected a string or an array of text parts",
                           index);
    }
    if (status != SLLM_OK) goto fail;
    message->content = text.data;
    message->content_len = text.len;
    return SLLM_OK;
fail:
    free(text.data);
    return status;
}

static sllm_status request_parse_token_ids(const json_t *ids, size_t index, request_message *message) {
    if (!ids || json_is_null(ids)) return SLLM_OK;
    if (!json_is_array(ids))
        return core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu].token_ids: expected an array of integers", index);
    size_t n = json_array_size(ids);
    message->has_token_ids = 1;
    if (n == 0) return SLLM_OK;
    message->token_ids = malloc(n * sizeof *message->token_ids);
    if (!message->token_ids) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *id = json_array_get(ids, i);
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > INT32_MAX)
            return core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu].token_ids[%zu]: expected an integer in [0, %d]",
                             index, i, INT32_MAX);
        message->token_ids[i] = (int32_t)json_integer_value(id);
        message->n_token_ids = i + 1;
    }
    return SLLM_OK;
}

static sllm_status request_parse_message(const json_t *item, size_t index, request_message *message) {
    if (!json_is_object(item)) return core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu]: expected an object", index);
    const json_t *role = json_object_get(item, "role");
    if (!json_is_string(role))
        return core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu].role: expected a string", index);
    sllm_status status = chat_role_from_name(json_string_value(role), json_string_length(role), &message->role);
    if (status != SLLM_OK) return core_fail_context(status, "messages[%zu].role", index);
    const json_t *content = json_object_get(item, "content");
    if (!content) return core_fail(SLLM_ERR_INVALID_REQUEST, "messages[%zu].content: missing", index);
    status = request_parse_content(content, index, message);
    if (status != SLLM_OK) return status;
    return request_parse_token_ids(json_object_get(item, "token_ids"), index, message);
}

static sllm_status request_parse_messages(const json_t *root, request *req) {
    const json_t *messages = json_object_get(root, "messages");
    if (!messages || json_is_null(messages)) return core_fail(SLLM_ERR_INVALID_REQUEST, "messages: missing");
    if (!json_is_array(messages)) return request_type_error("messages", "an array");
    size_t n = json_array_size(messages);
    if (n == 0) return core_fail(SLLM_ERR_INVALID_REQUEST, "messages: empty (at least one message is needed)");
    req->messages = calloc(n, sizeof *req->messages);
    if (!req->messages) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
    for (size_t i = 0; i < n; i++) {
        /* Counted before parsing so that request_free releases a half-parsed message. */
        req->n_messages = i + 1;
        sllm_status status = request_parse_message(json_array_get(messages, i), i, &req->messages[i]);
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

/* ---- Other fields ------------------------------------------------------------------ */

static sllm_status request_add_stop(request *req, const json_t *value, const char *field) {
    if (!json_is_string(value)) return request_type_error(field, "a string");
    size_t len = json_string_length(value);
    if (len == 0) return core_fail(SLLM_ERR_INVALID_REQUEST, "%s: empty stop string", field);
    sllm_status status = request_copy_string(json_string_value(value), len, &req->stop[req->n_stop]);
    if (status != SLLM_OK) return status;
    req->stop_len[req->n_stop++] = len;
    return SLLM_OK;
}

static sllm_status request_parse_stop(const json_t *root, request *req) {
    const json_t *stop = json_object_get(root, "stop");
    if (!stop || json_is_null(stop)) return SLLM_OK;
    if (json_is_string(stop)) return request_add_stop(req, stop, "stop");
    if (!json_is_array(stop)) return request_type_error("stop", "a string or an array of strings");
    if (json_array_size(stop) > REQUEST_MAX_STOP)
        return core_fail(SLLM_ERR_INVALID_REQUEST, "stop: %zu strings given, at most %d allowed", json_array_size(stop),
                         REQUEST_MAX_STOP);
    for (size_t i = 0; i < json_array_size(stop); i++) {
        char field[32];
        snprintf(field, sizeof field, "stop[%zu]", i);
        sllm_status status = request_add_stop(req, json_array_get(stop, i), field);
        if (status != SLLM_OK) return status;
    }
    return SLLM_OK;
}

static sllm_status request_parse_bias_key(const char *key, int32_t *token) {
    char *end = NULL;
    errno = 0;
    long long value = (key[0] >= '0' && key[0] <= '9') ? strtoll(key, &end, 10) : -1;
    if (value < 0 || errno != 0 || !end || *end != '\0' || value > INT32_MAX)
        return core_fail(SLLM_ERR_INVALID_REQUEST, "logit_bias: key '%.32s' is not a token id", key);
    *token = (int32_t)value;
    return SLLM_OK;
}

static sllm_status request_parse_logit_bias(const json_t *root, request *req) {
    const json_t *biases = json_object_get(root, "logit_bias");
    if (!biases || json_is_null(biases)) return SLLM_OK;
    if (!json_is_object(biases)) return request_type_error("logit_bias", "an object of token id -> bias");
    size_t n = json_object_size(biases);
    if (n == 0) return SLLM_OK;
    req->logit_bias = malloc(n * sizeof *req->logit_bias);
    if (!req->logit_bias) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "request: out of memory");
    const char *key;
    const json_t *value;
    size_t count = 0;
    json_object_foreach((json_t *)biases, key, value) {
        sampler_logit_bias *bias = &req->logit_bias[count];
        sllm_status status = request_parse_bias_key(key, &bias->token);
        if (status != SLLM_OK) return status;
        if (!json_is_number(value))
            return core_fail(SLLM_ERR_INVALID_REQUEST, "logit_bias[\"%.32s\"]: expected a number", key);
        double number = json_number_value(value);
        bias->bias = number <= REQUEST_BAN_BIAS ? -INFINITY : (float)number;
        req->sampling.n_logit_bias = ++count;
        req->sampling.logit_bias = req->logit_bias;
    }
    return SLLM_OK;
}

static sllm_status request_parse_limits(const json_t *root, request *req) {
    json_int_t value = 0;
    static const char *const fields[] = {"max_tokens", "max_completion_tokens"};
    for (size_t i = 0; i < 2; i++) {
        int given = 0;
        sllm_status status = request_get_int(root, fields[i], &value, &given);
        if (status != SLLM_OK) return status;
        if (!given) continue;
        if (value < 0)
            return core_fail(SLLM_ERR_INVALID_REQUEST, "%s = %lld: expected an integer >= 0", fields[i], (long long)value);
        req->max_tokens = (int64_t)value;
    }
    int given = 0;
    sllm_status status = request_get_int(root, "n", &value, &given);
    if (status != SLLM_OK) return status;
    if (given && value != 1)
        return core_fail(SLLM_ERR_INVALID_REQUEST, "n = %lld: only 1 choice per request is supported", (long long)value);
    return SLLM_OK;
}

static sllm_status request_parse_sampling(const json_t *root, request *req) {
    sampler_params *sampling = &req->sampling;
    static const struct { const char *field; size_t offset; } floats[] = {
        {"temperature", offsetof(sampler_params, temperature)},
        {"top_p", offsetof(sampler_params, top_p)},
        {"min_p", offsetof(sampler_params, min_p)},
        {"presence_penalty", offsetof(sampler_params, presence_penalty)},
        {"frequency_penalty", offsetof(sampler_params, frequency_penalty)},
        {"repetition_penalty", offsetof(sampler_params, repetition_penalty)},
    };
    sllm_status status;
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        status = request_get_float(root, floats[i].field, (float *)((char *)sampling + floats[i].offset));
        if (status != SLLM_OK) return status;
    }
    json_int_t value = 0;
    int given = 0;
    if ((status = request_get_int(root, "top_k", &value, &given)) != SLLM_OK) return status;
    if (given) {
        if (value < 0 || value > INT32_MAX) return core_fail(SLLM_ERR_INVALID_SAMPLING, "top_k = %lld: expected >= 0",
                                                             (long long)value);
        sampling->top_k = (int32_t)value;
    }
    given = 0;
    if ((status = request_get_int(root, "seed", &value, &req->has_seed)) != SLLM_OK) return status;
    if (req->has_seed) sampling->seed = (uint64_t)value;
    if ((status = request_get_bool(root, "logprobs", &sampling->logprobs)) != SLLM_OK) return status;
    if ((status = request_get_int(root, "top_logprobs", &value, &given)) != SLLM_OK) return status;
    if (given) {
        if (value < 0 || value > SAMPLER_MAX_TOP_LOGPROBS)
            return core_fail(SLLM_ERR_INVALID_SAMPLING, "top_logprobs = %lld: expected a value in [0, 20]",
                             (long long)value);
        sampling->top_logprobs = (int32_t)value;
    }
    if ((status = request_parse_logit_bias(root, req)) != SLLM_OK) return status;
    /* Token ids are checked against the real vocabulary by the engine. */
    return sampler_params_validate(sampling, INT32_MAX);
}

static sllm_status request_parse_extensions(const json_t *root, request *req) {
    sllm_status status = request_get_bool(root, "stream", &req->stream);
    if (status != SLLM_OK) return status;
    status = request_get_string(root, "salt", &req->cache_salt, &req->cache_salt_len);
    if (status != SLLM_OK) return status;
    return request_get_string(root, "cache_salt", &req->cache_salt, &req->cache_salt_len);
}

static sllm_status request_json_error(const json_error_t *error) {
    enum json_error_code code = json_error_code(error);
    if (code == json_error_invalid_utf8 || strstr(error->text, "invalid Unicode"))
        return core_fail(SLLM_ERR_INVALID_UTF8, "request JSON, line %d, column %d: invalid UTF-8: %s", error->line,
                         error->column, error->text);
    if (code == json_error_null_character)
        return core_fail(SLLM_ERR_INVALID_REQUEST, "request JSON, line %d, column %d: %s", error->line, error->column,
                         error->text);
    return core_fail(SLLM_ERR_INVALID_JSON, "request JSON, line %d, column %d: %s", error->line, error->column,
                     error->text);
}

sllm_status request_parse_json(const char *json, size_t len, request *out) {
    if (!out) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "request_parse_json: NULL output");
    request_init(out);
    if (!json) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "request_parse_json: NULL JSON");
    json_error_t error;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
    if (!root) return request_json_error(&error);
    sllm_status status = SLLM_OK;
    if (!json_is_object(root)) {
        status = core_fail(SLLM_ERR_INVALID_REQUEST, "request: expected a JSON object at the top level");
        goto fail;
    }
    if ((status = request_parse_messages(root, out)) != SLLM_OK) goto fail;
    if ((status = request_parse_limits(root, out)) != SLLM_OK) goto fail;
    if ((status = request_parse_sampling(root, out)) != SLLM_OK) goto fail;
    if ((status = request_parse_stop(root, out)) != SLLM_OK) goto fail;
    if ((status = request_parse_extensions(root, out)) != SLLM_OK) goto fail;
    json_decref(root);
    return SLLM_OK;
fail:
    json_decref(root);
    request_free(out);
    return status;
}
