"""Structured JSON access logs and per-request HTTP metrics.

One JSON object per request on the `ragbot.access` logger:
`{"ts", "method", "path", "status", "ms", "key", "session", "decision", "rule", "model", "error"}`
(fields a request did not set are left out). Every string is passed through
`ragbot.tune.data.pii.scrub` for emails, phones, card numbers, SSNs and IBANs: paths carry
conversation ids and errors may quote user input, and logs must not keep raw PII.
"""

from __future__ import annotations

import json
import logging
import time

LOGGER = "ragbot.access"
_SCRUB_TYPES = ("EMAIL", "PHONE", "CARD", "SSN", "IBAN")
_NOT_SCRUBBED = ("method", "ts", "key")


def scrub_fields(fields: dict) -> dict:
    """A copy of `fields` with every string value (other than method, ts, key) scrubbed."""
    from ragbot.tune.data.pii import scrub

    return {k: scrub(v, _SCRUB_TYPES)[0] if isinstance(v, str) and k not in _NOT_SCRUBBED else v
            for k, v in fields.items()}


def access_logger() -> logging.Logger:
    """The `ragbot.access` logger, writing bare JSON lines to stderr unless configured elsewhere."""
    log = logging.getLogger(LOGGER)
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


class AccessLogMiddleware:
    """Pure ASGI middleware: logs one scrubbed JSON line per HTTP request and counts it in the
    app's Metrics (`route` is the matched route template, never the raw path)."""

    def __init__(self, app):
        self.app = app
        self.log = access_logger()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._record(scope, status["code"], time.perf_counter() - t0)

    def _record(self, scope, code: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "other"
        app = scope.get("app")
        st = getattr(getattr(app, "state", None), "ragbot", None)
        if st is not None:
            st.metrics.requests.labels(scope["method"], route, str(code)).inc()
            st.metrics.request_seconds.labels(route).observe(seconds)
        extra = (scope.get("state") or {}).get("log") or {}
        if route in ("/healthz", "/readyz") or (route == "/metrics" and code < 400):
            return  # probes and scrapes would drown the log
        fields = {"ts": round(time.time(), 3), "method": scope["method"], "path": scope["path"], "status": code,
                  "ms": round(seconds * 1000.0, 1), **extra}
        self.log.info(json.dumps(scrub_fields(fields), ensure_ascii=False))
