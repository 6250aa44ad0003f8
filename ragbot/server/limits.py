"""Request limits: token-bucket rate limits (429), the body size limit (413) and one turn at a
time per conversation."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from typing import Iterator

from ragbot.server.errors import error_body


class RateLimiter:
    """Token buckets: `per_minute` requests per minute for each name, bursts up to `per_minute`.
    Thread-safe; buckets idle for over a minute are dropped once more than `max_names` exist."""

    def __init__(self, per_minute: int, max_names: int = 100_000):
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.max_names = max_names
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, name: str) -> int:
        """Take one token for `name`. Returns 0 when allowed, else the seconds to wait (>= 1)."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(name, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[name] = (tokens, now)
                return max(1, math.ceil((1.0 - tokens) / self.rate))
            self._buckets[name] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_names:
                self._prune(now)
            return 0

    def _prune(self, now: float) -> None:
        idle = 60.0
        for k in [k for k, (_, last) in self._buckets.items() if now - last > idle]:
            del self._buckets[k]


class KeyedLocks:
    """One lock per name (a conversation), created on demand and dropped when unused, so turns of
    one conversation run one at a time while other conversations never wait on them."""

    def __init__(self):
        self._locks: dict[str, list] = {}  # name -> [lock, users]
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(name, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    self._locks.pop(name, None)


class BodyLimitMiddleware:
    """Pure ASGI middleware: request bodies over `max_bytes` get 413 with a JSON error, judged by
    Content-Length when sent and by counting the received bytes otherwise."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._reject(scope, send, int(length))
        body, more = b"", True
        while more:  # small limit: read the whole body, then replay it
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self._reject(scope, send, len(body))
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope, send, size: int):
        import json

        st = scope.get("app").state.ragbot if scope.get("app") is not None else None
        if st is not None:
            st.metrics.rejected.labels("too_large").inc()
        payload = json.dumps(error_body(413, f"the request body has {size} bytes, more than the {self.max_bytes} "
                                             "allowed; send a shorter message", "body_too_large")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


class Serialized:
    """A proxy that calls every method of `target` under one lock: for stores that share one
    sqlite3 connection between threads without a lock of their own (SessionStore), whose
    concurrent `with conn:` transactions otherwise interleave (seen under load: SystemError)."""

    def __init__(self, target, lock=None):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_lock", lock or threading.RLock())

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr
        lock = self._lock

        def call(*args, **kwargs):
            with lock:
                return attr(*args, **kwargs)

        return call

    def __setattr__(self, name, value):
        setattr(self._target, name, value)
