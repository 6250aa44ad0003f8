"""A deterministic test double for the Generator protocol (no model, microseconds per call)."""

from __future__ import annotations

import re
from typing import Callable, Sequence

from ragbot.errors import ConfigError, InputError
from ragbot.generators.base import Generation, StopStream, validate_messages

_PIECE = re.compile(r"\S+\s*|\s+")


class ScriptedGenerator:
    """Returns scripted replies with a constant per-token log-prob.

    replies: a sequence consumed in order, one per `generate` call (cycling when exhausted),
        or a callable `messages -> reply text` (e.g. to echo a passage for gate tests).
    logprob: the natural log-prob reported for every token (<= 0).
    Tokens are whitespace-separated words (`count_tokens`, `max_tokens`, streaming pieces);
    `prompt_tokens` counts the words of all message contents; `cached_tokens` is the common
    word prefix with the previous call's prompt, mimicking a KV cache. `calls` records the
    messages of every call, for assertions.
    """

    def __init__(self, replies: Sequence[str] | Callable[[list[dict]], str], logprob: float = -0.1):
        if logprob > 0:
            raise ConfigError(f"logprob must be <= 0 (a natural log-probability), got {logprob}")
        if not callable(replies):
            replies = list(replies)
            if not replies:
                raise ConfigError("ScriptedGenerator needs at least one reply")
        self.replies = replies
        self.logprob = float(logprob)
        self.calls: list[list[dict[str, str]]] = []
        self._prev_words: list[str] = []

    def count_tokens(self, text: str) -> int:
        """Whitespace-separated words in `text`."""
        return len(text.split())

    def warm_up(self) -> "ScriptedGenerator":
        return self

    def generate(self, messages, *, max_tokens: int = 128, temperature: float = 0.0,
                 stop: Sequence[str] = (), on_token: Callable[[str], None] | None = None) -> Generation:
        """The next scripted reply, cut at the first stop string and at max_tokens words."""
        if max_tokens < 1:
            raise InputError(f"max_tokens must be >= 1, got {max_tokens}")
        messages = validate_messages(messages)
        n = len(self.calls)
        self.calls.append(messages)
        if callable(self.replies):
            reply = str(self.replies(messages))
        else:
            reply = self.replies[n % len(self.replies)]
        words = " ".join(m["content"] for m in messages).split()
        cached = 0
        for a, b in zip(self._prev_words, words):
            if a != b:
                break
            cached += 1
        self._prev_words = words
        stops = StopStream(stop)
        out: list[str] = []
        count = 0
        finish = "stop"
        for piece in _PIECE.findall(reply):
            if piece.strip():
                if count >= max_tokens:
                    finish = "length"
                    break
                count += 1
            text, stopped = stops.feed(piece)
            if text:
                out.append(text)
                if on_token:
                    on_token(text)
            if stopped:
                break
        tail = stops.flush()
        if tail:
            out.append(tail)
            if on_token:
                on_token(tail)
        return Generation(
            text="".join(out),
            token_logprobs=(self.logprob,) * count,
            prompt_tokens=len(words),
            cached_tokens=min(cached, max(len(words) - 1, 0)),
            completion_tokens=count,
            prefill_ms=0.0,
            decode_ms=0.0,
            finish_reason=finish,
        )
