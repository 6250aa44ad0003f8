"""Webhook delivery of new handoff tickets: signed JSON POSTs from a background thread.

    hook = WebhookSender("https://hooks.example/ragbot", secret="s3cret")
    bot = Bot.open("kb", handlers=[tickets, hook])   # hook(ticket) only enqueues: never blocks a turn

Each delivery is `POST url` with body `HandoffTicket.to_dict()` as JSON and headers
`X-Ragbot-Timestamp: <unix seconds>`, `X-Ragbot-Signature: sha256=<hex HMAC-SHA256(secret,
"<timestamp>.<body>")>` (verify with `verify_signature`). Non-2xx answers and network errors are
retried with exponential backoff (base_delay_s * 2**attempt, at most max_attempts tries); a 4xx
other than 408/429 is not retried. When the queue is full a ticket is dropped with a warning
(the ticket itself is still in the TicketStore).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time

from ragbot.types import HandoffTicket

log = logging.getLogger("ragbot.webhook")
_STOP = object()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """'sha256=' + hex HMAC-SHA256 of b"<timestamp>." + body with `secret`."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, max_age_s: float = 300.0) -> bool:
    """Receiver side: the signature matches and the timestamp is at most max_age_s old."""
    try:
        fresh = abs(time.time() - float(timestamp)) <= max_age_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookSender:
    """A handoff handler that delivers tickets to `url` in a daemon thread (see module doc).
    `delivered` / `failed` count finished deliveries (for tests and logs)."""

    def __init__(self, url: str, secret: str = "", max_attempts: int = 6, base_delay_s: float = 0.5,
                 timeout_s: float = 10.0, max_pending: int = 1000, client=None):
        self.url = url
        self.secret = secret
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.timeout_s = timeout_s
        self._client = client
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._stop = threading.Event()
        self.delivered = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="ragbot-webhook", daemon=True)
        self._thread.start()

    def __call__(self, ticket: HandoffTicket) -> None:
        try:
            self._queue.put_nowait(ticket)
        except queue.Full:
            log.warning("webhook queue full; ticket %s not delivered to %s", ticket.ticket_id, self.url)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop after the deliveries already queued (waiting at most timeout_s)."""
        self._stop.set()
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass
        self._thread.join(timeout_s)

    def join(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued ticket is delivered or given up; True when the queue drained."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _run(self) -> None:
        import httpx

        client = self._client or httpx.Client(timeout=self.timeout_s)
        try:
            while True:
                item = self._queue.get()
                try:
                    if item is _STOP:
                        return
                    self._deliver(client, item)
                finally:
                    self._queue.task_done()
        finally:
            if self._client is None:
                client.close()

    def _deliver(self, client, ticket: HandoffTicket) -> None:
        body = json.dumps(ticket.to_dict(), ensure_ascii=False).encode("utf-8")
        for attempt in range(self.max_attempts):
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Ragbot-Timestamp": ts,
                       "X-Ragbot-Signature": sign(self.secret, ts, body), "User-Agent": "ragbot-webhook"}
            try:
                r = client.post(self.url, content=body, headers=headers)
                if 200 <= r.status_code < 300:
                    self.delivered += 1
                    return
                if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                    break
                why = f"HTTP {r.status_code}"
            except Exception as e:  # network errors: retry
                why = f"{type(e).__name__}: {e}"
            delay = self.base_delay_s * (2 ** attempt)
            log.warning("webhook delivery of ticket %s failed (%s); attempt %d/%d, retrying in %.1f s",
                        ticket.ticket_id, why, attempt + 1, self.max_attempts, delay)
            if attempt + 1 < self.max_attempts and self._stop.wait(delay):
                break
        self.failed += 1
        log.error("webhook gave up on ticket %s for %s", ticket.ticket_id, self.url)
