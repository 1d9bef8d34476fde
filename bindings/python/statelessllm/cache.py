"""Cache: the paged K/V cache of one model, and generate() with its Result and Stream."""
from __future__ import annotations

import ctypes
import dataclasses
import queue
import threading
import weakref
from ctypes import POINTER, byref, c_char_p, c_float, c_int32, c_size_t, c_uint8, c_void_p
from typing import (TYPE_CHECKING, Any, Callable, Iterable, Iterator, List, Literal, Mapping,
                    Optional, Sequence, Tuple, TypedDict, Union, overload)

from . import _lib
from .errors import CancelledError, StatelessLLMError
from .model import Model

if TYPE_CHECKING:  # only type checkers read it; the package needs nothing beyond the stdlib
    from typing_extensions import Unpack

Message = Mapping[str, Any]
"""A message: {"role": "user", "content": "...", "token_ids": [...] (optional)}."""

class GenerateOptions(TypedDict, total=False):
    """Keyword options of Cache.generate/complete and Conversation.say/stream, mirroring
    sllm_generate_params. None (or leaving one out) means the library's default."""
    max_tokens: Optional[int]            # default 256; -1: until the context is full
    temperature: Optional[float]         # default 1.0; 0: greedy
    top_p: Optional[float]               # (0, 1], default 1 (off)
    top_k: Optional[int]                 # default 0 (off)
    min_p: Optional[float]               # [0, 1], default 0 (off)
    seed: Optional[int]                  # same request + seed => same tokens
    stop: Union[None, str, Sequence[str]]
    presence_penalty: Optional[float]
    frequency_penalty: Optional[float]
    repetition_penalty: Optional[float]  # > 0, default 1 (off)
    logit_bias: Optional[Mapping[int, float]]
    logprobs: bool
    top_logprobs: int                    # 0..20
    salt: Union[None, str, bytes]
    chat_template: Optional[str]
    add_generation_prompt: bool
    ignore_eos: bool


_FINISH_REASONS = {0: "none", 1: "stop", 2: "length", 3: "cancelled"}
_KV_DTYPES = {"f16": 0, "f32": 1, "bf16": 2, "q8_0": 3}


@dataclasses.dataclass(frozen=True)
class Timings:
    """Where the time of one generate() call went, in milliseconds."""
    ttft_ms: float
    """Call start to the first generated token."""
    prefill_ms: float
    """Call start to the end of the prompt computation."""
    decode_ms: float
    """End of prefill to the end of the call."""
    total_ms: float


@dataclasses.dataclass(frozen=True)
class Result:
    """The outcome of one generate() call."""
    text: str
    """The reply, stop string removed."""
    tokens: List[int]
    """Generated token ids (without the end-of-generation token). Re-send them as the
    assistant message's "token_ids" so the history hits the cache bit for bit."""
    finish_reason: str
    """"stop" (end of turn or a stop string), "length" (max_tokens or the context) or
    "cancelled"."""
    prompt_tokens: int
    cached_tokens: int
    """Prompt tokens served from the cache instead of being computed."""
    generated_tokens: int
    ttft_ms: float
    timings: Timings
    logprobs: Optional[List[float]] = None
    """Each generated token's log-probability, when asked for."""
    top_logprobs: Optional[List[List[Tuple[int, float]]]] = None
    """Per generated token, the top alternatives as (token, logprob), when asked for."""


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """Statistics of a cache (token-weighted hits, block pool occupancy)."""
    query_tokens: int
    """Prompt tokens of all requests so far."""
    hit_tokens: int
    """Of those, served from the cache."""
    blocks_total: int
    blocks_used: int
    """Pinned by running requests."""
    blocks_cached: int
    """Unpinned, findable, evictable."""
    blocks_free: int
    evictions: int
    bytes_total: int
    bytes_per_block: int
    requests: int
    forward_passes: int = 0
    """Forward passes run (prefill chunks and decode steps)."""
    batched_steps: int = 0
    """Steps of concurrent calls that ran in a pass shared with other calls."""

    @property
    def hit_ratio(self) -> float:
        """hit_tokens / query_tokens (0 before the first request)."""
        return self.hit_tokens / self.query_tokens if self.query_tokens else 0.0


