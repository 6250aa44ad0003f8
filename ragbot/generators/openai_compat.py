"""Generation through any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, a hosted API).

The prompt stays ragbot's own: the chat messages ragbot builds are sent as they are to
`POST {base_url}/chat/completions` with `stream=True, logprobs=True, top_logprobs=1`; the
server applies its model's chat template. Each streamed token's natural log-probability goes
into `Generation.token_logprobs`, so the confidence gate keeps its generation signals. Servers
that return no log-probabilities (Ollama's OpenAI API, some hosted models) give
`token_logprobs == ()` and `logprobs_available == False`; the gate then says so in its reason
and relies on retrieval, groundedness, quotes and citations.

Timing: `prefill_ms` is the time from the request to the first streamed token (network,
queueing and prompt evaluation on the server); `decode_ms` is the rest of the stream.
`prompt_tokens` / `cached_tokens` come from the server's usage report when it sends one
(`stream_options.include_usage`; vLLM and OpenAI do, llama-cpp-python's server does not: 0).

Token counting (`count_tokens`, used to fit passages into the prompt budget): `tokenizer:
"auto"` asks the server's own tokenizer endpoint (llama-cpp-python's server:
`POST /extras/tokenize/count`; llama.cpp's C++ server: `POST /tokenize`) and falls back, for
the rest of the generator's life, to a conservative estimate `ceil(len(text) / 3.5)` when
neither answers (vLLM, Ollama, hosted APIs). English BPE tokenizers average about 4 characters
per token, so the estimate over-counts slightly and prompts stay inside the context window.

The API key is read from the environment variable named by `api_key_env` at construction; it
is never logged, written or shown in errors. User:password parts of `base_url` are masked in
every message.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import time
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

from ragbot.errors import ConfigError, RagbotError, missing_dependency
from ragbot.config import OpenAIGeneratorConfig
from ragbot.generators.base import ConfiguredGenerator, Generation, StopStream, validate_messages

MAX_SERVER_STOPS = 4  # the OpenAI API accepts at most 4 stop strings; the rest are applied here
_FINISH = {"stop": "stop", "length": "length"}


class ModelServerError(RagbotError):
    """The model server could not be reached, timed out after all retries, or refused the request."""


def mask_url(url: str) -> str:
    """`url` with any user:password part replaced by '***' (safe for logs and errors)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = "***@" + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclasses.dataclass
class _Stream:
    """Accumulates one streamed reply (internal, mutable while streaming)."""

    pieces: list[str] = dataclasses.field(default_factory=list)
    logprobs: list[float] = dataclasses.field(default_factory=list)
    content_chunks: int = 0
    finish: str | None = None
    usage: Any = None
    t_first: float | None = None


