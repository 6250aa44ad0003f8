"""Retention and data-subject requests over everything that holds a conversation's text:

- the state store (`state.sqlite`): `turn_log`, `feedback`, and the ticket tables of
  `ragbot.state.tickets` (`tickets`, `ticket_events`, `ticket_messages`) when present;
- the session store (ragbot.chat.conversation.SessionStore tables `sessions`, `turns`): the
  KB's `sessions.sqlite`, or the state store itself when it holds those tables (PostgreSQL);
- `handoffs.jsonl` (the default handoff handler's log).

`purge(older_than_days, mode)` acts on whole conversations whose last activity is older than
the cutoff: mode "drop" deletes them everywhere; mode "scrub" replaces the PII in their texts
by placeholders (ragbot.tune.data.pii.scrub) and keeps the rest (the turn log is already
scrubbed when written). `export(session_id=..., user_id=...)` returns everything stored about
a conversation or a user as one JSON-serialisable dict; `delete(...)` removes it everywhere.
A user's conversations are the sessions the turn log records under that user id.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ragbot.errors import InputError
from ragbot.state.db import StateDB
from ragbot.state.feedback import FeedbackStore
from ragbot.state.turnlog import TurnLog, scrub_text

MODES = ("scrub", "drop")
_TICKET_TABLES = ("tickets", "ticket_events", "ticket_messages")


@dataclass(frozen=True)
class RetentionReport:
    """What one purge or delete did. action: "purge-scrub" | "purge-drop" | "delete";
    sessions: conversations acted on; rows: rows (or lines) changed or deleted per store."""

    action: str
    sessions: int
    rows: Mapping[str, int]
    cutoff: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "sessions": self.sessions, "rows": dict(self.rows), "cutoff": self.cutoff}


def _tables(db) -> set[str]:
    """Table names of a StateDB-like store (PostgresStateDB translates this statement)."""
    return {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}


class Transcripts:
    """The conversation stores of one KB directory (see the module docstring).

    db: the StateDB (or PostgresStateDB); sessions: a StateDB-like store holding the
    SessionStore tables (None: none); handoffs_path: the handoffs JSONL (None: none)."""

    def __init__(self, db: StateDB, sessions=None, handoffs_path: str | Path | None = None):
        self.db = db
        self.turnlog = TurnLog(db)
        self.feedback = FeedbackStore(db, self.turnlog)
        self.sessions = sessions if sessions is not None and {"sessions", "turns"} <= _tables(sessions) else None
        self.handoffs_path = Path(handoffs_path) if handoffs_path else None

    @classmethod
    def for_kb(cls, kb_root: str | Path, db: StateDB | None = None) -> "Transcripts":
        """The stores of the KB directory `kb_root`: `db` (default its state.sqlite), its
        sessions.sqlite when present (else the sessions tables in `db`), its handoffs.jsonl."""
        root = Path(kb_root)
        db = db or StateDB.for_kb(root)
        path = root / "sessions.sqlite"
        return cls(db, StateDB(path) if path.is_file() else db, root / "handoffs.jsonl")

    # ------------------------------------------------------------------ which sessions
    def session_ids(self, session_id: str | None = None, user_id: str | None = None) -> list[str]:
        """[session_id], or the sessions of `user_id`; InputError unless exactly one is given."""
        if (session_id is None) == (user_id is None):
            raise InputError("give exactly one of --session ID or --user ID")
        if session_id is not None:
            return [session_id]
        return self.turnlog.session_ids(user_id=user_id)

    def stale_sessions(self, cutoff: float) -> list[str]:
        """Sessions whose last activity (turn log, session store) is before `cutoff` (Unix s)."""
        last: dict[str, float] = {r[0]: r[1] for r in self.db.query(
            "SELECT session_id, MAX(ts) FROM turn_log GROUP BY session_id")}
        if self.sessions is not None:
            for r in self.sessions.query("SELECT id, updated_at FROM sessions"):
                last[r[0]] = max(last.get(r[0], 0.0), r[1] or 0.0)
        return sorted(s for s, t in last.items() if t < cutoff)

    # ------------------------------------------------------------------ actions
    def purge(self, older_than_days: float, mode: str = "scrub", now: float | None = None) -> RetentionReport:
        """Scrub or drop the conversations idle for more than `older_than_days` days.
        Raises InputError for a negative age or an unknown mode."""
        if mode not in MODES:
            raise InputError(f"mode must be one of {MODES}, got {mode!r}")
        if not isinstance(older_than_days, (int, float)) or older_than_days < 0:
            raise InputError(f"older_than_days must be a number >= 0, got {older_than_days!r}")
        cutoff = (time.time() if now is None else now) - float(older_than_days) * 86400.0
        sids = self.stale_sessions(cutoff)
        if mode == "drop":
            rows = self._delete(sids)
        else:
            rows = self._scrub(sids)
        return RetentionReport(f"purge-{mode}", len(sids), rows, cutoff)

    def delete(self, session_id: str | None = None, user_id: str | None = None) -> RetentionReport:
        """Delete one conversation, or every conversation of a user, from every store."""
        sids = self.session_ids(session_id, user_id)
        return RetentionReport("delete", len(sids), self._delete(sids))

    def export(self, session_id: str | None = None, user_id: str | None = None) -> dict[str, Any]:
        """Everything stored about one conversation or one user: {"sessions": [{"session_id",
        "turns" (turn log records), "feedback", "transcript" (session store turns), "tickets",
        "handoffs"}]}, JSON-serialisable."""
        out = []
        for sid in self.session_ids(session_id, user_id):
            recs = self.turnlog.records(session_id=sid)
            fb = [f.to_dict() for r in recs for f in self.feedback.for_message(r.message_id)]
            out.append({"session_id": sid, "turns": [r.to_dict() for r in recs], "feedback": fb,
                        "transcript": self._transcript(sid), "tickets": self._tickets(sid),
                        "handoffs": [t for t in self._handoff_lines() if t.get("session_id") == sid]})
        return {"user_id": user_id, "sessions": out}

    # ------------------------------------------------------------------ per store
    def _transcript(self, sid: str) -> list[dict]:
        if self.sessions is None:
            return []
        return [dict(r) for r in self.sessions.query("SELECT role, content, decision, created_at FROM turns "
                                                     "WHERE session_id = ? ORDER BY idx", (sid,))]

    def _tickets(self, sid: str) -> list[dict]:
        if "tickets" not in _tables(self.db):
            return []
        out = []
        for r in self.db.query("SELECT * FROM tickets WHERE session_id = ?", (sid,)):
            t = dict(r)
            t["messages"] = [dict(m) for m in self.db.query("SELECT * FROM ticket_messages WHERE ticket_id = ?",
                                                            (t["ticket_id"],))]
            out.append(t)
        return out

    def _delete(self, sids: list[str]) -> dict[str, int]:
        rows: dict[str, int] = {}
        mids = [m for s in sids for m in (r.message_id for r in self.turnlog.records(session_id=s))]
        rows["feedback"] = self.feedback.delete_for_messages(mids)
        rows["turn_log"] = self.turnlog.delete_sessions(sids)
        if set(_TICKET_TABLES) <= _tables(self.db):
            with self.db.transaction() as c:
                n = 0
                for s in sids:
                    ids = [r[0] for r in c.execute("SELECT ticket_id FROM tickets WHERE session_id = ?", (s,))]
                    for t in ids:
                        c.execute("DELETE FROM ticket_events WHERE ticket_id = ?", (t,))
                        c.execute("DELETE FROM ticket_messages WHERE ticket_id = ?", (t,))
                    n += c.execute("DELETE FROM tickets WHERE session_id = ?", (s,)).rowcount
                rows["tickets"] = n
        if self.sessions is not None:
            with self.sessions.transaction() as c:
                rows["session_turns"] = sum(c.execute("DELETE FROM turns WHERE session_id = ?", (s,)).rowcount
                                            for s in sids)
                rows["sessions"] = sum(c.execute("DELETE FROM sessions WHERE id = ?", (s,)).rowcount for s in sids)
        rows["handoffs"] = self._rewrite_handoffs(set(sids), None)
        return rows

    def _scrub(self, sids: list[str]) -> dict[str, int]:
        rows: dict[str, int] = {}
        mids = [r.message_id for s in sids for r in self.turnlog.records(session_id=s)]
        n = 0
        for m in mids:
            for f in self.feedback.for_message(m):
                if f.correction and scrub_text(f.correction) != f.correction:
                    with self.db.transaction() as c:
                        c.execute("UPDATE feedback SET correction = ? WHERE feedback_id = ?",
                                  (scrub_text(f.correction), f.feedback_id))
                    n += 1
        rows["feedback"] = n
        if set(_TICKET_TABLES) <= _tables(self.db):
            rows["tickets"] = self._scrub_tickets(sids)
        if self.sessions is not None:
            n = 0
            with self.sessions.transaction() as c:
                for s in sids:
                    for r in c.execute("SELECT idx, content FROM turns WHERE session_id = ?", (s,)).fetchall():
                        new = scrub_text(r[1])
                        if new != r[1]:
                            c.execute("UPDATE turns SET content = ? WHERE session_id = ? AND idx = ?", (new, s, r[0]))
                            n += 1
            rows["session_turns"] = n
        rows["handoffs"] = self._rewrite_handoffs(set(sids), _scrub_ticket_dict)
        return rows

    def _scrub_tickets(self, sids: list[str]) -> int:
        n = 0
        with self.db.transaction() as c:
            for s in sids:
                for r in c.execute("SELECT ticket_id, summary, transcript FROM tickets WHERE session_id = ?",
                                   (s,)).fetchall():
                    transcript = json.dumps(_scrub_json(json.loads(r[2])), ensure_ascii=False)
                    summary = scrub_text(r[1] or "")
                    if transcript != r[2] or summary != (r[1] or ""):
                        c.execute("UPDATE tickets SET summary = ?, transcript = ? WHERE ticket_id = ?",
                                  (summary, transcript, r[0]))
                        n += 1
                    for m in c.execute("SELECT rowid, text FROM ticket_messages WHERE ticket_id = ?", (r[0],)).fetchall():
                        if scrub_text(m[1]) != m[1]:
                            c.execute("UPDATE ticket_messages SET text = ? WHERE rowid = ?", (scrub_text(m[1]), m[0]))
        return n

    def _handoff_lines(self) -> list[dict]:
        if self.handoffs_path is None or not self.handoffs_path.is_file():
            return []
        out = []
        for line in self.handoffs_path.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def _rewrite_handoffs(self, sids: set[str], change: Callable[[dict], dict] | None) -> int:
        """Drop (change None) or change the handoff lines of `sids`; returns lines affected."""
        lines = self._handoff_lines()
        hit = [t for t in lines if t.get("session_id") in sids]
        if not hit:
            return 0
        from ragbot.util import atomic_write_text

        kept = [t if t.get("session_id") not in sids else change(t) for t in lines
                if change is not None or t.get("session_id") not in sids]
        atomic_write_text(self.handoffs_path, "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in kept))
        return len(hit)


def _scrub_json(obj: Any) -> Any:
    from ragbot.state.turnlog import scrub_value

    return scrub_value(obj)


def _scrub_ticket_dict(t: dict) -> dict:
    return {k: (_scrub_json(v) if k in ("summary", "transcript") else v) for k, v in t.items()}


__all__ = ["MODES", "RetentionReport", "Transcripts"]
