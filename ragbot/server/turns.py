"""Running turns off the event loop: Bot.ask / Bot.events in the server's thread pool, one turn
at a time per conversation, with limits, metrics and the reply object of the HTTP API."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator, Mapping

from ragbot.server.errors import ApiError
from ragbot.server.metrics import used_model

_END = object()


@dataclass(frozen=True)
class TurnRequest:
    """One user message to run. scope: the effective scope (key's scope narrowed by the request)."""

    question: str
    session_id: str
    scope: Mapping[str, str]
    user: str | None = None


def reply_object(reply) -> dict[str, Any]:
    """DESIGN.md's `ask --json` object (Reply.to_dict(): with message_id and options, the labels
    of a clarifying question's choices)."""
    return reply.to_dict()


def turn_events(bot, req: TurnRequest) -> Iterator:
    """The Bot's typed events for one turn (ragbot.chat.events; ReplyEvent last)."""
    return bot.events(req.question, session=req.session_id, scope=dict(req.scope), user=req.user)


def check_question(state, text: str) -> str:
    """The question, stripped; ApiError 422 when empty or over conversation.max_question_chars."""
    if not isinstance(text, str) or not text.strip():
        raise ApiError(422, "text is empty; send the customer's message, e.g. 'How much is the deposit?'",
                       "empty_question")
    limit = state.bot.config.conversation.max_question_chars
    n = len(" ".join(text.split()))
    if n > limit:
        raise ApiError(422, f"the question has {n} characters, more than the {limit} allowed; shorten it",
                       "question_too_long")
    return text.strip()


def check_rate(state, key_id: str | None, session_id: str | None) -> None:
    """Take one turn from the session's, then the key's rate limit (None: not checked); ApiError
    429 with Retry-After when exhausted (a request refused for its session costs the key nothing)."""
    for kind, limiter, name in (("session", state.rate_session, session_id), ("key", state.rate_key, key_id)):
        if name is None:
            continue
        wait = limiter.hit(name)
        if wait:
            state.metrics.rejected.labels("rate_limited").inc()
            raise ApiError(429, f"too many requests for this {kind}; retry in {wait} s", f"rate_limited_{kind}",
                           {"Retry-After": str(wait)})


def _run_sync(state, req: TurnRequest, emit) -> None:
    """In a pool thread: wait for the models, hold the conversation's lock, run the turn, emit events."""
    if state.load_error:
        raise ApiError(503, f"the models failed to load ({state.load_error}); see the server log", "not_ready")
    if not state.ready.wait(state.settings.queue_timeout_s):
        raise ApiError(503, "the models are still loading; retry shortly", "not_ready", {"Retry-After": "5"})
    with state.session_locks.hold(req.session_id):
        for ev in turn_events(state.bot, req):
            emit(ev)


async def events(state, req: TurnRequest, streamed: bool = True) -> AsyncIterator:
    """The turn's events as they happen (an exception from the turn is raised here), then
    `on_reply` bookkeeping. Runs the turn in the server's thread pool."""
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()
    t0 = time.perf_counter()

    def produce():
        try:
            _run_sync(state, req, lambda ev: loop.call_soon_threadsafe(q.put_nowait, ev))
        except BaseException as e:  # re-raised in the event loop
            loop.call_soon_threadsafe(q.put_nowait, e)
        finally:
            loop.call_soon_threadsafe(q.put_nowait, _END)

    loop.run_in_executor(state.executor, produce)
    first = True
    while (item := await q.get()) is not _END:
        if isinstance(item, BaseException):
            raise item
        if first and streamed:
            state.metrics.ttft.observe(time.perf_counter() - t0)
            first = False
        if hasattr(item, "reply"):
            on_reply(state, item.reply, time.perf_counter() - t0)
        yield item


async def ask(state, req: TurnRequest):
    """Run one turn to its Reply (non-streaming)."""
    reply = None
    async for ev in events(state, req, streamed=False):
        if hasattr(ev, "reply"):
            reply = ev.reply
    if reply is None:
        raise ApiError(500, "the turn ended without a reply", "no_reply")
    return reply


def on_reply(state, reply, seconds: float) -> None:
    """Metrics, and the reply's sources and options for the transcript (Bot itself records the
    turn in its turn log, which feedback refers to)."""
    state.metrics.observe_turn(reply, seconds)
    state.owners.add_meta(reply.message_id, reply.session_id,
                          {"sources": [s.to_dict() for s in reply.sources], "options": list(reply.options)})


def log_fields(request, reply) -> None:
    """Add session, decision, rule and model use to the request's access-log line."""
    request.state.log = {**getattr(request.state, "log", {}), "session": reply.session_id,
                         "decision": reply.decision.value, "rule": reply.rule, "model": used_model(reply)}


def sse(event: str | None, data: Any) -> bytes:
    """One Server-Sent Event frame (data as JSON unless already a str)."""
    import json

    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return (head + "".join(f"data: {line}\n" for line in payload.split("\n")) + "\n").encode("utf-8")


async def first_then_rest(agen: AsyncIterator):
    """Await the first item of `agen` (so errors before any output become plain HTTP errors),
    then return (first, agen)."""
    try:
        first = await agen.__anext__()
    except StopAsyncIteration:
        first = _END
    return first, agen