class OpenAICompatGenerator(ConfiguredGenerator):
    """Chat generation on an OpenAI-compatible server, returning text, per-token log-probs and
    timings like `LlamaCppGenerator` (see the module docstring for the details).

    Construction is cheap and does no I/O; `warm_up()` checks that the server answers and
    resolves `model` when it is None. Thread-safe: one HTTP client with a connection pool.
    http_client: an `httpx.Client` to use (tests pass one with a mock transport).

    Raises ConfigError (api_key_env names an unset variable; the server refuses the key or the
    model), ModelServerError (unreachable, timed out, or an error status after all retries),
    InputError (bad messages or sampling arguments), MissingDependencyError (openai not installed).
    """

    def __init__(self, config: OpenAIGeneratorConfig | None = None, *, http_client: Any = None):
        self.config = config or OpenAIGeneratorConfig()
        self._http = http_client
        self._client = None
        self._model = self.config.model
        self._token_route: str | None = None if self.config.tokenizer != "estimate" else "estimate"
        self._counts = functools.lru_cache(maxsize=4096)(self._count)  # per instance: passages recur

    @classmethod
    def from_config(cls, config: Any, **kwargs) -> "OpenAICompatGenerator":
        """Build from any config object carrying OpenAIGeneratorConfig's fields (GeneratorConfig)."""
        return cls(OpenAIGeneratorConfig.from_generator_config(config), **kwargs)

    @property
    def name(self) -> str:
        """'MODEL@BASE_URL' with credentials masked."""
        return f"{self._model or 'default'}@{mask_url(self.config.base_url)}"

    # ------------------------------------------------------------------ clients
    def _api_key(self) -> str:
        env = self.config.api_key_env
        if not env:
            return "not-needed"  # local servers ignore it; the openai client needs a string
        key = os.environ.get(env, "")
        if not key:
            raise ConfigError(f"generator.api_key_env names the environment variable {env!r}, which is not set "
                              "or empty; export the model server's API key in it, or set api_key_env to null")
        return key

    def _openai(self):
        if self._client is None:
            try:
                import httpx
                import openai
            except ImportError as e:
                raise missing_dependency("openai", package="openai") from e
            cfg = self.config
            if self._http is None:
                self._http = httpx.Client(timeout=httpx.Timeout(cfg.timeout_s))
            self._client = openai.OpenAI(base_url=cfg.base_url, api_key=self._api_key(), timeout=cfg.timeout_s,
                                         max_retries=cfg.max_retries, http_client=self._http)
        return self._client

    def _server_error(self, e: Exception) -> RagbotError:
        import openai

        where = mask_url(self.config.base_url)
        if isinstance(e, openai.APITimeoutError):
            return ModelServerError(
                f"the model server at {where} did not answer within generator.timeout_s={self.config.timeout_s:g} s "
                f"({self.config.max_retries} retries); check that it runs, or raise timeout_s")
        if isinstance(e, openai.APIConnectionError):
            return ModelServerError(f"cannot connect to the model server at {where} ({self.config.max_retries} "
                                    "retries); start it or fix generator.base_url")
        if isinstance(e, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return ConfigError(f"the model server at {where} refused the API key (HTTP {e.status_code}); check "
                               f"the variable named by generator.api_key_env ({self.config.api_key_env!r})")
        if isinstance(e, openai.NotFoundError):
            return ConfigError(f"the model server at {where} answered 404 for model {self._model!r}; "
                               "set generator.model to a name from its GET /models")
        status = getattr(e, "status_code", None)
        return ModelServerError(f"the model server at {where} failed (HTTP {status}): {str(e)[:300]}")

    def warm_up(self) -> "OpenAICompatGenerator":
        """Check the server answers GET /models; pick its first model when config.model is None."""
        import openai

        client = self._openai()
        try:
            models = [m.id for m in client.models.list()]
        except openai.OpenAIError as e:
            raise self._server_error(e) from e
        if self._model is None:
            if not models:
                raise ConfigError(f"the model server at {mask_url(self.config.base_url)} lists no models; "
                                  "set generator.model")
            self._model = models[0]
        return self

    # ------------------------------------------------------------------ tokens
    def _root(self) -> str:
        url = self.config.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url

    def _server_count(self, text: str) -> int | None:
        """Token count from the server's tokenizer endpoint; None when it has none."""
        import httpx

        self._openai()
        headers = {"Authorization": f"Bearer {self._api_key()}"}
        routes = [self._token_route] if self._token_route else ["/extras/tokenize/count", "/tokenize"]
        for route in routes:
            body = {"input": text} if route == "/extras/tokenize/count" else {  # llama.cpp: content; vLLM: prompt
                "content": text, "add_special": False, "prompt": text, "add_special_tokens": False, "model": self._model}
            try:
                r = self._http.post(self._root() + route, json=body, headers=headers, timeout=self.config.timeout_s)
            except httpx.HTTPError:
                continue
            if r.status_code == 200:
                data = r.json()
                n = data.get("count") if "count" in data else len(data.get("tokens") or [])
                self._token_route = route
                return int(n)
        return None

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the server's tokenizer when it exposes one (llama.cpp's servers),
        else ceil(len(text) / chars_per_token) (a slight over-count for English). With
        tokenizer "server", raises ModelServerError when the server has no tokenize endpoint.
        Counts are cached per generator (4096 texts): prompts repeat passages and instructions."""
        return self._counts(text) if text else 0

    def _count(self, text: str) -> int:
        if self._token_route != "estimate":
            n = self._server_count(text)
            if n is not None:
                return n
            if self.config.tokenizer == "server":
                raise ModelServerError(f"the model server at {mask_url(self.config.base_url)} has no tokenize "
                                       "endpoint; set generator.tokenizer to 'auto' or 'estimate'")
            self._token_route = "estimate"
        return math.ceil(len(text) / self.config.chars_per_token)

    # ------------------------------------------------------------------ generation
    def _request(self, messages, max_tokens: int, temperature: float, stop: Sequence[str]) -> dict:
        cfg = self.config
        req: dict[str, Any] = dict(model=self._model, messages=messages, max_tokens=max_tokens,
                                   temperature=temperature, stream=True, logprobs=True, top_logprobs=1,
                                   stream_options={"include_usage": True})
        if stop:
            req["stop"] = list(stop)[:MAX_SERVER_STOPS]
        if cfg.seed is not None:
            req["seed"] = cfg.seed
        if cfg.extra_body:
            req["extra_body"] = dict(cfg.extra_body)
        return req

    @staticmethod
    def _consume(stream, stops: StopStream, emit: Callable[[str], None]) -> _Stream:
        acc = _Stream()
        for chunk in stream:
            if getattr(chunk, "usage", None) is not None:
                acc.usage = chunk.usage
            for choice in chunk.choices or ():
                content = choice.delta.content if choice.delta is not None else None
                lp = getattr(choice, "logprobs", None)
                entries = getattr(lp, "content", None) or ()
                if (content or entries) and acc.t_first is None:
                    acc.t_first = time.perf_counter()
                acc.logprobs.extend(min(0.0, float(e.logprob)) for e in entries if e.logprob is not None)
                if choice.finish_reason:
                    acc.finish = _FINISH.get(choice.finish_reason, "stop")
                if content:
                    acc.content_chunks += 1
                    text, stopped = stops.feed(content)
                    emit(text)
                    if stopped:
                        acc.finish = "stop"
                        return acc
        return acc

    def _generate(self, messages, max_tokens: int, temperature: float, stop: Sequence[str],
                  on_token: Callable[[str], None] | None) -> Generation:
        """`generate` on the server: streams and calls on_token with each text piece; stop strings
        go to the server (first 4) and are also applied here. token_logprobs: the server's
        natural log-probs, one per generated token, () when it sent none."""
        import openai

        messages = validate_messages(messages)
        if self._model is None:
            self.warm_up()
        client = self._openai()
        stops = StopStream(tuple(stop))
        pieces: list[str] = []

        def emit(piece: str) -> None:
            if piece:
                pieces.append(piece)
                if on_token is not None:
                    on_token(piece)

        t0 = time.perf_counter()
        try:
            stream = client.chat.completions.create(**self._request(messages, max_tokens, temperature, stop))
            try:
                acc = self._consume(stream, stops, emit)
            finally:
                stream.close()
        except openai.OpenAIError as e:
            raise self._server_error(e) from e
        emit(stops.flush())
        return self._result("".join(pieces), acc, t0, time.perf_counter())

    @staticmethod
    def _result(text: str, acc: _Stream, t0: float, t_end: float) -> Generation:
        usage = acc.usage
        details = getattr(usage, "prompt_tokens_details", None)
        available = bool(acc.logprobs) or acc.content_chunks == 0
        completion = len(acc.logprobs) if acc.logprobs else (
            getattr(usage, "completion_tokens", None) or acc.content_chunks)
        t_first = acc.t_first or t_end
        return Generation(
            text=text, token_logprobs=tuple(acc.logprobs),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
            completion_tokens=int(completion), prefill_ms=(t_first - t0) * 1000.0,
            decode_ms=(t_end - t_first) * 1000.0, finish_reason=acc.finish or "stop",
            logprobs_available=available)

