/* Stop strings in streamed text: holds back what may still become a stop string. */
#ifndef SLLM_ENGINE_STOP_MATCHER_H
#define SLLM_ENGINE_STOP_MATCHER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

typedef struct stop_matcher {
    char **stops;
    size_t *stop_lens;
    size_t n_stops;
    char *buffer;           /* held-back text followed by the newest chunk */
    size_t buffer_len;
    size_t buffer_cap;
    size_t emitted;         /* bytes of buffer already handed out by the last call */
} stop_matcher;

/* Copies the stop strings; empty strings are ignored. */
sllm_status stop_matcher_init(stop_matcher *matcher, const char *const *stops, size_t n_stops);
void stop_matcher_destroy(stop_matcher *matcher);

/* Appends UTF-8-complete text. emit and emit_len receive the text that can be shown now
 * (valid until the next call). When a stop string is completed, *matched is set, the
 * emitted text ends right before it, and nothing after it is ever emitted. */
sllm_status stop_matcher_feed(stop_matcher *matcher, const char *text, size_t len,
                              const char **emit, size_t *emit_len, bool *matched);

/* At the end of generation: everything still held back (it can no longer become a stop). */
void stop_matcher_flush(stop_matcher *matcher, const char **emit, size_t *emit_len);

#endif
