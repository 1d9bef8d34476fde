/* Per-handle logging: formats a line only when a callback wants it. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

void core_log(const core_logger *logger, sllm_log_level level, const char *fmt, ...) {
    if (logger == NULL || logger->fn == NULL || level > logger->max_level) return;
    char line[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    logger->fn(logger->user, level, line);
}
