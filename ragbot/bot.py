"""Bot: the facade over one knowledge base. It keeps sessions, runs a turn (chat/turn.py), stores
it, and turns a HANDOFF into a ticket for the handlers.

    bot = Bot.open("kb")
    reply = bot.ask("How much is the deposit?", scope={"property": "oak-street"})
    reply.decision, reply.text, reply.sources, reply.reason, reply.message_id
    for event in bot.events("And pets?", session=reply.session_id):   # chat/events.py
        ...

One turn (docs/architecture.md): understand -> retrieve -> disambiguate -> FAQ -> generate ->
verify, with the gate (chat/gate.py) deciding before the model and after it.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from pathlib import Path
from dataclasses import replace
from typing import Any, Callable, Iterator, Mapping, Sequence

from ragbot.chat import prompts
from ragbot.chat.conversation import HandoffHandler, JsonlHandoffHandler, SessionStore, check_session_id, summarize
from ragbot.chat.events import DecisionEvent, ReplyEvent, TokenEvent, TurnEvent
from ragbot.chat.gate import GateResult
from ragbot.chat.retrieval import Group, group_for
from ragbot.chat.turn import TurnOutcome, run_turn, source_of
from ragbot.chat.steps import TurnContext, TurnRequest
from ragbot.config import BotConfig
from ragbot.errors import InputError
from ragbot.generators.base import Generator
from ragbot.kb import KnowledgeBase
from ragbot.kb.embedders import Embedder
from ragbot.types import Decision, HandoffTicket, Reply, Turn


class Bot:
    """A retrieval-augmented assistant over one knowledge base.

    Construction is cheap; the embedder and the GGUF model load on first use. `handlers` receive
    every HandoffTicket (default: append to handoffs.jsonl in the KB directory). `urgency`: an
    emergency classifier with `predict([text])` (chat/urgency.py); by default the bundled one,
    fitted on first use with the KB's embedder and cached in the KB directory. `state`: the
    state database (tickets, feedback, overrides, the turn log; state/db.StateDB, or
    PostgresStateDB), by default `state.sqlite` in the KB directory. A PostgreSQL KB keeps its
    state, sessions and tickets in the same database by default (schema KB schema + "_state"),
    so every process serving it shares them.
    """

    def __init__(self, kb: KnowledgeBase, config: BotConfig | None = None, generator: Generator | None = None,
                 handlers: Sequence[HandoffHandler] | None = None, sessions: SessionStore | None = None,
                 urgency: Any = "default", state: Any = None):
        from ragbot.state.feedback import FeedbackStore
        from ragbot.state.overrides import OverrideStore
        from ragbot.state.turnlog import TurnLog

        self.kb = kb
        self.config = config or BotConfig()
        self.state = state if state is not None else _state_db(kb)
        self.turnlog = TurnLog(self.state)
        self.feedback_store = FeedbackStore(self.state, self.turnlog)
        r = self.config.retrieval
        self.overrides = OverrideStore(self.state, r.override_min_score, r.override_min_ratio)
        from ragbot.state.users import UserStore

        self.users = UserStore(self.state)  # stated preferences per user (chat/preferences.py)
        self._listings: tuple[int | None, Any] | None = None
        if generator is None:
            from ragbot.generators import make_generator

            generator = make_generator(self.config.generator)
        self.generator = generator
        self.sessions = sessions or _default_sessions(kb, self.state)
        self.handlers = list(handlers) if handlers is not None else _default_handlers(kb, self.state)
        self._urgency = urgency
        self._catalog: tuple[int | None, list[Group]] | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, kb_dir: str | os.PathLike, config: BotConfig | None = None, embedder: Embedder | None = None,
             **kwargs) -> "Bot":
        """Open the KB at `kb_dir` with `config` (default: the KB's config.json, else defaults).
        Raises KnowledgeBaseError when there is no KB, ModelNotFoundError for a missing model."""
        config = config or BotConfig.load(kb_dir)
        kb = KnowledgeBase.open(kb_dir, config=config.kb, embedder=embedder)
        return cls(kb, config=config, **kwargs)

    # ------------------------------------------------------------------ sessions
    def new_session(self, session_id: str | None = None, scope: Mapping[str, str] | None = None,
                    user: str | None = None) -> str:
        """Start a session (under the caller's own id when given; see SessionStore.create)."""
        return self.sessions.create(session_id, scope=self.kb.check_scope(scope), user_id=user)

    def release(self, session_id: str) -> None:
        """Hand a session back to the bot after a person has dealt with its handoff."""
        self.sessions.state(session_id)
        self.sessions.release(session_id)

    def history(self, session_id: str) -> list[Turn]:
        self.sessions.state(session_id)
        return self.sessions.turns(session_id)

    # ------------------------------------------------------------------ turns
    def ask(self, question: str, session: str | None = None, scope: Mapping[str, str] | None = None,
            history: Sequence[Turn] | None = None, user: str | None = None) -> Reply:
        """Answer one user message. Returns a Reply (types.Reply).

        session: a session id; an id that does not exist yet starts a session under it; None
        starts a new one (its id is in Reply.session_id). scope: key=value filters (e.g.
        {"property": "oak-street"}), merged over the session's and checked against the KB's values.
        history: prior turns for a new session (eval files). Raises InputError for an empty or
        oversized question, an invalid session id or an unknown scope value."""
        reply = None
        for event in self.events(question, session=session, scope=scope, history=history, user=user):
            if isinstance(event, ReplyEvent):
                reply = event.reply
        return reply

    def events(self, question: str, session: str | None = None, scope: Mapping[str, str] | None = None,
               history: Sequence[Turn] | None = None, user: str | None = None) -> Iterator[TurnEvent]:
        """Like `ask`, but yields the turn's typed events (chat/events.py) as they become final:
        SourcesEvent, TokenEvent pieces of verified text, DecisionEvent, then the ReplyEvent
        (always last). Runs the turn in a worker thread; exceptions re-raise here."""
        q: queue.Queue = queue.Queue()
        done = object()

        def run():
            try:
                q.put(ReplyEvent(self._turn(question, session, scope, history, user, q.put)))
            except BaseException as e:  # re-raised in the caller's thread
                q.put(e)
            finally:
                q.put(done)

        threading.Thread(target=run, daemon=True).start()
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item

    stream = events  # the name of earlier releases

    def _turn(self, question, session, scope, history, user, emit: Callable[[Any], None]) -> Reply:
        t0 = time.perf_counter()
        question = self._check_question(question)
        sid = self._session_for(session, scope, history, user)
        state = self.sessions.state(sid)
        if user and state.get("user") != user:  # the session's user, for its later turns
            state = self.sessions.update_state(sid, user=user)
        user = user or state.get("user")
        scope_d = {**state.get("scope", {}), **self.kb.check_scope(scope)}
        turns = tuple(self.sessions.turns(sid))
        if state.get("handed_off"):
            self.sessions.append(sid, "user", question)
            reply = self._handed_off_reply(sid, state, t0, emit)
        else:
            req = TurnRequest(question, scope_d, turns, state.get("pending"), state.get("focus"), state.get("listing"),
                              self.users.values(user) if user else None)
            outcome = run_turn(self.turn_context(), req, emit)
            self.sessions.append(sid, "user", question)  # only once the turn succeeded: a retry adds it once
            reply = self._store(sid, outcome, t0)
            if user:
                from ragbot.chat.preferences import remember

                cat = self.listing_catalog()
                remember(self.users, user, question, outcome.listing, cat.cities if cat else (), sid, reply.message_id)
        from ragbot.state.turnlog import TurnRecord

        self.turnlog.record(TurnRecord.from_reply(reply, question, user_id=user, scope=scope_d))
        return reply

    def feedback(self, message_id: str, rating: str, reason: str | None = None, correction: str | None = None,
                 who: str | None = None):
        """Rate a bot reply by its message_id: rating "up" | "down"; reason one of wrong,
        incomplete, outdated, rude, should_handoff, other; an optional correction. Stored with the
        reply's question, text, sources, decision, signals and scope (state/feedback.py). Raises
        InputError naming the field for bad input, MessageNotFoundError for an unknown id."""
        return self.feedback_store.add(message_id, rating, reason, correction, who)

    def _check_question(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InputError("the question is empty; ask something, e.g. 'How much is the deposit?'")
        question = " ".join(question.split())
        limit = self.config.conversation.max_question_chars
        if len(question) > limit:
            raise InputError(f"the question has {len(question)} characters, more than the {limit} allowed; shorten it")
        return question

    def _session_for(self, session, scope, history, user) -> str:
        if session is not None and self.sessions.exists(check_session_id(session)):
            return session
        sid = self.new_session(session, scope=scope, user=user)
        for turn in history or ():
            self.sessions.append(sid, turn.role, turn.content)
        return sid

    def warm_up(self) -> "Bot":
        """Load the embedder, the generator and the urgency classifier now instead of on the first
        turn (the server calls this before it reports ready)."""
        self.kb.embedder.embed_query("warm up")
        if hasattr(self.generator, "warm_up"):
            self.generator.warm_up()
        self.urgency_classifier()
        return self

    def turn_context(self) -> TurnContext:
        """The collaborators a turn's steps use (chat/steps.TurnContext)."""
        return TurnContext(self.kb, self.generator, self.config, self.catalog(), self.urgency_classifier(),
                           self.overrides, self.listing_catalog())

    def listing_catalog(self):
        """The KB's listings for listing turns (chat/listings.ListingCatalog), cached per KB
        generation; None for a store without SQL (in memory)."""
        from ragbot.chat.listings import ListingCatalog

        gen = self.kb.generation
        if self._listings is None or self._listings[0] != gen:
            self._listings = (gen, ListingCatalog.of(self.kb) if gen is not None else None)
        return self._listings[1]

    def urgency_classifier(self):
        """The emergency classifier (chat/urgency.py), fitted once per Bot; None when disabled."""
        with self._lock:
            if self._urgency == "default":
                from ragbot.chat.urgency import UrgencyClassifier

                cache = self.kb.root or Path.home() / ".cache" / "ragbot"  # a Postgres or in-memory KB has no folder
                self._urgency = UrgencyClassifier.load_or_fit(self.kb.embedder, cache) if self.config.urgency else None
            return self._urgency

    def catalog(self) -> list[Group]:
        """Every group (scope value or source document) in the KB, cached per KB generation."""
        gen = self.kb.generation
        if self._catalog is None or self._catalog[0] != gen:
            groups: dict = {}
            for e in self.kb.source_catalog():
                g = group_for(e.source, e.doc_type, e.scope, e.metadata)
                prev = groups.get(g.key)  # a property's documents pool their aliases
                groups[g.key] = g if prev is None else replace(prev, aliases=tuple(dict.fromkeys(prev.aliases + g.aliases)))
            self._catalog = (gen, list(groups.values()))
        return self._catalog[1]

    def _handed_off_reply(self, sid: str, state: Mapping, t0: float, emit) -> Reply:
        text = prompts.handoff_message("normal", business_name=self.config.prompt.business_name)
        reason = (f"session already handed off (ticket {state.get('ticket_id')}); a person will reply. "
                  "Release the session to resume the bot.")
        emit(TokenEvent(text))
        emit(DecisionEvent(Decision.HANDOFF, "handed_off", 1.0, reason))
        reply = Reply(text=text, decision=Decision.HANDOFF, confidence=1.0, reason=reason, session_id=sid,
                      rule="handed_off", timings_ms={"total": _ms(t0)})
        return self._finish(sid, reply)

    def _store(self, sid: str, o: TurnOutcome, t0: float) -> Reply:
        res = o.result
        if o.listing is not None:
            from ragbot.chat.listings import persist

            self.sessions.update_state(sid, listing=persist(o.listing))
        self.sessions.update_state(sid, pending=o.pending, **({"focus": o.focus} if o.focus else {}),
                                   **({"scope": dict(o.scope)} if o.pending is None and res.decision is Decision.ANSWER
                                      and o.scope else {}))
        showing = (o.listing or {}).get("showing_request")
        ticket = self._handoff(sid, res, o.scope, showing, o.evidence) if res.decision is Decision.HANDOFF else None
        reply = Reply(text=o.text, decision=res.decision, confidence=res.confidence, reason=res.reason,
                      session_id=sid, sources=tuple(source_of(h) for h in o.hits), signals=res.signals,
                      ticket=ticket, timings_ms={**o.timings_ms, "total": _ms(t0)}, tokens=dict(o.tokens),
                      rule=res.rule, options=tuple(c.label for c in res.candidates))
        return self._finish(sid, reply)

    def _finish(self, sid: str, reply: Reply) -> Reply:
        mid = self.sessions.append(sid, "assistant", reply.text, reply.decision.value)
        return reply.with_message_id(mid)

    def _handoff(self, sid: str, res: GateResult, scope: Mapping[str, str], showing: Mapping | None = None,
                 evidence: tuple = ()) -> HandoffTicket:
        turns = self.sessions.turns(sid)
        ticket = HandoffTicket(ticket_id=uuid.uuid4().hex[:12], session_id=sid, reason=res.reason,
                               urgency=res.urgency or "normal", summary=summarize(turns, res.reason),
                               transcript=tuple(turns), scope=dict(scope), created_at=time.time(), rule=res.rule,
                               sources=tuple(source_of(h) for h in evidence))
        if showing:  # a showing request for leasing: the listing, availability, contact, preferences
            from ragbot.chat.showings import ShowingTicket, ticket_summary

            ticket = ShowingTicket(**{**vars(ticket), "summary": ticket_summary(showing)}, showing=dict(showing))
        self.sessions.update_state(sid, handed_off=True, ticket_id=ticket.ticket_id, pending=None)
        for handler in self.handlers:
            handler(ticket)
        return ticket


def _state_db(kb: KnowledgeBase):
    """state.sqlite in the KB directory; for a Postgres KB its state schema in the same database;
    in memory for an in-memory KB."""
    from ragbot.state.db import StateDB

    if kb.root is not None:
        return StateDB.for_kb(kb.root)
    if _on_postgres(kb):
        from ragbot.state.postgres import PostgresStateDB, state_schema

        return PostgresStateDB(kb.storage.dsn, schema=state_schema(kb.storage.schema))
    return StateDB(":memory:")


def _on_postgres(kb: KnowledgeBase) -> bool:
    return type(kb.storage).__name__ == "PostgresStorage"


def _is_postgres_state(state) -> bool:
    return type(state).__name__ == "PostgresStateDB"


def _default_sessions(kb: KnowledgeBase, state) -> SessionStore:
    """sessions.sqlite in the KB directory; the Postgres state database's sessions tables (shared
    by every process on that database); else in memory."""
    if kb.root is not None:
        return SessionStore(kb.root / "sessions.sqlite")
    if _is_postgres_state(state):
        from ragbot.state.postgres import postgres_session_store

        return postgres_session_store(state)
    return SessionStore(":memory:")


def _default_handlers(kb: KnowledgeBase, state) -> list:
    """handoffs.jsonl in the KB directory; the tickets table of a Postgres state database
    (the inbox of every worker); none for an in-memory KB."""
    if kb.root is not None:
        return [JsonlHandoffHandler(kb.root / "handoffs.jsonl")]
    if _is_postgres_state(state):
        from ragbot.state.tickets import TicketStore

        return [TicketStore(state)]
    return []


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