def _encode(text: Union[str, bytes]) -> bytes:
    # surrogatepass: a lone surrogate reaches the library as invalid UTF-8 and comes
    # back as InvalidUtf8Error with the library's message.
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)


class _Request:
    """An sllm_request for one call; sllm_cancel() on it is safe until it is freed."""

    def __init__(self, handle: int) -> None:
        self.handle = handle
        self._lock = threading.Lock()

    @classmethod
    def from_messages(cls, messages: Iterable[Message]) -> "_Request":
        request = cls._create()
        try:
            for index, message in enumerate(messages):
                request._add(index, message)
        except BaseException:
            request.free()
            raise
        return request

    @classmethod
    def from_json(cls, json_text: Union[str, bytes]) -> "_Request":
        data = _encode(json_text)
        handle = c_void_p()
        _lib.check(_lib.lib().sllm_request_from_json(data, len(data), byref(handle)))
        return cls(handle.value or 0)

    @classmethod
    def from_prompt(cls, prompt: Union[str, bytes, Sequence[int]]) -> "_Request":
        request = cls._create()
        lib = _lib.lib()
        try:
            if isinstance(prompt, (str, bytes)):
                data = _encode(prompt)
                _lib.check(lib.sllm_request_set_prompt_text(request.handle, data, len(data)))
            else:
                ids = _lib.int32_array(prompt)
                _lib.check(lib.sllm_request_set_prompt_tokens(request.handle, ids, len(ids)))
        except BaseException:
            request.free()
            raise
        return request

    @classmethod
    def _create(cls) -> "_Request":
        handle = c_void_p()
        _lib.check(_lib.lib().sllm_request_create(byref(handle)))
        return cls(handle.value or 0)

    def _add(self, index: int, message: Message) -> None:
        try:
            role, content = message["role"], message["content"]
        except (KeyError, TypeError):
            raise TypeError("messages[%d] must be a mapping with 'role' and 'content'"
                            % index) from None
        raw_role, raw_content = _encode(role), _encode(content)
        token_ids = message.get("token_ids")
        lib = _lib.lib()
        if token_ids is None:
            status = lib.sllm_request_add_message(self.handle, raw_role, raw_content,
                                                  len(raw_content))
        else:
            ids = _lib.int32_array(token_ids)
            status = lib.sllm_request_add_message_tokens(self.handle, raw_role, raw_content,
                                                         len(raw_content), ids, len(ids))
        _lib.check(status)

    def cancel(self) -> None:
        with self._lock:
            if self.handle:
                _lib.lib().sllm_cancel(self.handle)

    def free(self) -> None:
        with self._lock:
            handle, self.handle = self.handle, 0
        if handle:
            _lib.lib().sllm_request_free(handle)


class _Params:
    """sllm_generate_params filled from keyword arguments, with the arrays it points
    to kept alive as long as it is."""

    _NUMERIC = ("max_tokens", "temperature", "top_p", "top_k", "min_p", "seed",
                "presence_penalty", "frequency_penalty", "repetition_penalty")

    def __init__(self, options: Mapping[str, Any]) -> None:
        unknown = set(options) - set(GenerateOptions.__annotations__)
        if unknown:
            raise TypeError("unknown generate() argument(s): %s" % ", ".join(sorted(unknown)))
        stop = options.get("stop")
        logit_bias = options.get("logit_bias")
        salt = options.get("salt")
        chat_template = options.get("chat_template")
        params = _lib.GenerateParams()
        _lib.lib().sllm_generate_params_init(byref(params))
        for name in self._NUMERIC:
            if options.get(name) is not None:
                setattr(params, name, options[name])
        self._keep: List[Any] = []
        if stop is not None:
            stops = [stop] if isinstance(stop, str) else list(stop)
            array = (c_char_p * max(len(stops), 1))(*[_encode(s) for s in stops])
            self._keep.append(array)
            params.stop = ctypes.cast(array, POINTER(c_char_p))
            params.n_stop = len(stops)
        if logit_bias:
            tokens = (c_int32 * len(logit_bias))(*[int(t) for t in logit_bias])
            values = (c_float * len(logit_bias))(*[float(v) for v in logit_bias.values()])
            self._keep += [tokens, values]
            params.logit_bias_tokens = ctypes.cast(tokens, POINTER(c_int32))
            params.logit_bias_values = ctypes.cast(values, POINTER(c_float))
            params.n_logit_bias = len(logit_bias)
        params.logprobs = 1 if options.get("logprobs") else 0
        params.top_logprobs = options.get("top_logprobs") or 0
        if salt is not None:
            raw_salt = _encode(salt)
            salt_buffer = (c_uint8 * max(len(raw_salt), 1)).from_buffer_copy(
                raw_salt.ljust(1, b"\0"))
            self._keep.append(salt_buffer)
            params.salt = ctypes.cast(salt_buffer, POINTER(c_uint8))
            params.salt_len = len(raw_salt)
        if chat_template is not None:
            template = chat_template.encode("utf-8")
            self._keep.append(template)
            params.chat_template = template
        params.add_generation_prompt = 0 if options.get("add_generation_prompt") is False else 1
        params.ignore_eos = 1 if options.get("ignore_eos") else 0
        self.struct = params


