/* Per-handle logging to a host callback; silent when none is set. */
#ifndef SLLM_CORE_LOG_H
#define SLLM_CORE_LOG_H

#include "core/error.h"

typedef struct core_logger {
    sllm_log_fn fn;
    void *user;
    sllm_log_level max_level;
} core_logger;

/* Formats and delivers one line if a callback is set and `level` <= max_level. */
void core_log(const core_logger *logger, sllm_log_level level, const char *fmt, ...) CORE_PRINTF(3, 4);

#endif
