"""The Generator protocol and its typed result.

A generator turns chat messages ([{"role": "system"|"user"|"assistant", "content": str}, ...])
into text plus the natural log-probability of every generated token, which the confidence gate
uses as a signal. The gate never knows which backend generated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

from ragbot.errors import InputError

FINISH_REASONS = ("stop", "length")


@dataclass(frozen=True)
class Generation:
    """One generated reply.

    text: the reply, with any stop string and end-of-turn token removed.
    token_logprobs: natural log-probability (<= 0) of each generated token under the model's
        full distribution (log-softmax of the raw logits at sampling time, before any sampler
        transform); one entry per generated token, the end-of-generation token excluded.
    prompt_tokens: tokens of the formatted prompt.
    cached_tokens: leading prompt tokens reused from the backend's KV cache (not recomputed).
    completion_tokens: generated tokens, == len(token_logprobs).
    prefill_ms: wall time from the call until the first token was sampled (prompt evaluation).
    decode_ms: wall time of the remaining token-by-token generation.
    finish_reason: "stop" (end-of-turn token or stop string) or "length" (max_tokens reached).
    logprobs_available: False when the backend returned no log-probabilities (some
        OpenAI-compatible servers); the gate then says so in its reason and skips its
        log-probability rules, relying on its other signals.
    """

    text: str
    token_logprobs: tuple[float, ...] = ()
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    prefill_ms: float = 0.0
    decode_ms: float = 0.0
    finish_reason: str = "stop"
    logprobs_available: bool = True

    @property
    def mean_logprob(self) -> float:
        """Mean natural log-prob per token; 0.0 when no token was generated (an empty reply
        carries no evidence of uncertainty, so groundedness/citation rules must catch it)."""
        if not self.token_logprobs:
            return 0.0
        return math.fsum(self.token_logprobs) / len(self.token_logprobs)

    @property
    def min_logprob(self) -> float:
        """Least likely token's log-prob; -inf when no token was generated (so that a
        `min_logprob >= floor` check fails for an empty reply)."""
        return min(self.token_logprobs) if self.token_logprobs else -math.inf

    @property
    def perplexity(self) -> float:
        """exp(-mean_logprob): 1.0 for a certain model; 1.0 for an empty reply."""
        return math.exp(-self.mean_logprob)


@runtime_checkable
class Generator(Protocol):
    """Chat-message in, `Generation` out. Implementations: LlamaCppGenerator (real),
    ScriptedGenerator (test double)."""

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 128,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        on_token: Callable[[str], None] | None = None,
    ) -> Generation:
        """Generate a reply to `messages` (ending with a user message).

        max_tokens: cap on generated tokens (finish_reason "length" when reached).
        temperature: 0.0 = greedy (deterministic); > 0 samples.
        stop: strings that end the reply; the stop string itself is not returned.
        on_token: called with each decoded text piece as it streams; the pieces concatenate
            to `Generation.text`.
        """
        ...

    def count_tokens(self, text: str) -> int:
        """Number of tokens `text` takes in this generator's tokenizer (no special tokens)."""
        ...


class ConfiguredGenerator:
    """Base of the model-backed generators (LlamaCppGenerator, OpenAICompatGenerator): the public
    `generate` takes max_tokens / temperature from `self.config` (a config with `max_tokens` and
    `temperature` fields) when they are not given, checks them, and hands over to the backend's
    `_generate`."""

    config: Any

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
        on_token: Callable[[str], None] | None = None,
    ) -> Generation:
        """Generate a reply (see `Generator.generate`); max_tokens / temperature default to the
        config. Raises InputError for max_tokens < 1 or temperature < 0; the backend's `_generate`
        says what else it checks and how it streams."""
        max_tokens = self.config.max_tokens if max_tokens is None else int(max_tokens)
        temperature = self.config.temperature if temperature is None else float(temperature)
        if max_tokens < 1:
            raise InputError(f"max_tokens must be >= 1, got {max_tokens}")
        if temperature < 0:
            raise InputError(f"temperature must be >= 0, got {temperature}")
        return self._generate(messages, max_tokens, temperature, stop, on_token)

    def _generate(self, messages: list[dict[str, str]], max_tokens: int, temperature: float,
                  stop: Sequence[str], on_token: Callable[[str], None] | None) -> Generation:
        raise NotImplementedError


def validate_messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Check the chat-message shape and return a clean copy.

    Raises InputError naming the offending message index and field."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InputError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise InputError(f"messages[{i}] must be a dict with 'role' and 'content', got {m!r:.80}")
        role, content = m["role"], m["content"]
        if role not in ("system", "user", "assistant"):
            raise InputError(f"messages[{i}].role must be 'system', 'user' or 'assistant', got {role!r}")
        if not isinstance(content, str):
            raise InputError(f"messages[{i}].content must be a string, got {type(content).__name__}")
        out.append({"role": role, "content": content})
    return out


class StopStream:
    """Incremental stop-string handling for streamed text.

    `feed(piece)` returns (text safe to emit now, stopped). Text that could be the start of a
    stop string is held back until it is known not to be one; once a stop string appears,
    everything from it on is dropped and `stopped` is True. `flush()` returns what is held back
    when generation ends without a stop string. The emitted pieces concatenate to the final text.
    """

    def __init__(self, stop: Sequence[str] = ()):
        self.stop = tuple(s for s in stop if s)
        self._buf = ""
        self.stopped = False

    def feed(self, piece: str) -> tuple[str, bool]:
        if self.stopped:
            return "", True
        buf = self._buf + piece
        cut = min((i for i in (buf.find(s) for s in self.stop) if i >= 0), default=-1)
        if cut >= 0:
            self._buf = ""
            self.stopped = True
            return buf[:cut], True
        hold = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(buf)), hold, -1):
                if buf.endswith(s[:k]):
                    hold = k
                    break
        self._buf = buf[len(buf) - hold:] if hold else ""
        return buf[: len(buf) - hold], False

    def flush(self) -> str:
        out, self._buf = self._buf, ""
        return "" if self.stopped else out