def _convert_result(raw: _lib.ResultStruct) -> Result:
    n_tokens = raw.n_tokens
    text = ctypes.string_at(raw.text, raw.text_len) if raw.text else b""
    logprobs = [raw.logprobs[i] for i in range(n_tokens)] if raw.logprobs else None
    top: Optional[List[List[Tuple[int, float]]]] = None
    if raw.top_logprobs and raw.n_top_logprobs > 0:
        width = raw.n_top_logprobs
        top = [[(raw.top_logprobs[i * width + k].token, raw.top_logprobs[i * width + k].logprob)
                for k in range(width) if raw.top_logprobs[i * width + k].token >= 0]
               for i in range(n_tokens)]
    return Result(text=text.decode("utf-8", "replace"), tokens=list(raw.tokens[:n_tokens]),
                  finish_reason=_FINISH_REASONS.get(raw.finish_reason, "none"),
                  prompt_tokens=raw.prompt_tokens, cached_tokens=raw.cached_tokens,
                  generated_tokens=raw.generated_tokens, ttft_ms=raw.ttft_ms,
                  timings=Timings(raw.ttft_ms, raw.prefill_ms, raw.decode_ms, raw.total_ms),
                  logprobs=logprobs, top_logprobs=top)


TextCallback = Callable[[str, List[int]], bool]
"""Receives each streamed chunk and its token ids; returns True to cancel."""


def _free_cache(handle: int, model: Model) -> None:
    # The finalizer holding `model` keeps it alive (and unfreed) until the cache is gone.
    _lib.lib().sllm_cache_free(handle)
    model._release()


