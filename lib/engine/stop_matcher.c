/* Stop-string matching over streamed text with hold-back of possible partial matches. */
#include "engine/stop_matcher.h"

#include <stdlib.h>
#include <string.h>

sllm_status stop_matcher_init(stop_matcher *matcher, const char *const *stops, size_t n_stops) {
    memset(matcher, 0, sizeof *matcher);
    if (n_stops == 0) return SLLM_OK;
    matcher->stops = calloc(n_stops, sizeof *matcher->stops);
    matcher->stop_lens = calloc(n_stops, sizeof *matcher->stop_lens);
    if (matcher->stops == NULL || matcher->stop_lens == NULL) goto fail;
    for (size_t i = 0; i < n_stops; i++) {
        if (stops[i] == NULL || stops[i][0] == '\0') continue;
        size_t len = strlen(stops[i]);
        char *copy = malloc(len + 1);
        if (copy == NULL) goto fail;
        memcpy(copy, stops[i], len + 1);
        matcher->stops[matcher->n_stops] = copy;
        matcher->stop_lens[matcher->n_stops] = len;
        matcher->n_stops++;
    }
    return SLLM_OK;
fail:
    stop_matcher_destroy(matcher);
    return core_fail(SLLM_ERR_OUT_OF_MEMORY, "stop strings: out of memory");
}

void stop_matcher_destroy(stop_matcher *matcher) {
    for (size_t i = 0; i < matcher->n_stops; i++) free(matcher->stops[i]);
    free(matcher->stops);
    free(matcher->stop_lens);
    free(matcher->buffer);
    memset(matcher, 0, sizeof *matcher);
}

/* Earliest position where any stop string occurs in buffer, or buffer_len. */
static size_t find_first_stop(const stop_matcher *matcher) {
    size_t best = matcher->buffer_len;
    if (best == 0) return 0;
    for (size_t i = 0; i < matcher->n_stops; i++) {
        const char *found = memmem(matcher->buffer, matcher->buffer_len, matcher->stops[i],
                                   matcher->stop_lens[i]);
        if (found != NULL && (size_t)(found - matcher->buffer) < best) best = (size_t)(found - matcher->buffer);
    }
    return best;
}

/* Length of the longest suffix of buffer that is a proper prefix of some stop string. */
static size_t partial_stop_suffix(const stop_matcher *matcher) {
    size_t longest = 0;
    for (size_t i = 0; i < matcher->n_stops; i++) {
        size_t max_len = matcher->stop_lens[i] - 1;
        if (max_len > matcher->buffer_len) max_len = matcher->buffer_len;
        for (size_t len = max_len; len > longest; len--) {
            if (memcmp(matcher->buffer + matcher->buffer_len - len, matcher->stops[i], len) == 0) {
                longest = len;
                break;
            }
        }
    }
    return longest;
}

static sllm_status append(stop_matcher *matcher, const char *text, size_t len) {
    /* Drop what the previous call emitted; keep only the held-back tail. */
    if (matcher->emitted > 0)
        memmove(matcher->buffer, matcher->buffer + matcher->emitted, matcher->buffer_len - matcher->emitted);
    matcher->buffer_len -= matcher->emitted;
    matcher->emitted = 0;
    if (matcher->buffer_len + len > matcher->buffer_cap) {
        size_t cap = (matcher->buffer_len + len) * 2 + 64;
        char *grown = realloc(matcher->buffer, cap);
        if (grown == NULL) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "stop strings: out of memory");
        matcher->buffer = grown;
        matcher->buffer_cap = cap;
    }
    if (len > 0) memcpy(matcher->buffer + matcher->buffer_len, text, len);
    matcher->buffer_len += len;
    return SLLM_OK;
}

sllm_status stop_matcher_feed(stop_matcher *matcher, const char *text, size_t len,
                              const char **emit, size_t *emit_len, bool *matched) {
    *matched = false;
    sllm_status status = append(matcher, text, len);
    if (status != SLLM_OK) return status;
    size_t stop_at = find_first_stop(matcher);
    if (stop_at < matcher->buffer_len) {
        *matched = true;
        matcher->buffer_len = stop_at;
        matcher->emitted = stop_at;
    } else {
        matcher->emitted = matcher->buffer_len - partial_stop_suffix(matcher);
    }
    *emit = matcher->buffer;
    *emit_len = matcher->emitted;
    return SLLM_OK;
}

void stop_matcher_flush(stop_matcher *matcher, const char **emit, size_t *emit_len) {
    *emit = matcher->buffer + matcher->emitted;
    *emit_len = matcher->buffer_len - matcher->emitted;
    matcher->emitted = matcher->buffer_len;
}
