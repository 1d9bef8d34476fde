"""Python bindings (ctypes) for libstatelessllm: Llama-family GGUF models in-process,
with a stateless chat API whose re-sent history is served from a paged prefix cache.

    import statelessllm as sllm

    model = sllm.Model("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    cache = sllm.Cache(model)
    result = cache.generate([{"role": "user", "content": "Hello!"}], max_tokens=32)
    print(result.text)

The library is found through $SLLM_LIBRARY, the build tree, or the installed location
(pkg-config); see statelessllm._lib.candidate_paths().
"""
from ._lib import BINDINGS_VERSION, LibraryNotFoundError, candidate_paths
from .cache import Cache, CacheStats, GenerateOptions, Message, Result, Stream, Timings
from .conversation import Conversation
from .errors import (BackendError, BadMagicError, BufferTooSmallError, CancelledError,
                     ChatTemplateError, ContextOverflowError, CorruptError, InternalError,
                     InvalidArgumentError, InvalidJsonError, InvalidModelError,
                     InvalidRequestError, InvalidRoleError, InvalidSamplingError,
                     InvalidTokenError, InvalidUtf8Error, IoError, KvBudgetError, NotFoundError,
                     OutOfMemoryError, StatelessLLMError, TruncatedError, TypeMismatchError,
                     UnsupportedArchError, UnsupportedTokenizerError, UnsupportedTypeError,
                     UnsupportedVersionError, error_class)
from .model import Model

__version__ = "0.1.0"


def library_version() -> str:
    """The version of the loaded libstatelessllm, "MAJOR.MINOR.PATCH"."""
    from . import _lib
    return _lib.version()


def library_path() -> str:
    """The path libstatelessllm was loaded from."""
    from . import _lib
    return _lib.library_path()


__all__ = [
    "Model", "Cache", "CacheStats", "Conversation", "GenerateOptions", "Message", "Result", "Stream", "Timings",
    "library_version", "library_path", "candidate_paths", "BINDINGS_VERSION",
    "LibraryNotFoundError", "StatelessLLMError", "error_class",
    "InvalidArgumentError", "OutOfMemoryError", "IoError", "BadMagicError",
    "UnsupportedVersionError", "TruncatedError", "CorruptError", "UnsupportedTypeError",
    "UnsupportedArchError", "InvalidModelError", "NotFoundError", "TypeMismatchError",
    "BufferTooSmallError", "InvalidUtf8Error", "UnsupportedTokenizerError", "ChatTemplateError",
    "InvalidJsonError", "InvalidRoleError", "ContextOverflowError", "InvalidSamplingError",
    "KvBudgetError", "CancelledError", "BackendError", "InvalidTokenError",
    "InvalidRequestError", "InternalError",
]