class Cache(_lib.OwnedHandle):
    """The paged K/V cache of one model: a block pool under a byte budget and the prefix
    index. Re-sent conversation prefixes are found here instead of being recomputed.
    It is a cache, never a session: evicting it changes speed, never output.

    :meth:`generate` is safe from many threads at once on one Cache (the GIL is released
    while the library computes). Free it with :meth:`close` or a ``with`` block; it
    keeps its Model alive until then.
    """

    _kind = "cache"

    def __init__(self, model: Model, *, budget_bytes: int = 256 << 20, block_size: int = 16,
                 threads: int = 0, prefix_caching: bool = True, key: Optional[bytes] = None,
                 kv_dtype: str = "f16", backend: str = "auto") -> None:
        """Creates a cache for `model`.

        Args:
            budget_bytes: size of the K/V pool (default 256 MiB).
            block_size: tokens per cache block (default 16).
            threads: compute threads; 0 uses one per online core.
            prefix_caching: False recomputes every prompt (for comparisons).
            key: 32 bytes keying the prefix hash chain; None draws a random key.
            kv_dtype: "f16" (default), "f32", "bf16" or "q8_0".
            backend: "auto", "cpu" or "cuda".
        """
        lib = _lib.lib()
        params = _lib.CacheParams()
        lib.sllm_cache_params_init(byref(params))
        params.budget_bytes = budget_bytes
        params.block_size = block_size
        params.n_threads = threads
        params.prefix_caching = 1 if prefix_caching else 0
        if kv_dtype.lower() not in _KV_DTYPES:
            raise ValueError("kv_dtype must be one of %s, not %r" % (sorted(_KV_DTYPES), kv_dtype))
        params.kv_dtype = _KV_DTYPES[kv_dtype.lower()]
        raw_backend = backend.encode("ascii")
        params.backend = raw_backend
        key_buffer = None
        if key is not None:
            if len(key) != 32:
                raise ValueError("key must be 32 bytes, not %d" % len(key))
            key_buffer = (c_uint8 * 32).from_buffer_copy(bytes(key))
            params.key = ctypes.cast(key_buffer, POINTER(c_uint8))
        handle = c_void_p()
        model_handle = model._acquire()
        try:
            _lib.check(lib.sllm_cache_create(model_handle, byref(params), byref(handle)))
        except BaseException:
            model._release()
            raise
        self.model = model
        self._active = 0
        self._active_lock = threading.Lock()
        self._own(handle.value or 0, _free_cache, model)

    # -- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Frees the cache. Raises if a generate() on it is still running."""
        with self._active_lock:
            if self._active:
                raise StatelessLLMError("cannot close the cache: %d generate() calls are "
                                        "still running on it" % self._active)
            super().close()

    def clear(self) -> None:
        """Drops every cached block not in use by a running request. Output never changes."""
        _lib.check(_lib.lib().sllm_cache_clear(self.handle))

    # -- statistics -------------------------------------------------------------------

    def stats(self) -> CacheStats:
        """A snapshot of the cache's statistics."""
        raw = _lib.CacheStatsStruct()
        raw.struct_size = ctypes.sizeof(raw)
        _lib.check(_lib.lib().sllm_cache_get_stats(self.handle, byref(raw)))
        return CacheStats(**{field.name: getattr(raw, field.name)
                             for field in dataclasses.fields(CacheStats)})

    def stats_prometheus(self) -> str:
        """The statistics in Prometheus text exposition format."""
        lib, handle = _lib.lib(), self.handle
        capacity = 4096
        while True:
            out, length = ctypes.create_string_buffer(capacity), c_size_t()
            status = lib.sllm_cache_stats_prometheus(handle, out, capacity, byref(length))
            if status == _lib.ERR_BUFFER_TOO_SMALL and length.value + 1 > capacity:
                capacity = length.value + 1
                continue
            _lib.check(status)
            return out.raw[:length.value].decode("utf-8")

    # -- generation -------------------------------------------------------------------

    @overload
    def generate(self, messages: Iterable[Message], *, stream: Literal[False] = ...,
                 on_text: Optional[TextCallback] = ...,
                 **options: Unpack[GenerateOptions]) -> Result: ...

    @overload
    def generate(self, messages: Iterable[Message], *, stream: Literal[True],
                 on_text: Optional[TextCallback] = ...,
                 **options: Unpack[GenerateOptions]) -> "Stream": ...

    def generate(self, messages: Iterable[Message], *, stream: bool = False,
                 on_text: Optional[TextCallback] = None,
                 **options: Unpack[GenerateOptions]) -> Union[Result, "Stream"]:
        """Generates the reply to the whole conversation `messages`.

        The library keeps no session: pass the full history every call. Messages are
        dicts {"role": "system"|"user"|"assistant"|"tool", "content": str}; an
        assistant message may carry "token_ids" (Result.tokens of that reply) so the
        re-sent history is exactly what the model produced and hits the cache.

        Keyword options (see :class:`GenerateOptions`); those left out or None take the
        library's defaults (max_tokens 256, temperature 1.0, top_p 1, top_k 0, min_p 0,
        penalties off, seed 0). temperature=0 is greedy. ``stop`` strings end the reply
        and are never emitted; ``logit_bias`` maps token ids to added logits
        (float('-inf') bans a token); ``logprobs``/``top_logprobs`` fill
        Result.logprobs/top_logprobs; ``salt`` isolates tenants (different salts never
        share cache blocks); ``chat_template`` names a family ("chatml", "llama3", ...)
        instead of detecting it; ``ignore_eos`` keeps going past end-of-turn tokens.

        Returns a :class:`Result`; with ``stream=True`` a :class:`Stream` iterating over
        text chunks as they are generated (its ``.result`` is set at the end). The
        optional ``on_text(text, token_ids)`` callback sees each chunk and may return
        True to stop (finish_reason "cancelled").

        Raises a StatelessLLMError subclass: InvalidRoleError, InvalidSamplingError
        (e.g. top_p=2), ContextOverflowError, KvBudgetError, ChatTemplateError, ...;
        TypeError for an unknown keyword.
        """
        params = _Params(options)
        messages = list(messages)
        return self._start(lambda: _Request.from_messages(messages), params, stream, on_text)

    @overload
    def generate_json(self, request_json: Union[str, bytes], *, stream: Literal[False] = ...,
                      on_text: Optional[TextCallback] = ...) -> Result: ...

    @overload
    def generate_json(self, request_json: Union[str, bytes], *, stream: Literal[True],
                      on_text: Optional[TextCallback] = ...) -> "Stream": ...

    def generate_json(self, request_json: Union[str, bytes], *, stream: bool = False,
                      on_text: Optional[TextCallback] = None) -> Union[Result, "Stream"]:
        """Generates from an OpenAI-style chat request in JSON ("messages", "max_tokens",
        "temperature", ..., extensions "messages[i].token_ids" and "cache_salt"). The JSON
        carries its own sampling (OpenAI's defaults for absent fields). Raises
        InvalidJsonError (with line and column) or InvalidRequestError (naming the field)."""
        return self._start(lambda: _Request.from_json(request_json), None, stream, on_text)

    @overload
    def complete(self, prompt: Union[str, bytes, Sequence[int]], *,
                 stream: Literal[False] = ..., on_text: Optional[TextCallback] = ...,
                 **options: Unpack[GenerateOptions]) -> Result: ...

    @overload
    def complete(self, prompt: Union[str, bytes, Sequence[int]], *, stream: Literal[True],
                 on_text: Optional[TextCallback] = ...,
                 **options: Unpack[GenerateOptions]) -> "Stream": ...

    def complete(self, prompt: Union[str, bytes, Sequence[int]], *, stream: bool = False,
                 on_text: Optional[TextCallback] = None,
                 **options: Unpack[GenerateOptions]) -> Union[Result, "Stream"]:
        """Plain completion without a chat template: `prompt` is text (tokenized with BOS
        as the model says) or a list of prompt token ids. Options as for generate()."""
        params = _Params(options)
        return self._start(lambda: _Request.from_prompt(prompt), params, stream, on_text)

    def _start(self, make_request: Callable[[], _Request], params: Optional[_Params],
               stream: bool, on_text: Optional[TextCallback]) -> Union[Result, "Stream"]:
        if stream:
            return Stream(self, make_request, params, on_text)
        request = make_request()
        try:
            return self._run(request, params, on_text, threading.Event())
        finally:
            request.free()

    def _run(self, request: _Request, params: Optional[_Params],
             on_text: Optional[TextCallback], cancelled: threading.Event) -> Result:
        """One sllm_generate() call on this thread. `cancelled` set (by on_text or from
        another thread) stops it; the result is then returned with finish_reason
        "cancelled" rather than raised."""
        failure: List[BaseException] = []

        def on_chunk(user: Any, text: Any, text_len: int, tokens: Any, n_tokens: int) -> int:
            if cancelled.is_set():
                return 1
            try:
                chunk = ctypes.string_at(text, text_len).decode("utf-8", "replace")
                if on_text is not None and on_text(chunk, list(tokens[:n_tokens])):
                    cancelled.set()
            except BaseException as exc:  # re-raised after the call, never into C
                failure.append(exc)
                cancelled.set()
            return 1 if cancelled.is_set() else 0

        callback = _lib.STREAM_FN(on_chunk) if on_text is not None else _lib.STREAM_FN()
        raw = _lib.ResultStruct()
        lib = _lib.lib()
        lib.sllm_result_init(byref(raw))
        with self._active_lock:
            handle = self.handle
            self._active += 1
        try:
            status = lib.sllm_generate(handle, request.handle,
                                       byref(params.struct) if params else None, callback,
                                       None, byref(raw))
            error = _lib.error(status) if status != _lib.OK else None  # same thread, at once
            if failure:
                raise failure[0]
            if status == _lib.OK or (status == _lib.ERR_CANCELLED and cancelled.is_set()):
                return _convert_result(raw)
            assert error is not None
            if isinstance(error, CancelledError):
                error.result = _convert_result(raw)
            raise error
        finally:
            lib.sllm_result_free(byref(raw))
            with self._active_lock:
                self._active -= 1


