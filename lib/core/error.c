/* Status strings and the per-thread error message (the "thread that failed" owns it). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { ERROR_MESSAGE_CAPACITY = 1024 };

/* Thread-local, not process-global: each thread sees only its own last failure. */
static _Thread_local char thread_error_message[ERROR_MESSAGE_CAPACITY];

sllm_status core_fail(sllm_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(thread_error_message, sizeof thread_error_message, fmt, args);
    va_end(args);
    return status;
}

sllm_status core_fail_context(sllm_status status, const char *fmt, ...) {
    char prefix[ERROR_MESSAGE_CAPACITY];
    char inner[ERROR_MESSAGE_CAPACITY];
    va_list args;
    va_start(args, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, args);
    va_end(args);
    memcpy(inner, thread_error_message, sizeof inner);
    /* Truncation of an over-long message is acceptable; the return value is checked
     * only to tell the compiler so. */
    if (snprintf(thread_error_message, sizeof thread_error_message, "%s: %s", prefix, inner) < 0)
        thread_error_message[0] = '\0';
    return status;
}

void core_error_clear(void) { thread_error_message[0] = '\0'; }

SLLM_API const char *sllm_last_error(void) { return thread_error_message; }

SLLM_API const char *sllm_status_string(sllm_status status) {
    switch (status) {
    case SLLM_OK: return "SLLM_OK: success";
    case SLLM_ERR_INVALID_ARGUMENT: return "SLLM_ERR_INVALID_ARGUMENT: invalid argument";
    case SLLM_ERR_OUT_OF_MEMORY: return "SLLM_ERR_OUT_OF_MEMORY: out of memory";
    case SLLM_ERR_IO: return "SLLM_ERR_IO: input/output error";
    case SLLM_ERR_BAD_MAGIC: return "SLLM_ERR_BAD_MAGIC: not a GGUF file";
    case SLLM_ERR_UNSUPPORTED_VERSION: return "SLLM_ERR_UNSUPPORTED_VERSION: unsupported GGUF version";
    case SLLM_ERR_TRUNCATED: return "SLLM_ERR_TRUNCATED: file truncated";
    case SLLM_ERR_CORRUPT: return "SLLM_ERR_CORRUPT: file corrupt";
    case SLLM_ERR_UNSUPPORTED_TYPE: return "SLLM_ERR_UNSUPPORTED_TYPE: unsupported tensor type";
    case SLLM_ERR_UNSUPPORTED_ARCH: return "SLLM_ERR_UNSUPPORTED_ARCH: unsupported architecture";
    case SLLM_ERR_INVALID_MODEL: return "SLLM_ERR_INVALID_MODEL: invalid model";
    case SLLM_ERR_NOT_FOUND: return "SLLM_ERR_NOT_FOUND: not found";
    case SLLM_ERR_TYPE_MISMATCH: return "SLLM_ERR_TYPE_MISMATCH: value has another type";
    case SLLM_ERR_BUFFER_TOO_SMALL: return "SLLM_ERR_BUFFER_TOO_SMALL: buffer too small";
    case SLLM_ERR_INVALID_UTF8: return "SLLM_ERR_INVALID_UTF8: invalid UTF-8";
    case SLLM_ERR_UNSUPPORTED_TOKENIZER: return "SLLM_ERR_UNSUPPORTED_TOKENIZER: unsupported tokenizer";
    case SLLM_ERR_CHAT_TEMPLATE: return "SLLM_ERR_CHAT_TEMPLATE: no matching chat template";
    case SLLM_ERR_INVALID_JSON: return "SLLM_ERR_INVALID_JSON: malformed JSON";
    case SLLM_ERR_INVALID_ROLE: return "SLLM_ERR_INVALID_ROLE: unknown role";
    case SLLM_ERR_CONTEXT_OVERFLOW: return "SLLM_ERR_CONTEXT_OVERFLOW: prompt longer than the context";
    case SLLM_ERR_INVALID_SAMPLING: return "SLLM_ERR_INVALID_SAMPLING: invalid sampling parameter";
    case SLLM_ERR_KV_BUDGET: return "SLLM_ERR_KV_BUDGET: KV budget too small";
    case SLLM_ERR_CANCELLED: return "SLLM_ERR_CANCELLED: cancelled";
    case SLLM_ERR_BACKEND: return "SLLM_ERR_BACKEND: backend failure";
    case SLLM_ERR_INVALID_TOKEN: return "SLLM_ERR_INVALID_TOKEN: token id out of range";
    case SLLM_ERR_INVALID_REQUEST: return "SLLM_ERR_INVALID_REQUEST: invalid request";
    case SLLM_ERR_INTERNAL: return "SLLM_ERR_INTERNAL: internal error";
    }
    return "unknown status";
}
