"""Exceptions: one class per sllm_status code, all subclasses of StatelessLLMError."""
from __future__ import annotations

from typing import Dict, Optional, Type


class StatelessLLMError(Exception):
    """A call into libstatelessllm failed.

    Attributes:
        status: the numeric ``sllm_status`` code (stable across versions).
        status_name: its symbolic name, e.g. ``"SLLM_ERR_IO"``.
        message: the library's detailed message (``sllm_last_error()``), naming what
            was wrong and where.
        result: for :class:`CancelledError`, the partial :class:`~statelessllm.Result`.
    """

    status: int = -1
    status_name: str = "SLLM_ERR_UNKNOWN"

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.result: object = None


class InvalidArgumentError(StatelessLLMError, ValueError):
    """NULL pointer, bad flag or a value outside its range (SLLM_ERR_INVALID_ARGUMENT)."""
    status, status_name = 1, "SLLM_ERR_INVALID_ARGUMENT"


class OutOfMemoryError(StatelessLLMError, MemoryError):
    """An allocation failed (SLLM_ERR_OUT_OF_MEMORY)."""
    status, status_name = 2, "SLLM_ERR_OUT_OF_MEMORY"


class IoError(StatelessLLMError):
    """open/stat/mmap failed, e.g. the model file does not exist (SLLM_ERR_IO)."""
    status, status_name = 3, "SLLM_ERR_IO"


class BadMagicError(StatelessLLMError):
    """The file is not a GGUF file (SLLM_ERR_BAD_MAGIC)."""
    status, status_name = 4, "SLLM_ERR_BAD_MAGIC"


class UnsupportedVersionError(StatelessLLMError):
    """GGUF version other than 2 or 3 (SLLM_ERR_UNSUPPORTED_VERSION)."""
    status, status_name = 5, "SLLM_ERR_UNSUPPORTED_VERSION"


class TruncatedError(StatelessLLMError):
    """A field or tensor runs past the end of the file (SLLM_ERR_TRUNCATED)."""
    status, status_name = 6, "SLLM_ERR_TRUNCATED"


class CorruptError(StatelessLLMError):
    """Malformed file: overflow, bad alignment, overlap, bad type id (SLLM_ERR_CORRUPT)."""
    status, status_name = 7, "SLLM_ERR_CORRUPT"


class UnsupportedTypeError(StatelessLLMError):
    """A tensor type the library cannot compute (SLLM_ERR_UNSUPPORTED_TYPE)."""
    status, status_name = 8, "SLLM_ERR_UNSUPPORTED_TYPE"


class UnsupportedArchError(StatelessLLMError):
    """general.architecture is not supported (SLLM_ERR_UNSUPPORTED_ARCH)."""
    status, status_name = 9, "SLLM_ERR_UNSUPPORTED_ARCH"


class InvalidModelError(StatelessLLMError):
    """A tensor or hyper-parameter is missing or misshapen (SLLM_ERR_INVALID_MODEL)."""
    status, status_name = 10, "SLLM_ERR_INVALID_MODEL"


class NotFoundError(StatelessLLMError, KeyError):
    """No metadata key or tensor of that name (SLLM_ERR_NOT_FOUND)."""
    status, status_name = 11, "SLLM_ERR_NOT_FOUND"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class TypeMismatchError(StatelessLLMError, TypeError):
    """A metadata value is of another type (SLLM_ERR_TYPE_MISMATCH)."""
    status, status_name = 12, "SLLM_ERR_TYPE_MISMATCH"


class BufferTooSmallError(StatelessLLMError):
    """Output capacity short (SLLM_ERR_BUFFER_TOO_SMALL); the bindings size buffers
    themselves, so seeing this is a bug in the bindings."""
    status, status_name = 13, "SLLM_ERR_BUFFER_TOO_SMALL"


class InvalidUtf8Error(StatelessLLMError, ValueError):
    """Text is not valid UTF-8 (SLLM_ERR_INVALID_UTF8)."""
    status, status_name = 14, "SLLM_ERR_INVALID_UTF8"


class UnsupportedTokenizerError(StatelessLLMError):
    """Tokenizer model or pre-tokenizer unknown (SLLM_ERR_UNSUPPORTED_TOKENIZER)."""
    status, status_name = 15, "SLLM_ERR_UNSUPPORTED_TOKENIZER"


class ChatTemplateError(StatelessLLMError):
    """No built-in chat template matches the model or the name (SLLM_ERR_CHAT_TEMPLATE)."""
    status, status_name = 16, "SLLM_ERR_CHAT_TEMPLATE"


class InvalidJsonError(StatelessLLMError, ValueError):
    """Malformed JSON request; the message gives line and column (SLLM_ERR_INVALID_JSON)."""
    status, status_name = 17, "SLLM_ERR_INVALID_JSON"


class InvalidRoleError(StatelessLLMError, ValueError):
    """A message role the template does not know (SLLM_ERR_INVALID_ROLE)."""
    status, status_name = 18, "SLLM_ERR_INVALID_ROLE"


class ContextOverflowError(StatelessLLMError):
    """The prompt is longer than the model's context (SLLM_ERR_CONTEXT_OVERFLOW)."""
    status, status_name = 19, "SLLM_ERR_CONTEXT_OVERFLOW"


class InvalidSamplingError(StatelessLLMError, ValueError):
    """A sampling value out of range, e.g. top_p=2 (SLLM_ERR_INVALID_SAMPLING)."""
    status, status_name = 20, "SLLM_ERR_INVALID_SAMPLING"


class KvBudgetError(StatelessLLMError):
    """The K/V budget is too small for one request (SLLM_ERR_KV_BUDGET)."""
    status, status_name = 21, "SLLM_ERR_KV_BUDGET"


class CancelledError(StatelessLLMError):
    """Generation was cancelled (SLLM_ERR_CANCELLED); ``.result`` holds what was
    generated before."""
    status, status_name = 22, "SLLM_ERR_CANCELLED"


class BackendError(StatelessLLMError):
    """Backend unavailable or failed (SLLM_ERR_BACKEND)."""
    status, status_name = 23, "SLLM_ERR_BACKEND"


class InvalidTokenError(StatelessLLMError, ValueError):
    """A token id outside the vocabulary (SLLM_ERR_INVALID_TOKEN)."""
    status, status_name = 24, "SLLM_ERR_INVALID_TOKEN"


class InvalidRequestError(StatelessLLMError, ValueError):
    """Request malformed: no messages, bad max_tokens, ... (SLLM_ERR_INVALID_REQUEST)."""
    status, status_name = 25, "SLLM_ERR_INVALID_REQUEST"


class InternalError(StatelessLLMError):
    """A bug in the library; please report it (SLLM_ERR_INTERNAL)."""
    status, status_name = 26, "SLLM_ERR_INTERNAL"


_BY_STATUS: Dict[int, Type[StatelessLLMError]] = {
    cls.status: cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, StatelessLLMError) and cls is not StatelessLLMError
}


def error_class(status: int) -> Type[StatelessLLMError]:
    """The exception class for a status code (StatelessLLMError for unknown codes)."""
    return _BY_STATUS.get(status, StatelessLLMError)


def make_error(status: int, message: str) -> StatelessLLMError:
    """An exception instance for `status` carrying the library's message."""
    return error_class(status)(message, status)
