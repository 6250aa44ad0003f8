"""Bot: thin orchestration of retrieval, the FAQ fast path, generation and the confidence gate.

    bot = Bot.open("kb")
    reply = bot.ask("How much is the deposit?", scope={"property": "oak-street"})
    reply.decision, reply.text, reply.sources, reply.reason

One turn (DESIGN.md): intents -> (pending clarification) -> query rewriting -> retrieval with
scope / named-document filtering -> ambiguity -> FAQ fast path -> prompt -> generation ->
quote selection and groundedness -> gate -> Reply (and a HandoffTicket on HANDOFF).
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from typing import Callable, Iterator, Mapping, Sequence


from ragbot.chat import prompts
from ragbot.config import BotConfig
from ragbot.chat.conversation import HandoffHandler, JsonlHandoffHandler, SessionStore, summarize
from ragbot.errors import InputError
from ragbot.kb import KnowledgeBase
from ragbot.chat.retrieval import Group, group_for
from ragbot.kb.scope import check_scope
from ragbot.types import Decision, HandoffTicket, Reply, Turn


class Bot:
    """A retrieval-augmented assistant over one knowledge base.

    Construction is cheap; the embedder and the GGUF model load on first use. `handlers` receive
    every HandoffTicket (default: append to handoffs.jsonl in the KB directory).
    """

    def __init__(self, kb: KnowledgeBase, config: BotConfig | None = None, generator=None,
                 handlers: Sequence[HandoffHandler] | None = None, sessions: SessionStore | None = None):
        self.kb = kb
        self.config = config or BotConfig()
        if generator is None:
            from ragbot.generators import LlamaCppGenerator

            generator = LlamaCppGenerator(self.config.generator)
        self.generator = generator
        self.sessions = sessions or SessionStore(kb.root / "sessions.sqlite")
        self.handlers = list(handlers) if handlers is not None else [JsonlHandoffHandler(kb.root / "handoffs.jsonl")]
        self._catalog: tuple[int | None, list[Group]] | None = None
        # ragbot.tune.calibration.record_cases only: while set (a cosine window), turns collect every
        # competing group within it as signals and never stop to clarify, so any ambiguity_margin
        # up to the window can be replayed. None in normal use.
        self.ambiguity_window: float | None = None

    @classmethod
    def open(cls, kb_dir: str | os.PathLike, config: BotConfig | None = None, **kwargs) -> "Bot":
        """Open the KB at `kb_dir` with `config` (default: the KB's config.json, else defaults).
        Raises KnowledgeBaseError when there is no KB, ModelNotFoundError for a missing model."""
        config = config or BotConfig.load(kb_dir)
        embedder = kwargs.pop("embedder", None)
        kb = KnowledgeBase.open(kb_dir, config=config, embedder=embedder)
        return cls(kb, config=config, **kwargs)

    # ------------------------------------------------------------------ sessions
    def new_session(self, session_id: str | None = None, scope: Mapping[str, str] | None = None) -> str:
        return self.sessions.create(session_id, scope=check_scope(scope))

    def release(self, session_id: str) -> None:
        """Hand a session back to the bot after a person has dealt with its handoff."""
        self.sessions.state(session_id)
        self.sessions.release(session_id)

    def history(self, session_id: str) -> list[Turn]:
        self.sessions.state(session_id)
        return self.sessions.turns(session_id)

    # ------------------------------------------------------------------ turns
    def stream(self, question: str, session: str | None = None, scope: Mapping[str, str] | None = None
               ) -> Iterator[str | Reply]:
        """Like `ask`, but yields the model's text pieces as they are generated, then the Reply
        (always last). The final Reply.text may differ from the streamed draft (quote-first)."""
        q: queue.Queue = queue.Queue()
        result: dict = {}

        def run():
            try:
                result["reply"] = self.ask(question, session=session, scope=scope, on_token=q.put)
            except BaseException as e:  # re-raised in the caller's thread
                result["error"] = e
            finally:
                q.put(None)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        while (piece := q.get()) is not None:
            yield piece
        t.join()
        if "error" in result:
            raise result["error"]
        yield result["reply"]

    def ask(self, question: str, session: str | None = None, scope: Mapping[str, str] | None = None,
            history: Sequence[Turn] | None = None, on_token: Callable[[str], None] | None = None) -> Reply:
        """Answer one user message. Returns a Reply (see types.Reply).

        session: an existing session id (SessionNotFoundError if unknown); None starts a new one
        (its id is in Reply.session_id). scope: key=value filters (e.g. {"property": "oak-street"}),
        merged over the session's scope. history: extra prior turns for a new session (eval files).
        Raises InputError for an empty or oversized question."""
        t0 = time.perf_counter()
        if not isinstance(question, str) or not question.strip():
            raise InputError("the question is empty; ask something, e.g. 'How much is the deposit?'")
        question = " ".join(question.split())
        limit = self.config.conversation.max_question_chars
        if len(question) > limit:
            raise InputError(f"the question has {len(question)} characters, more than the {limit} allowed; shorten it")
        if session is None:
            sid = self.new_session(scope=scope)
            for turn in history or ():
                self.sessions.append(sid, turn.role, turn.content)
        else:
            sid = session
        state = self.sessions.state(sid)
        scope_d = {**state.get("scope", {}), **check_scope(scope)}
        turns = self.sessions.turns(sid)
        self.sessions.append(sid, "user", question)
        if state.get("handed_off"):
            return self._finish(sid, Reply(
                text=prompts.handoff_message("normal"), decision=Decision.HANDOFF, confidence=1.0,
                reason=f"session already handed off (ticket {state.get('ticket_id')}); a person will reply. "
                       "Release the session to resume the bot.", session_id=sid, rule="handed_off",
                timings_ms={"total": _ms(t0)}))
        from ragbot.chat.turn import run_turn

        return run_turn(self, sid, question, turns, state, scope_d, t0, on_token)

    # ------------------------------------------------------------------ helpers for turn.py
    def catalog(self) -> list[Group]:
        """Every group (scope value or source document) in the KB, cached per KB generation."""
        gen = self.kb.generation
        if self._catalog is None or self._catalog[0] != gen:
            seen, groups = set(), []
            for e in self.kb.source_catalog():
                g = group_for(e.source, e.doc_type, e.scope, e.metadata)
                if g.key not in seen:
                    seen.add(g.key)
                    groups.append(g)
            self._catalog = (gen, groups)
        return self._catalog[1]

    def _finish(self, sid: str, reply: Reply) -> Reply:
        self.sessions.append(sid, "assistant", reply.text, reply.decision.value)
        return reply

    def _handoff(self, sid: str, reason: str, urgency: str, scope: Mapping[str, str]) -> HandoffTicket:
        turns = self.sessions.turns(sid)
        ticket = HandoffTicket(ticket_id=uuid.uuid4().hex[:12], session_id=sid, reason=reason, urgency=urgency,
                               summary=summarize(turns, reason), transcript=tuple(turns), scope=dict(scope),
                               created_at=time.time())
        self.sessions.update_state(sid, handed_off=True, ticket_id=ticket.ticket_id, pending=None)
        for handler in self.handlers:
            handler(ticket)
        return ticket


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
