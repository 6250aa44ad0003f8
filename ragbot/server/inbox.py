"""The handoff inbox API (agent and admin keys): list, read, assign, reply to and resolve tickets.

Lifecycle: bot -> open (the gate hands off) -> assigned -> resolved -> bot (the session is
released, so the customer's next message is answered by the bot again)."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from ragbot.server.auth import Principal, authenticate, scope_covers
from ragbot.server.errors import ApiError
from ragbot.state.tickets import STATUSES, TicketNotFoundError, TicketStateError


class AgentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


def _agent(request: Request, p: Principal = Depends(authenticate)) -> Principal:
    return p.require("agent")


def _ticket(st, p: Principal, ticket_id: str):
    try:
        rec = st.tickets.get(ticket_id)
    except TicketNotFoundError:
        rec = None
    if rec is None or not scope_covers(p, rec.scope):
        raise ApiError(404, f"unknown ticket {ticket_id!r}", "ticket_not_found")
    return rec


def _detail(st, rec) -> dict:
    from ragbot.server.conversations import messages

    d = rec.to_dict(full=True)
    if st.bot.sessions.exists(rec.session_id):  # else keep the transcript frozen at handoff time
        d["transcript"] = messages(st, rec.session_id)
    d["events"] = st.tickets.events(rec.ticket_id)
    d["messages"] = st.tickets.messages(rec.ticket_id)
    return d


def _move(st, fn, ticket_id: str, who: str):
    try:
        return fn(ticket_id, by=who)
    except TicketStateError as e:
        raise ApiError(409, str(e), "ticket_state") from e


def router() -> APIRouter:
    r = APIRouter(prefix="/api/tickets")

    @r.get("")
    def list_tickets(request: Request, status: Optional[str] = None, p: Principal = Depends(_agent)):
        st = request.app.state.ragbot
        if status is not None and status not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}, got {status!r}", "invalid_status")
        return {"tickets": [t.to_dict() for t in st.tickets.list(status) if scope_covers(p, t.scope)]}

    @r.get("/{ticket_id}")
    def get_ticket(ticket_id: str, request: Request, p: Principal = Depends(_agent)):
        st = request.app.state.ragbot
        return _detail(st, _ticket(st, p, ticket_id))

    @r.post("/{ticket_id}/assign")
    def assign(ticket_id: str, request: Request, p: Principal = Depends(_agent)):
        st = request.app.state.ragbot
        _ticket(st, p, ticket_id)
        return _detail(st, _move(st, st.tickets.assign, ticket_id, p.key.name))

    @r.post("/{ticket_id}/messages")
    def reply(ticket_id: str, body: AgentMessage, request: Request, p: Principal = Depends(_agent)):
        st = request.app.state.ragbot
        rec = _ticket(st, p, ticket_id)
        text = " ".join((body.text or "").split())
        if not text:
            raise ApiError(422, "text is empty; write the reply to send to the customer", "empty_text")
        if len(text) > st.bot.config.conversation.max_question_chars * 2:
            raise ApiError(422, "the reply is too long; split it into shorter messages", "text_too_long")
        try:
            st.tickets.add_message(ticket_id, p.key.name, text)
        except TicketStateError as e:
            raise ApiError(409, str(e), "ticket_state") from e
        with st.session_locks.hold(rec.session_id):
            mid = st.bot.sessions.append(rec.session_id, "agent", text)
        st.owners.add_meta(mid, rec.session_id, {"name": p.key.name})
        request.state.log = {**request.state.log, "session": rec.session_id}
        return _detail(st, st.tickets.get(ticket_id))

    @r.post("/{ticket_id}/resolve")
    def resolve(ticket_id: str, request: Request, p: Principal = Depends(_agent)):
        st = request.app.state.ragbot
        rec = _ticket(st, p, ticket_id)
        rec = _move(st, st.tickets.resolve, ticket_id, p.key.name)
        with st.session_locks.hold(rec.session_id):
            st.bot.release(rec.session_id)
        return _detail(st, rec)

    return r
