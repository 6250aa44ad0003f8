"""The FastAPI app of `ragbot serve`: a thin shell over one Bot per worker process.

    from ragbot.server import create_app
    app = create_app(Bot.open("kb"), ServeSettings(kb="kb"))    # uvicorn.run(app)

Routes: /v1 (openai_api), /api/conversations + /api/messages (conversations), /api/tickets
(inbox), pages (/widget.js, /inbox, / with --demo), /healthz, /readyz, /metrics. The contract is
docs/http-api.md. Turns run in a thread pool; model calls go through the worker's ModelPool.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ragbot.server.settings import SETTINGS_ENV, ServeSettings

log = logging.getLogger("ragbot.server")


@dataclass
class ServerState:
    """Everything the routes share, one per app (request.app.state.ragbot)."""

    bot: Any
    settings: ServeSettings
    keys: Any
    tickets: Any
    owners: Any
    feedback: Any
    pool: Any
    metrics: Any
    executor: ThreadPoolExecutor
    rate_key: Any
    rate_session: Any
    session_locks: Any
    webhook: Any = None
    ready: threading.Event = field(default_factory=threading.Event)
    load_error: str | None = None
    demo_key: str = ""
    demo_key_id: str | None = None


def build_state(bot, settings: ServeSettings, webhook=None) -> ServerState:
    """Stores in the Bot's state database (`bot.state`: state.sqlite in the KB directory, or the KB's
    PostgreSQL), the model pool around bot.generator, handoff handlers."""
    from ragbot.server.conversations import OwnerStore
    from ragbot.server.limits import KeyedLocks, RateLimiter, Serialized
    from ragbot.server.metrics import Metrics
    from ragbot.server.pool import ModelPool
    from ragbot.state.keys import KeyStore
    from ragbot.state.tickets import TicketStore

    db = bot.state
    if not isinstance(bot.generator, ModelPool):
        bot.generator = ModelPool([bot.generator], settings.queue_size, settings.queue_timeout_s)
    if not isinstance(bot.sessions, Serialized) and not getattr(bot.sessions, "thread_safe", False):
        bot.sessions = Serialized(bot.sessions)
    tickets = TicketStore(db)
    if webhook is None and settings.webhook_url:
        from ragbot.server.webhook import WebhookSender

        webhook = WebhookSender(settings.webhook_url, settings.webhook_secret)
    bot.handlers = [h for h in bot.handlers if not isinstance(h, TicketStore)] + [tickets]
    if webhook is not None and webhook not in bot.handlers:
        bot.handlers.append(webhook)
    return ServerState(
        bot=bot, settings=settings, keys=KeyStore(db), tickets=tickets, owners=OwnerStore(db), feedback=bot.feedback_store,
        pool=bot.generator,
        metrics=Metrics(bot.generator), executor=ThreadPoolExecutor(settings.threads(), thread_name_prefix="ragbot-turn"),
        rate_key=RateLimiter(settings.rate_key_per_min), rate_session=RateLimiter(settings.rate_session_per_min),
        session_locks=KeyedLocks(), webhook=webhook)


def load_models(state: ServerState) -> None:
    """Load the embedder and every generator instance once (in order), then mark the worker ready."""
    try:
        state.bot.warm_up()  # embedder, every pooled generator, urgency classifier: none waits for the first turn
        state.ready.set()
        log.info("models loaded; ready")
    except Exception as e:  # reported by /readyz and by every turn
        state.load_error = f"{type(e).__name__}: {e}"
        log.error("loading the models failed: %s", state.load_error)


def create_app(bot, settings: ServeSettings | None = None, webhook=None, load_in_background: bool = True):
    """The FastAPI app over `bot`. Models load at start-up (in a background thread, so /healthz
    answers at once; /readyz turns 200 when done). `webhook`: an extra handoff handler (default: a
    WebhookSender when settings.webhook_url is set)."""
    from fastapi import FastAPI

    from ragbot.server import conversations, errors, feedback_api, inbox, openai_api, pages, users_api
    from ragbot.server.auth import CORSMiddleware
    from ragbot.server.limits import BodyLimitMiddleware
    from ragbot.server.logs import AccessLogMiddleware

    settings = settings or ServeSettings(kb=str(bot.kb.root))
    state = build_state(bot, settings, webhook)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loader = threading.Thread(target=load_models, args=(state,), name="ragbot-load", daemon=True)
        loader.start()
        if not load_in_background:
            loader.join()
        _start_demo(state)
        try:
            yield
        finally:
            _stop(state)

    app = FastAPI(title="ragbot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ragbot = state
    errors.install(app)
    app.include_router(openai_api.router())
    app.include_router(conversations.router())
    app.include_router(inbox.router())
    app.include_router(pages.router())
    app.include_router(feedback_api.router())
    app.include_router(users_api.router())
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(CORSMiddleware, keys_of=lambda: state.keys)
    app.add_middleware(AccessLogMiddleware)
    return app


def _start_demo(state: ServerState) -> None:
    """--demo with keys: a client key for the demo page, revoked at shutdown (open mode: none needed)."""
    if state.settings.demo and state.keys.has_active():
        created = state.keys.create("client", name="demo page (revoked at shutdown)")
        state.demo_key, state.demo_key_id = created.key, created.record.key_id


def _stop(state: ServerState) -> None:
    if state.demo_key_id:
        state.keys.revoke(state.demo_key_id)
    if state.webhook is not None and hasattr(state.webhook, "close"):
        state.webhook.close()
    state.executor.shutdown(wait=False, cancel_futures=True)


def open_bot(settings: ServeSettings):
    """Bot.open(settings.kb) with a ModelPool of settings.model_instances generators whose
    llama.cpp threads default to cores // (instances x workers)."""
    from ragbot.bot import Bot
    from ragbot.config import BotConfig
    from ragbot.generators import make_generator
    from ragbot.server.pool import build_pool, default_threads

    config = BotConfig.load(settings.kb, settings.config_file)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if config.generator.n_threads is None:
        config.generator.n_threads = default_threads(cores, settings.model_instances, settings.workers)
    pool = build_pool(lambda: make_generator(config.generator), settings.model_instances, settings.queue_size,
                      settings.queue_timeout_s)
    return Bot.open(settings.kb, config=config, generator=pool)


def app_from_env():
    """uvicorn factory for `--workers N`: settings from $RAGBOT_SERVE_SETTINGS (JSON)."""
    settings = ServeSettings.model_validate_json(os.environ[SETTINGS_ENV])
    return create_app(open_bot(settings), settings)
