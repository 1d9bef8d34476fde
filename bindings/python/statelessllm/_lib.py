"""Finds and loads libstatelessllm, checks its version, and declares the ctypes
structures and function prototypes of include/statelessllm.h."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import pathlib
import shutil
import subprocess
import threading
import weakref
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int,
                    c_int32, c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)
from typing import Any, List, Optional

from .errors import StatelessLLMError, make_error

# The library version these bindings were written for: any 0.1.x is accepted.
BINDINGS_VERSION = (0, 1)

_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
# bindings/python/statelessllm -> the repository root, when used from a source checkout.
_SOURCE_ROOT = _PACKAGE_DIR.parents[2] if len(_PACKAGE_DIR.parents) > 2 else _PACKAGE_DIR


class LibraryNotFoundError(StatelessLLMError, OSError):
    """libstatelessllm could not be found or loaded, or its version does not match."""


# ---- structures (field order and types exactly as in statelessllm.h) ---------------

LOG_FN = CFUNCTYPE(None, c_void_p, c_int, c_char_p)
STREAM_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_char), c_size_t, POINTER(c_int32), c_size_t)


class ModelParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("log_fn", LOG_FN), ("log_user", c_void_p),
                ("log_level", c_int), ("metadata_only", c_int), ("weights_placement", c_int)]


class CacheParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("budget_bytes", c_uint64), ("block_size", c_uint32),
                ("kv_dtype", c_int), ("n_threads", c_int), ("backend", c_char_p),
                ("key", POINTER(c_uint8)), ("prefix_caching", c_int), ("log_fn", LOG_FN),
                ("log_user", c_void_p), ("log_level", c_int)]


class CacheStatsStruct(Structure):
    _fields_ = [("struct_size", c_size_t), ("query_tokens", c_uint64), ("hit_tokens", c_uint64),
                ("blocks_total", c_uint64), ("blocks_used", c_uint64),
                ("blocks_cached", c_uint64), ("blocks_free", c_uint64), ("evictions", c_uint64),
                ("bytes_total", c_uint64), ("bytes_per_block", c_uint64), ("requests", c_uint64),
                ("forward_passes", c_uint64), ("batched_steps", c_uint64)]


class GenerateParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("max_tokens", c_int32), ("temperature", c_float),
                ("top_p", c_float), ("top_k", c_int32), ("min_p", c_float),
                ("presence_penalty", c_float), ("frequency_penalty", c_float),
                ("repetition_penalty", c_float), ("seed", c_uint64),
                ("stop", POINTER(c_char_p)), ("n_stop", c_size_t),
                ("logit_bias_tokens", POINTER(c_int32)), ("logit_bias_values", POINTER(c_float)),
                ("n_logit_bias", c_size_t), ("logprobs", c_int), ("top_logprobs", c_int),
                ("salt", POINTER(c_uint8)), ("salt_len", c_size_t), ("chat_template", c_char_p),
                ("add_generation_prompt", c_int), ("ignore_eos", c_int)]


class TokenLogprob(Structure):
    _fields_ = [("token", c_int32), ("logprob", c_float)]


class ResultStruct(Structure):
    _fields_ = [("struct_size", c_size_t), ("text", POINTER(c_char)), ("text_len", c_size_t),
                ("tokens", POINTER(c_int32)), ("n_tokens", c_size_t), ("finish_reason", c_int),
                ("prompt_tokens", c_uint64), ("cached_tokens", c_uint64),
                ("generated_tokens", c_uint64), ("ttft_ms", c_double), ("prefill_ms", c_double),
                ("decode_ms", c_double), ("total_ms", c_double), ("logprobs", POINTER(c_float)),
                ("top_logprobs", POINTER(TokenLogprob)), ("n_top_logprobs", c_int)]


# Status codes used by the bindings themselves.
OK = 0
ERR_NOT_FOUND = 11
ERR_BUFFER_TOO_SMALL = 13
ERR_CANCELLED = 22

# sllm_model_params.weights_placement.
WEIGHTS_COPY = 0
WEIGHTS_MMAP = 1

TOKENIZE_ADD_SPECIAL = 1
TOKENIZE_PARSE_SPECIAL = 2
DETOKENIZE_RENDER_SPECIAL = 1
DETOKENIZE_KEEP_LEADING_SPACE = 2

# (name, restype, argtypes) of every function the bindings call.
_PROTOTYPES = [
    ("sllm_version", c_char_p, []),
    ("sllm_version_number", c_int, []),
    ("sllm_status_string", c_char_p, [c_int]),
    ("sllm_last_error", c_char_p, []),
    ("sllm_model_params_init", None, [POINTER(ModelParams)]),
    ("sllm_model_load", c_int, [c_char_p, POINTER(ModelParams), POINTER(c_void_p)]),
    ("sllm_model_free", None, [c_void_p]),
    ("sllm_model_weights_layout", c_char_p, [c_void_p]),
    ("sllm_model_meta_count", c_int64, [c_void_p]),
    ("sllm_model_meta_key", c_int, [c_void_p, c_int64, POINTER(c_char_p)]),
    ("sllm_model_meta_type", c_int, [c_void_p, c_char_p, POINTER(c_int), POINTER(c_int),
                                     POINTER(c_uint64)]),
    ("sllm_model_meta_int", c_int, [c_void_p, c_char_p, POINTER(c_int64)]),
    ("sllm_model_meta_float", c_int, [c_void_p, c_char_p, POINTER(c_double)]),
    ("sllm_model_meta_string", c_int, [c_void_p, c_char_p, POINTER(POINTER(c_char)),
                                       POINTER(c_size_t)]),
    ("sllm_model_meta_array_string", c_int, [c_void_p, c_char_p, c_uint64,
                                             POINTER(POINTER(c_char)), POINTER(c_size_t)]),
    ("sllm_model_meta_array_int", c_int, [c_void_p, c_char_p, c_uint64, POINTER(c_int64)]),
    ("sllm_model_meta_array_float", c_int, [c_void_p, c_char_p, c_uint64, POINTER(c_double)]),
    ("sllm_model_tensor_count", c_int64, [c_void_p]),
    ("sllm_model_file_size", c_uint64, [c_void_p]),
    ("sllm_model_n_ctx", c_int64, [c_void_p]),
    ("sllm_model_n_embd", c_int64, [c_void_p]),
    ("sllm_model_n_layer", c_int64, [c_void_p]),
    ("sllm_model_n_vocab", c_int64, [c_void_p]),
    ("sllm_model_arch", c_char_p, [c_void_p]),
    ("sllm_cache_params_init", None, [POINTER(CacheParams)]),
    ("sllm_cache_create", c_int, [c_void_p, POINTER(CacheParams), POINTER(c_void_p)]),
    ("sllm_cache_free", None, [c_void_p]),
    ("sllm_cache_clear", c_int, [c_void_p]),
    ("sllm_cache_get_stats", c_int, [c_void_p, POINTER(CacheStatsStruct)]),
    ("sllm_cache_stats_prometheus", c_int, [c_void_p, c_char_p, c_size_t, POINTER(c_size_t)]),
    ("sllm_request_create", c_int, [POINTER(c_void_p)]),
    ("sllm_request_free", None, [c_void_p]),
    ("sllm_request_add_message", c_int, [c_void_p, c_char_p, c_char_p, c_size_t]),
    ("sllm_request_add_message_tokens", c_int, [c_void_p, c_char_p, c_char_p, c_size_t,
                                                POINTER(c_int32), c_size_t]),
    ("sllm_request_set_prompt_tokens", c_int, [c_void_p, POINTER(c_int32), c_size_t]),
    ("sllm_request_set_prompt_text", c_int, [c_void_p, c_char_p, c_size_t]),
    ("sllm_request_from_json", c_int, [c_char_p, c_size_t, POINTER(c_void_p)]),
    ("sllm_cancel", None, [c_void_p]),
    ("sllm_generate_params_init", None, [POINTER(GenerateParams)]),
    ("sllm_result_init", None, [POINTER(ResultStruct)]),
    ("sllm_result_free", None, [POINTER(ResultStruct)]),
    ("sllm_generate", c_int, [c_void_p, c_void_p, POINTER(GenerateParams), STREAM_FN, c_void_p,
                              POINTER(ResultStruct)]),
    ("sllm_tokenize", c_int, [c_void_p, c_char_p, c_size_t, c_uint32, POINTER(c_int32),
                              c_size_t, POINTER(c_size_t)]),
    ("sllm_detokenize", c_int, [c_void_p, POINTER(c_int32), c_size_t, c_uint32, c_char_p,
                                c_size_t, POINTER(c_size_t)]),
    ("sllm_token_piece", c_int, [c_void_p, c_int32, c_char_p, c_size_t, POINTER(c_size_t)]),
    ("sllm_token_bos", c_int32, [c_void_p]),
    ("sllm_token_eos", c_int32, [c_void_p]),
    ("sllm_token_eot", c_int32, [c_void_p]),
    ("sllm_token_is_eog", c_int, [c_void_p, c_int32]),
    ("sllm_vocab_size", c_int32, [c_void_p]),
]


# ---- finding the library ---------------------------------------------------------------

def _pkg_config_libdir() -> Optional[pathlib.Path]:
    if shutil.which("pkg-config") is None:
        return None
    try:
        proc = subprocess.run(["pkg-config", "--variable=libdir", "statelessllm"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = proc.stdout.strip()
    return pathlib.Path(libdir) if proc.returncode == 0 and libdir else None


def candidate_paths() -> List[str]:
    """Where the bindings look for the shared library, in order: $SLLM_LIBRARY, the
    build tree ($SLLM_BUILD/lib, then build/lib of the source checkout the package sits
    in), pkg-config's libdir for statelessllm, then ctypes.util.find_library."""
    paths: List[str] = []
    explicit = os.environ.get("SLLM_LIBRARY")
    if explicit:
        paths.append(explicit)
    build = os.environ.get("SLLM_BUILD")
    if build:
        paths.append(str(pathlib.Path(build) / "lib" / "libstatelessllm.so"))
    paths.append(str(_SOURCE_ROOT / "build" / "lib" / "libstatelessllm.so"))
    libdir = _pkg_config_libdir()
    if libdir is not None:
        paths.append(str(libdir / "libstatelessllm.so.0"))
        paths.append(str(libdir / "libstatelessllm.so"))
    found = ctypes.util.find_library("statelessllm")
    if found:
        paths.append(found)
    return paths


