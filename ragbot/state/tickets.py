"""Handoff tickets and their lifecycle: bot -> open -> assigned -> resolved -> bot.

    tickets = TicketStore(StateDB.for_kb("kb"))
    bot = Bot.open("kb", handlers=[tickets])          # every HandoffTicket is stored as "open"
    tickets.assign(tid, by="alice"); tickets.add_message(tid, "alice", "On my way")
    tickets.resolve(tid, by="alice")                  # the caller then releases the session

Tables: `tickets` (one row per ticket, with a timestamp per transition), `ticket_events`
(status, at, by: every transition) and `ticket_messages` (the person's replies).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from ragbot.errors import InputError, RagbotError
from ragbot.state.db import StateDB, query_one
from ragbot.types import HandoffTicket

STATUSES = ("open", "assigned", "resolved")
_NEXT = {"assign": ("open",), "resolve": ("open", "assigned"), "message": ("open", "assigned")}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, urgency TEXT,
    summary TEXT, scope TEXT NOT NULL, transcript TEXT NOT NULL, sources TEXT NOT NULL,
    created_at REAL NOT NULL, assigned_at REAL, assigned_to TEXT, resolved_at REAL, resolved_by TEXT);
CREATE INDEX IF NOT EXISTS tickets_status ON tickets(status, created_at);
CREATE INDEX IF NOT EXISTS tickets_session ON tickets(session_id);
CREATE TABLE IF NOT EXISTS ticket_events (ticket_id TEXT NOT NULL, status TEXT NOT NULL, at REAL NOT NULL, by TEXT);
CREATE TABLE IF NOT EXISTS ticket_messages (ticket_id TEXT NOT NULL, author TEXT, text TEXT NOT NULL, at REAL NOT NULL);
"""


