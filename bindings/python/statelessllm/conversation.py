"""Conversation: the chat history, kept on the host side and re-sent whole every turn."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from .cache import Cache, GenerateOptions, Result, Stream

if TYPE_CHECKING:
    from typing_extensions import Unpack


class Conversation:
    """A chat whose state lives here, in the host program, not in the library.

    Every turn appends the user message, sends the *whole* history to
    :meth:`Cache.generate`, and appends the reply together with the token ids the
    library returned, so the next turn's prompt begins with exactly the tokens already
    in the cache and only the new message is computed (``result.cached_tokens`` grows
    turn by turn). The history is a plain list of dicts (:attr:`messages`): save it,
    edit it, or move it to another process or machine as you like.

    Example::

        chat = Conversation(cache, system="You are terse.", temperature=0, max_tokens=64)
        print(chat.say("What is the capital of France?").text)
        print(chat.say("And of Germany?").text)
    """

    def __init__(self, cache: Cache, *, system: Optional[str] = None,
                 messages: Optional[Sequence[Dict[str, Any]]] = None,
                 **sampling: Unpack[GenerateOptions]) -> None:
        """`system` starts the history with a system message; `messages` continues an
        earlier history (copied); `sampling` holds defaults for every turn (any keyword
        of Cache.generate except stream)."""
        if "stream" in sampling:
            raise TypeError("use Conversation.stream() for streaming")
        self.cache = cache
        self.sampling: GenerateOptions = GenerateOptions(**sampling)
        self.messages: List[Dict[str, Any]] = copy.deepcopy(list(messages or []))
        if system is not None:
            self.messages.insert(0, {"role": "system", "content": system})
        self.last_result: Optional[Result] = None

    def add(self, role: str, content: str, token_ids: Optional[Sequence[int]] = None) -> None:
        """Appends a message without generating (e.g. a tool result)."""
        message: Dict[str, Any] = {"role": role, "content": content}
        if token_ids is not None:
            message["token_ids"] = list(token_ids)
        self.messages.append(message)

    def say(self, text: str, *, role: str = "user",
            **sampling: Unpack[GenerateOptions]) -> Result:
        """Appends `text` as a `role` message, generates the reply to the whole history,
        appends the reply (with its token ids) and returns the Result. If generation
        fails, the history is left as it was before the call."""
        self.messages.append({"role": role, "content": text})
        try:
            result = self.cache.generate(self.messages, **self._options(sampling))
        except BaseException:
            self.messages.pop()
            raise
        self._append_reply(result)
        return result

    def stream(self, text: str, *, role: str = "user",
               **sampling: Unpack[GenerateOptions]) -> Stream:
        """Like :meth:`say`, but returns a :class:`Stream` of text chunks. The reply is
        appended to the history when the stream finishes (also when it is cancelled:
        the part generated so far becomes the assistant's message)."""
        self.messages.append({"role": role, "content": text})
        request_messages = list(self.messages)
        try:
            stream = self.cache.generate(request_messages, stream=True,
                                         **self._options(sampling))
        except BaseException:
            self.messages.pop()
            raise
        stream._on_done = self._append_reply
        return stream

    def _options(self, overrides: GenerateOptions) -> GenerateOptions:
        options = GenerateOptions(**self.sampling)
        options.update(overrides)
        return options

    def _append_reply(self, result: Result) -> None:
        self.last_result = result
        self.messages.append({"role": "assistant", "content": result.text,
                              "token_ids": list(result.tokens)})

    def __len__(self) -> int:
        return len(self.messages)

    def __repr__(self) -> str:
        return "<statelessllm.Conversation of %d messages>" % len(self.messages)