_CHUNK, _DONE, _FAILED = 0, 1, 2


class _StreamWork:
    """What the worker thread of a Stream holds (never the Stream itself, so an
    abandoned Stream is collected and cancels its generation)."""

    def __init__(self, cache: Cache, request: _Request, params: Optional[_Params],
                 on_text: Optional[TextCallback]) -> None:
        self.cache, self.request, self.params, self.on_text = cache, request, params, on_text
        self.queue: "queue.Queue[Tuple[int, Any]]" = queue.Queue()
        self.cancelled = threading.Event()

    def run(self) -> None:
        def on_chunk(text: str, tokens: List[int]) -> bool:
            self.queue.put((_CHUNK, (text, tokens)))
            return False

        try:
            result = self.cache._run(self.request, self.params, on_chunk, self.cancelled)
        except BaseException as exc:
            self.queue.put((_FAILED, exc))
        else:
            self.queue.put((_DONE, result))
        finally:
            self.request.free()

    def cancel(self) -> None:
        self.cancelled.set()
        self.request.cancel()


class Stream(Iterator[str]):
    """Text chunks of a reply as they are generated (UTF-8-complete; text that may
    still become a stop string is held back). Generation runs on a worker thread; the
    chunks concatenate to ``result.text``. Breaking out of the loop, :meth:`close`,
    :meth:`cancel` or leaving a ``with`` block stops the generation.

    ``on_done(result)`` (used by Conversation) is called once, on the consuming thread,
    when the reply has finished.
    """

    def __init__(self, cache: Cache, make_request: Callable[[], _Request],
                 params: Optional[_Params], on_text: Optional[TextCallback] = None,
                 on_done: Optional[Callable[[Result], None]] = None) -> None:
        request = make_request()  # errors in the messages raise here, on the caller's thread
        self._work = _StreamWork(cache, request, params, None)
        self._on_text = on_text
        self._on_done = on_done
        self._result: Optional[Result] = None
        self._error: Optional[BaseException] = None
        self._finished = False
        self._thread = threading.Thread(target=self._work.run, name="statelessllm-stream")
        self._thread.start()
        weakref.finalize(self, self._work.cancel)

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> str:
        while not self._finished:
            kind, value = self._work.queue.get()
            if kind == _CHUNK:
                text: str = value[0]
                tokens: List[int] = value[1]
                if self._on_text is not None and self._on_text(text, tokens):
                    self._work.cancel()
                if text:  # tokens that end inside a UTF-8 sequence come with no text yet
                    return text
                continue
            self._finish(kind, value)
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopIteration

    def _finish(self, kind: int, value: Any) -> None:
        self._finished = True
        self._thread.join()
        if kind == _FAILED:
            self._error = value
            return
        self._result = value
        if self._on_done is not None:
            self._on_done(value)

    def _drain(self) -> None:
        while not self._finished:
            kind, value = self._work.queue.get()
            if kind != _CHUNK:
                self._finish(kind, value)

    @property
    def result(self) -> Result:
        """The Result of the whole call (waits for the generation to finish; raises the
        call's exception if it failed)."""
        self._drain()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        assert self._result is not None
        return self._result

    @property
    def done(self) -> bool:
        return self._finished

    def cancel(self) -> None:
        """Asks the generation to stop after the current step (from any thread)."""
        self._work.cancel()

    def close(self) -> None:
        """Cancels the generation if still running and waits for the worker thread."""
        if not self._finished:
            self._work.cancel()
            self._drain()

    def text(self) -> str:
        """Consumes the remaining chunks and returns them joined."""
        return "".join(self)

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