def _declare(lib: ctypes.CDLL) -> None:
    for name, restype, argtypes in _PROTOTYPES:
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def _check_version(lib: ctypes.CDLL, path: str) -> None:
    try:
        lib.sllm_version.restype = c_char_p
        lib.sllm_version.argtypes = []
    except AttributeError:
        raise LibraryNotFoundError("%s has no sllm_version(): not libstatelessllm" % path) from None
    version = lib.sllm_version().decode("ascii")
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        raise LibraryNotFoundError("%s reports version %r, which is not MAJOR.MINOR.PATCH"
                                   % (path, version)) from None
    if (major, minor) != BINDINGS_VERSION:
        raise LibraryNotFoundError(
            "%s is libstatelessllm %s, but these bindings were written for %d.%d.x; "
            "install matching bindings or point $SLLM_LIBRARY at a %d.%d library"
            % (path, version, BINDINGS_VERSION[0], BINDINGS_VERSION[1], *BINDINGS_VERSION))


def load_library(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libstatelessllm from `path`, or from the first of candidate_paths() that
    loads, declares the prototypes and checks the version."""
    tried: List[str] = []
    for candidate in [path] if path else candidate_paths():
        explicit = candidate == path or candidate == os.environ.get("SLLM_LIBRARY")
        if os.sep in candidate and not os.path.exists(candidate):
            if explicit:
                raise LibraryNotFoundError("libstatelessllm not found at %s" % candidate)
            tried.append("%s (absent)" % candidate)
            continue
        try:
            lib = ctypes.CDLL(candidate)
        except OSError as exc:
            if explicit:
                raise LibraryNotFoundError("cannot load %s: %s" % (candidate, exc)) from None
            tried.append("%s (%s)" % (candidate, exc))
            continue
        _check_version(lib, candidate)
        _declare(lib)
        lib._sllm_path = candidate  # type: ignore[attr-defined]
        return lib
    raise LibraryNotFoundError(
        "libstatelessllm not found. Build it with `make` (or `make install`), or set "
        "$SLLM_LIBRARY to the path of libstatelessllm.so. Tried: " + "; ".join(tried))


_lib: Optional[ctypes.CDLL] = None
_lib_lock = threading.Lock()


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is None:
        with _lib_lock:
            if _lib is None:
                _lib = load_library()
    return _lib


def last_error() -> str:
    """The calling thread's most recent failure message."""
    raw = lib().sllm_last_error()
    return raw.decode("utf-8", "replace") if raw else ""


def check(status: int) -> None:
    """Raises the exception for `status` unless it is SLLM_OK. Must run on the thread
    that made the failing call, right after it: the message is thread-local."""
    if status != OK:
        raise error(status)


def error(status: int) -> StatelessLLMError:
    """The exception for a failed call's status, with this thread's message."""
    message = last_error()
    if not message:
        raw = lib().sllm_status_string(status)
        message = raw.decode("utf-8", "replace") if raw else "status %d" % status
    return make_error(status, message)


def version() -> str:
    """The version of the loaded library, "MAJOR.MINOR.PATCH"."""
    return str(lib().sllm_version().decode("ascii"))


def library_path() -> str:
    """Path the library was loaded from."""
    return str(getattr(lib(), "_sllm_path"))


def int32_array(values: Any) -> Any:
    """A ctypes int32 array holding `values`."""
    values = list(values)
    return (c_int32 * len(values))(*values)


class OwnedHandle:
    """Base of the classes that own a library handle: freed by close(), a ``with``
    block, or a weakref.finalize finalizer when garbage collected (or at exit)."""

    _kind = "handle"

    def _own(self, handle: int, free: Any, *keep_alive: Any) -> None:
        """Takes ownership of `handle`, freed by free(handle, *keep_alive); the
        finalizer holds `keep_alive` (e.g. a cache's model) until then."""
        self._handle = handle
        self._finalizer = weakref.finalize(self, free, handle, *keep_alive)

    @property
    def handle(self) -> int:
        """The C pointer, as an integer (raises once closed)."""
        if not self._finalizer.alive:
            raise StatelessLLMError("the %s is closed" % self._kind)
        return self._handle

    def close(self) -> None:
        """Frees the handle now (idempotent)."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
