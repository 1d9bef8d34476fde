"""Model: a loaded GGUF file (weights, hyper-parameters, tokenizer, chat template)."""
from __future__ import annotations

import ctypes
import os
import threading
from ctypes import POINTER, byref, c_char, c_double, c_int, c_int64, c_size_t, c_uint64, c_void_p
from typing import Any, Iterable, List, Union

from . import _lib
from .errors import StatelessLLMError

PathLike = Union[str, "os.PathLike[str]"]

_META_INT_TYPES = {0, 1, 2, 3, 4, 5, 7, 10, 11}
_META_FLOAT_TYPES = {6, 12}
_META_STRING, _META_ARRAY = 8, 9


def _free_model(handle: int) -> None:
    _lib.lib().sllm_model_free(handle)


class Model(_lib.OwnedHandle):
    """A model loaded from a GGUF file. Its weights are copied at load into memory backed
    by 2 MiB huge pages (faster decoding), or with ``mmap=True`` computed straight from
    the mmap'd file (instant load, pages shared with the page cache).

    Immutable once loaded: one Model may be shared by many threads and caches. Free it
    with :meth:`close` or a ``with`` block; otherwise it is freed when garbage collected
    and no :class:`~statelessllm.Cache` uses it any more.

    Raises a :class:`~statelessllm.StatelessLLMError` subclass naming the problem:
    :class:`~statelessllm.IoError` for a missing file,
    :class:`~statelessllm.BadMagicError` for a file that is not GGUF, and so on.
    """

    _kind = "model"

    def __init__(self, path: PathLike, *, metadata_only: bool = False, mmap: bool = False) -> None:
        """Opens `path`. With ``metadata_only=True`` the GGUF is read and validated but
        the model is not (metadata and tokenizer only: it cannot generate). With
        ``mmap=True`` the weights stay in the mmap'd file (SLLM_WEIGHTS_MMAP) instead of
        being copied into huge-page memory (SLLM_WEIGHTS_COPY, the default); the results
        are the same bit for bit, see :attr:`weights_layout`."""
        lib = _lib.lib()
        params = _lib.ModelParams()
        lib.sllm_model_params_init(byref(params))
        params.metadata_only = 1 if metadata_only else 0
        params.weights_placement = _lib.WEIGHTS_MMAP if mmap else _lib.WEIGHTS_COPY
        handle = c_void_p()
        status = lib.sllm_model_load(os.fsencode(path), byref(params), byref(handle))
        _lib.check(status)
        self._own(handle.value or 0, _free_model)
        self.path = os.fspath(path)
        self.metadata_only = metadata_only
        self.mmap = mmap
        self._users = 0             # caches created from this model and not yet freed
        self._close_pending = False
        self._users_lock = threading.Lock()

    # -- lifetime: caches keep their model alive ---------------------------------------

    @property
    def handle(self) -> int:
        """The sllm_model pointer, as an integer (raises once closed)."""
        if self._close_pending:
            raise StatelessLLMError("the model is closed")
        return super().handle

    @property
    def closed(self) -> bool:
        return self._close_pending or super().closed

    def close(self) -> None:
        """Frees the model, or, while caches created from it are alive, marks it
        closed and frees it when the last of them is freed."""
        with self._users_lock:
            self._close_pending = True
            if self._users:
                return
        super().close()

    def _acquire(self) -> int:
        """Registers a user (a cache) and returns the handle for it."""
        with self._users_lock:
            handle = self.handle
            self._users += 1
            return handle

    def _release(self) -> None:
        with self._users_lock:
            self._users -= 1
            free_now = self._users == 0 and self._close_pending
        if free_now:
            super().close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.arch or "metadata only"
        return "<statelessllm.Model %r (%s)>" % (self.path, state)

    # -- properties -------------------------------------------------------------------

    @property
    def arch(self) -> str:
        """Architecture as computed: "llama", "qwen2", "qwen3" ("" for metadata_only)."""
        raw = _lib.lib().sllm_model_arch(self.handle)
        return raw.decode("ascii") if raw else ""

    @property
    def weights_layout(self) -> str:
        """Where the weights live, for humans: "copied into memory (2 MiB huge pages)",
        "mmap'd from the file", "none (metadata only)", ..."""
        raw = _lib.lib().sllm_model_weights_layout(self.handle)
        return raw.decode("utf-8", "replace") if raw else ""

    @property
    def n_ctx(self) -> int:
        """Training context length in tokens."""
        return int(_lib.lib().sllm_model_n_ctx(self.handle))

    @property
    def n_embd(self) -> int:
        """Width of the residual stream."""
        return int(_lib.lib().sllm_model_n_embd(self.handle))

    @property
    def n_layer(self) -> int:
        """Number of transformer blocks."""
        return int(_lib.lib().sllm_model_n_layer(self.handle))

    @property
    def n_vocab(self) -> int:
        """Vocabulary size (the width of the logits)."""
        return int(_lib.lib().sllm_model_n_vocab(self.handle))

    @property
    def vocab_size(self) -> int:
        """Number of tokens in the tokenizer's vocabulary (0 without a tokenizer)."""
        return int(_lib.lib().sllm_vocab_size(self.handle))

    @property
    def tensor_count(self) -> int:
        return int(_lib.lib().sllm_model_tensor_count(self.handle))

    @property
    def file_size(self) -> int:
        return int(_lib.lib().sllm_model_file_size(self.handle))

    @property
    def bos(self) -> int:
        """BOS token id, -1 when none."""
        return int(_lib.lib().sllm_token_bos(self.handle))

    @property
    def eos(self) -> int:
        """EOS token id, -1 when none."""
        return int(_lib.lib().sllm_token_eos(self.handle))

    @property
    def eot(self) -> int:
        """End-of-turn token id, -1 when none."""
        return int(_lib.lib().sllm_token_eot(self.handle))

    def is_eog(self, token: int) -> bool:
        """True when generating `token` ends a reply (EOS, EOT, <|im_end|>, ...)."""
        return bool(_lib.lib().sllm_token_is_eog(self.handle, token))

    # -- metadata ---------------------------------------------------------------------

    def metadata_keys(self) -> List[str]:
        """Every GGUF metadata key, in file order."""
        lib, handle = _lib.lib(), self.handle
        keys = []
        for index in range(int(lib.sllm_model_meta_count(handle))):
            key = ctypes.c_char_p()
            _lib.check(lib.sllm_model_meta_key(handle, index, byref(key)))
            keys.append((key.value or b"").decode("utf-8", "replace"))
        return keys

    def metadata(self, key: str) -> Any:
        """The value of metadata `key`: int, float, bool, str (bytes if not UTF-8) or a
        list of those. Raises NotFoundError when absent."""
        lib, handle, raw_key = _lib.lib(), self.handle, key.encode("utf-8")
        value_type, elem_type, count = c_int(), c_int(), c_uint64()
        _lib.check(lib.sllm_model_meta_type(handle, raw_key, byref(value_type),
                                            byref(elem_type), byref(count)))
        if value_type.value == _META_ARRAY:
            return [self._meta_element(raw_key, elem_type.value, i) for i in range(count.value)]
        return self._meta_scalar(raw_key, value_type.value)

    def _meta_scalar(self, raw_key: bytes, value_type: int) -> Any:
        lib, handle = _lib.lib(), self.handle
        if value_type == _META_STRING:
            data, length = POINTER(c_char)(), c_size_t()
            _lib.check(lib.sllm_model_meta_string(handle, raw_key, byref(data), byref(length)))
            return _decode(ctypes.string_at(data, length.value))
        if value_type in _META_FLOAT_TYPES:
            real = c_double()
            _lib.check(lib.sllm_model_meta_float(handle, raw_key, byref(real)))
            return real.value
        integer = c_int64()
        _lib.check(lib.sllm_model_meta_int(handle, raw_key, byref(integer)))
        return bool(integer.value) if value_type == 7 else integer.value

    def _meta_element(self, raw_key: bytes, elem_type: int, index: int) -> Any:
        lib, handle = _lib.lib(), self.handle
        if elem_type == _META_STRING:
            data, length = POINTER(c_char)(), c_size_t()
            _lib.check(lib.sllm_model_meta_array_string(handle, raw_key, index, byref(data),
                                                        byref(length)))
            return _decode(ctypes.string_at(data, length.value))
        if elem_type in _META_FLOAT_TYPES:
            real = c_double()
            _lib.check(lib.sllm_model_meta_array_float(handle, raw_key, index, byref(real)))
            return real.value
        integer = c_int64()
        _lib.check(lib.sllm_model_meta_array_int(handle, raw_key, index, byref(integer)))
        return bool(integer.value) if elem_type == 7 else integer.value

    # -- tokenizer --------------------------------------------------------------------

    def tokenize(self, text: Union[str, bytes], *, add_special: bool = False,
                 parse_special: bool = False) -> List[int]:
        """Token ids of `text` with the model's own tokenizer (ids match llama.cpp's).

        By default the text is plain user text: no BOS/EOS, and control-token text such
        as "<|im_start|>" stays ordinary characters. ``add_special`` adds BOS/EOS as the
        model says; ``parse_special`` turns control-token text into those tokens."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        flags = ((_lib.TOKENIZE_ADD_SPECIAL if add_special else 0)
                 | (_lib.TOKENIZE_PARSE_SPECIAL if parse_special else 0))
        lib, handle = _lib.lib(), self.handle
        capacity = len(data) + 8
        while True:
            out, n_tokens = (ctypes.c_int32 * capacity)(), c_size_t()
            status = lib.sllm_tokenize(handle, data, len(data), flags, out, capacity,
                                       byref(n_tokens))
            if status == _lib.ERR_BUFFER_TOO_SMALL and n_tokens.value > capacity:
                capacity = n_tokens.value
                continue
            _lib.check(status)
            return list(out[:n_tokens.value])

    def detokenize_bytes(self, tokens: Iterable[int], *, render_special: bool = False,
                         keep_leading_space: bool = False) -> bytes:
        """The bytes `tokens` stand for, concatenated."""
        ids = _lib.int32_array(tokens)
        flags = ((_lib.DETOKENIZE_RENDER_SPECIAL if render_special else 0)
                 | (_lib.DETOKENIZE_KEEP_LEADING_SPACE if keep_leading_space else 0))
        lib, handle = _lib.lib(), self.handle
        capacity = 16 * len(ids) + 16
        while True:
            out, n_bytes = ctypes.create_string_buffer(capacity), c_size_t()
            status = lib.sllm_detokenize(handle, ids, len(ids), flags, out, capacity,
                                         byref(n_bytes))
            if status == _lib.ERR_BUFFER_TOO_SMALL and n_bytes.value > capacity:
                capacity = n_bytes.value
                continue
            _lib.check(status)
            return out.raw[:n_bytes.value]

    def detokenize(self, tokens: Iterable[int], *, render_special: bool = False,
                   keep_leading_space: bool = False) -> str:
        """Text of `tokens` (invalid UTF-8, e.g. half a character, becomes U+FFFD);
        detokenize(tokenize(s)) == s."""
        return self.detokenize_bytes(tokens, render_special=render_special,
                                     keep_leading_space=keep_leading_space).decode(
                                         "utf-8", "replace")

    def token_piece(self, token: int) -> bytes:
        """The bytes one token stands for (may be part of a UTF-8 sequence)."""
        lib, handle = _lib.lib(), self.handle
        capacity = 64
        while True:
            out, n_bytes = ctypes.create_string_buffer(capacity), c_size_t()
            status = lib.sllm_token_piece(handle, token, out, capacity, byref(n_bytes))
            if status == _lib.ERR_BUFFER_TOO_SMALL and n_bytes.value > capacity:
                capacity = n_bytes.value
                continue
            _lib.check(status)
            return out.raw[:n_bytes.value]


def _decode(raw: bytes) -> Union[str, bytes]:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
