"""The conversation API the web widget uses: /api/conversations and message feedback.

A client key sees only the conversations it created (`OwnerStore`); agent and admin keys see all
(an agent key with a scope: those whose scope it covers)."""

from __future__ import annotations

import json
import time
from typing import Literal, Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ragbot.server import turns
from ragbot.server.auth import Principal, authenticate, effective_scope, scope_covers
from ragbot.server.errors import ApiError
from ragbot.state.db import StateDB

_SCHEMA = """
CREATE TABLE IF NOT EXISTS server_conversations (session_id TEXT PRIMARY KEY, key_id TEXT NOT NULL,
    scope TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS server_message_meta (message_id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
    meta TEXT NOT NULL, created_at REAL NOT NULL);
"""


class OwnerStore:
    """Which key started each conversation, and per message what the session store does not keep:
    a bot reply's sources and options, a person's display name (tables in the KB's state.sqlite)."""

    def __init__(self, db: StateDB):
        self.db = db
        db.executescript(_SCHEMA)

    def add(self, session_id: str, key_id: str, scope: dict) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO server_conversations VALUES (?, ?, ?, ?)",
                         (session_id, key_id, json.dumps(scope), time.time()))

    def owner(self, session_id: str) -> tuple[str, dict] | None:
        rows = self.db.query("SELECT key_id, scope FROM server_conversations WHERE session_id = ?", (session_id,))
        return (rows[0]["key_id"], json.loads(rows[0]["scope"])) if rows else None

    def add_meta(self, message_id: str, session_id: str, meta: dict) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO server_message_meta VALUES (?, ?, ?, ?)",
                         (message_id, session_id, json.dumps(meta), time.time()))

    def session_of(self, message_id: str) -> str | None:
        rows = self.db.query("SELECT session_id FROM server_message_meta WHERE message_id = ?", (message_id,))
        return rows[0]["session_id"] if rows else None

    def meta(self, session_id: str) -> dict[str, dict]:
        rows = self.db.query("SELECT message_id, meta FROM server_message_meta WHERE session_id = ?", (session_id,))
        return {r["message_id"]: json.loads(r["meta"]) for r in rows}


class NewConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Optional[dict[str, str]] = None


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    stream: bool = False
    user: Optional[str] = None


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Literal["up", "down"]
    reason: Optional[str] = Field(None, max_length=200)
    correction: Optional[str] = Field(None, max_length=4000)


def check_access(state, principal: Principal, session_id: str) -> dict:
    """The conversation's stored scope; ApiError 404 when it does not exist for this key."""
    owner = state.owners.owner(session_id)
    missing = ApiError(404, f"unknown conversation {session_id!r}; start one with POST /api/conversations",
                       "conversation_not_found")
    if owner is None:
        if principal.open_mode or principal.key.role == "admin":
            if state.bot.sessions.exists(session_id):
                return {}
        raise missing
    key_id, scope = owner
    if principal.is_client and key_id != principal.key.key_id:
        raise missing
    if principal.key.role == "agent" and not scope_covers(principal, scope):
        raise missing
    return scope


def messages(st, session_id: str) -> list[dict]:
    """The transcript: [{message_id, role, content, decision, created_at}] plus, for bot replies,
    sources and options, and for a person's messages, name."""
    meta = st.owners.meta(session_id)
    out = []
    for m in st.bot.sessions.messages(session_id):
        extra = meta.get(m.get("message_id") or "", {})
        if m["role"] == "assistant":
            m = {**m, "sources": extra.get("sources", []), "options": extra.get("options", [])}
        elif m["role"] == "agent":
            m = {**m, "name": extra.get("name")}
        out.append(m)
    return out


def router() -> APIRouter:
    r = APIRouter(prefix="/api")

    @r.post("/conversations", status_code=201)
    def create(request: Request, body: Optional[NewConversation] = None, p: Principal = Depends(authenticate)):
        from ragbot.chat.prompts import ai_disclosure_message

        st = request.app.state.ragbot
        scope = effective_scope(p, body.scope if body else None)
        turns.check_rate(st, p.key.key_id, None)
        sid = st.bot.new_session(scope=scope)
        st.owners.add(sid, p.key.key_id, scope)
        request.state.log = {**request.state.log, "session": sid}
        return {"session_id": sid, "disclosure": ai_disclosure_message(st.bot.config.prompt)}

    @r.get("/conversations/{session_id}")
    def transcript(session_id: str, request: Request, p: Principal = Depends(authenticate)):
        st = request.app.state.ragbot
        check_access(st, p, session_id)
        state = st.bot.sessions.state(session_id)
        ticket = st.tickets.for_session(session_id)
        return {"session_id": session_id, "handed_off": bool(state.get("handed_off")),
                "ticket_id": ticket.ticket_id if ticket else None,
                "ticket_status": ticket.status if ticket else None, "messages": messages(st, session_id)}

    @r.post("/conversations/{session_id}/messages")
    async def message(session_id: str, body: NewMessage, request: Request, p: Principal = Depends(authenticate)):
        st = request.app.state.ragbot
        scope = check_access(st, p, session_id)
        text = turns.check_question(st, body.text)
        turns.check_rate(st, p.key.key_id, session_id)
        req = turns.TurnRequest(text, session_id, scope, user=body.user)
        if not body.stream:
            reply = await turns.ask(st, req)
            turns.log_fields(request, reply)
            return JSONResponse(turns.reply_object(reply))
        first, rest = await turns.first_then_rest(turns.events(st, req))
        return StreamingResponse(_sse(request, first, rest), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @r.post("/messages/{message_id}/feedback")
    def feedback(message_id: str, body: Feedback, request: Request, p: Principal = Depends(authenticate)):
        st = request.app.state.ragbot
        sid = st.owners.session_of(message_id)
        if sid is None:
            raise ApiError(404, f"unknown message {message_id!r}; rate a reply's message_id", "message_not_found")
        check_access(st, p, sid)
        fb = st.feedback.add(message_id, body.rating, body.reason, body.correction, who=p.key.name)
        return {"message_id": message_id, "rating": fb.rating, "feedback_id": fb.feedback_id}

    return r


async def _sse(request, first, rest):
    """token / sources / decision / reply frames; an error after the stream started is an
    `error` frame (the HTTP status is already sent)."""
    from ragbot.server.errors import error_body

    item = first
    try:
        while item is not turns._END:
            yield _frame(request, item)
            try:
                item = await rest.__anext__()
            except StopAsyncIteration:
                break
    except ApiError as e:
        yield turns.sse("error", e.body())
    except Exception as e:
        yield turns.sse("error", error_body(503 if hasattr(e, "retry_after_s") else 500, str(e)))


def _frame(request, ev) -> bytes:
    name = type(ev).__name__
    if name == "TokenEvent":
        return turns.sse("token", {"text": ev.text})
    if name == "SourcesEvent":
        return turns.sse("sources", {"sources": [s.to_dict() for s in ev.sources]})
    if name == "DecisionEvent":
        return turns.sse("decision", {"decision": ev.decision.value, "rule": ev.rule,
                                      "confidence": round(float(ev.confidence), 4), "reason": ev.reason})
    turns.log_fields(request, ev.reply)
    return turns.sse("reply", turns.reply_object(ev.reply))