class TicketNotFoundError(InputError, KeyError):
    """No ticket with that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown ticket"


class TicketStateError(RagbotError):
    """A transition the lifecycle does not allow (e.g. resolving a resolved ticket)."""


@dataclass(frozen=True)
class TicketRecord:
    """A stored ticket. Times are Unix seconds; None = that transition has not happened.
    transcript: [{role, content}] at handoff time; sources: [{source, page, score, doc_type}]."""

    ticket_id: str
    session_id: str
    status: str
    reason: str
    urgency: str
    summary: str
    scope: Mapping[str, str] = field(default_factory=dict)
    transcript: tuple[Mapping[str, str], ...] = ()
    sources: tuple[Mapping[str, Any], ...] = ()
    created_at: float = 0.0
    assigned_at: float | None = None
    assigned_to: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("ticket_id", "session_id", "status", "reason", "urgency", "summary",
                                           "created_at", "assigned_at", "assigned_to", "resolved_at", "resolved_by")}
        d["scope"] = dict(self.scope)
        if full:
            d["transcript"] = [dict(t) for t in self.transcript]
            d["sources"] = [dict(s) for s in self.sources]
        return d


class TicketStore:
    """Tickets in a StateDB. Callable as a Bot handoff handler: `store(ticket)` stores it as open."""

    def __init__(self, db: StateDB):
        self.db = db
        db.executescript(_SCHEMA)

    def __call__(self, ticket: HandoffTicket) -> None:
        self.add(ticket)

    def add(self, ticket: HandoffTicket) -> TicketRecord:
        """Store a new ticket as open (idempotent per ticket_id)."""
        d = ticket.to_dict()
        sources = [s.to_dict() if hasattr(s, "to_dict") else dict(s) for s in getattr(ticket, "sources", ()) or ()]
        created = ticket.created_at or time.time()
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO tickets (ticket_id, session_id, status, reason, urgency, summary, scope, "
                "transcript, sources, created_at) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)",
                (ticket.ticket_id, ticket.session_id, ticket.reason, ticket.urgency, ticket.summary,
                 json.dumps(d["scope"]), json.dumps(d["transcript"]), json.dumps(sources), created))
            if cur.rowcount:
                conn.execute("INSERT INTO ticket_events VALUES (?, 'open', ?, 'bot')", (ticket.ticket_id, created))
        return self.get(ticket.ticket_id)

    def get(self, ticket_id: str) -> TicketRecord:
        return _record(query_one(self.db, "SELECT * FROM tickets WHERE ticket_id = ?", (ticket_id,),
                                 TicketNotFoundError(f"unknown ticket {ticket_id!r}")))

    def list(self, status: str | None = None, limit: int = 200) -> list[TicketRecord]:
        """Tickets, newest first; `status` one of STATUSES or None for all."""
        if status is not None and status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        sql, args = "SELECT * FROM tickets", []
        if status:
            sql, args = sql + " WHERE status = ?", [status]
        rows = self.db.query(sql + " ORDER BY created_at DESC LIMIT ?", (*args, int(limit)))
        return [_record(r) for r in rows]

    def for_session(self, session_id: str) -> TicketRecord | None:
        """The session's newest ticket, or None."""
        rows = self.db.query("SELECT * FROM tickets WHERE session_id = ? ORDER BY created_at DESC LIMIT 1",
                             (session_id,))
        return _record(rows[0]) if rows else None

    def events(self, ticket_id: str) -> list[dict[str, Any]]:
        """Every transition: [{status, at, by}] oldest first."""
        rows = self.db.query("SELECT status, at, by FROM ticket_events WHERE ticket_id = ? ORDER BY at, rowid",
                             (ticket_id,))
        return [dict(r) for r in rows]

    def messages(self, ticket_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT author, text, at FROM ticket_messages WHERE ticket_id = ? ORDER BY at, rowid",
                             (ticket_id,))
        return [dict(r) for r in rows]

    def assign(self, ticket_id: str, by: str) -> TicketRecord:
        """open -> assigned. Raises TicketStateError otherwise."""
        return self._move(ticket_id, "assign", "assigned", by)

    def resolve(self, ticket_id: str, by: str) -> TicketRecord:
        """open|assigned -> resolved. The caller gives the session back to the bot (Bot.release)."""
        return self._move(ticket_id, "resolve", "resolved", by)

    def add_message(self, ticket_id: str, author: str, text: str) -> TicketRecord:
        """Record a person's reply; an open ticket becomes assigned to `author`."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("text is empty; write the reply to send to the customer")
        rec = self._check(ticket_id, "message")
        if rec.status == "open":
            rec = self.assign(ticket_id, by=author)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO ticket_messages VALUES (?, ?, ?, ?)", (ticket_id, author, text.strip(), time.time()))
        return rec

    def _check(self, ticket_id: str, action: str) -> TicketRecord:
        rec = self.get(ticket_id)
        if rec.status not in _NEXT[action]:
            raise TicketStateError(f"ticket {ticket_id} is {rec.status}; cannot {action} it "
                                   f"(allowed from: {', '.join(_NEXT[action])})")
        return rec

    def _move(self, ticket_id: str, action: str, status: str, by: str) -> TicketRecord:
        now = time.time()
        column = "assigned" if status == "assigned" else "resolved"
        who = "assigned_to" if status == "assigned" else "resolved_by"
        with self.db.transaction() as conn:
            self._check(ticket_id, action)  # inside the transaction: no two agents move it at once
            conn.execute(f"UPDATE tickets SET status = ?, {column}_at = ?, {who} = ? WHERE ticket_id = ?",
                         (status, now, by, ticket_id))
            conn.execute("INSERT INTO ticket_events VALUES (?, ?, ?, ?)", (ticket_id, status, now, by))
        return self.get(ticket_id)


def _record(row) -> TicketRecord:
    return TicketRecord(
        ticket_id=row["ticket_id"], session_id=row["session_id"], status=row["status"], reason=row["reason"] or "",
        urgency=row["urgency"] or "normal", summary=row["summary"] or "", scope=json.loads(row["scope"]),
        transcript=tuple(json.loads(row["transcript"])), sources=tuple(json.loads(row["sources"])),
        created_at=row["created_at"], assigned_at=row["assigned_at"], assigned_to=row["assigned_to"],
        resolved_at=row["resolved_at"], resolved_by=row["resolved_by"])
