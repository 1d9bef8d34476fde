/* Status codes and the per-thread error message behind sllm_last_error(). */
#ifndef SLLM_CORE_ERROR_H
#define SLLM_CORE_ERROR_H

#include "statelessllm.h"

#if defined(__GNUC__)
#define CORE_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define CORE_PRINTF(fmt_index, first_arg)
#endif

/* Records a formatted message for the calling thread and returns `status`, so a
 * failure reads `return core_fail(SLLM_ERR_TRUNCATED, "...", ...);`. */
sllm_status core_fail(sllm_status status, const char *fmt, ...) CORE_PRINTF(2, 3);

/* Prefixes the calling thread's current message with `prefix: ` (for adding the
 * outer context, such as a file name, to an inner failure) and returns `status`. */
sllm_status core_fail_context(sllm_status status, const char *fmt, ...) CORE_PRINTF(2, 3);

/* Clears the calling thread's message. */
void core_error_clear(void);

#endif
