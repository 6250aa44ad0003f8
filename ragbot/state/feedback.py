"""Feedback on bot replies, by message_id (table `feedback` in the state store).

A rating (up | down), an optional reason (REASONS), an optional correction (the answer the bot
should have given) and who gave it. The reply itself (question, text, sources, decision,
signals, scope) is in the turn log (`ragbot.state.turnlog`), joined by message_id. Several
feedback rows per message are allowed (a user's thumb, then an agent's correction).

Corrections are stored as written: an agent's correction may carry the office's phone number on
purpose, and an approved correction is served verbatim as an override. Everything built from
feedback for people or models (the report, the exports) scrubs them again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Sequence

from ragbot.errors import InputError
from ragbot.state.db import StateDB, query_one
from ragbot.state.turnlog import TurnLog, TurnRecord

RATINGS = ("up", "down")
REASONS = ("wrong", "incomplete", "outdated", "rude", "should_handoff", "other")
MAX_CORRECTION_CHARS = 4000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    feedback_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, rating TEXT NOT NULL, reason TEXT,
    correction TEXT, who TEXT, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_message ON feedback (message_id);
CREATE INDEX IF NOT EXISTS feedback_ts ON feedback (ts);
"""


class FeedbackNotFoundError(InputError, KeyError):
    """A feedback_id was given that the feedback store does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown feedback"


@dataclass(frozen=True)
class Feedback:
    """One rating of a bot reply."""

    feedback_id: str
    message_id: str  # the rated reply (TurnLog)
    rating: str  # "up" | "down"
    reason: str | None = None  # one of REASONS
    correction: str | None = None  # the answer it should have been
    who: str | None = None  # user id, agent or admin name
    ts: float = 0.0  # Unix time, seconds

    def to_dict(self) -> dict[str, Any]:
        return {"feedback_id": self.feedback_id, "message_id": self.message_id, "rating": self.rating,
                "reason": self.reason, "correction": self.correction, "who": self.who, "ts": self.ts}


def validate(rating: Any, reason: Any = None, correction: Any = None, who: Any = None) -> tuple:
    """Check feedback fields; returns (rating, reason, correction, who) normalised (stripped,
    empty -> None). Raises InputError naming the field and the accepted values."""
    if not isinstance(rating, str) or rating.strip().lower() not in RATINGS:
        raise InputError(f"feedback field 'rating' must be one of {', '.join(RATINGS)}, got {rating!r}")
    if reason is not None and (not isinstance(reason, str) or reason.strip().lower() not in REASONS + ("",)):
        raise InputError(f"feedback field 'reason' must be one of {', '.join(REASONS)} (or omitted), got {reason!r}")
    if correction is not None and not isinstance(correction, str):
        raise InputError(f"feedback field 'correction' must be text, got {type(correction).__name__}")
    if correction and len(correction) > MAX_CORRECTION_CHARS:
        raise InputError(f"feedback field 'correction' has {len(correction)} characters, more than the "
                         f"{MAX_CORRECTION_CHARS} allowed; shorten it")
    if who is not None and not isinstance(who, str):
        raise InputError(f"feedback field 'who' must be text, got {type(who).__name__}")
    norm = (lambda s: (" ".join(s.split()) or None) if isinstance(s, str) else None)
    return rating.strip().lower(), (reason.strip().lower() or None) if reason else None, norm(correction), norm(who)


def _feedback(row) -> Feedback:
    return Feedback(feedback_id=row["feedback_id"], message_id=row["message_id"], rating=row["rating"],
                    reason=row["reason"], correction=row["correction"], who=row["who"], ts=row["ts"])


class FeedbackStore:
    """The `feedback` table of a StateDB; message ids are checked against `turnlog`."""

    def __init__(self, db: StateDB, turnlog: TurnLog | None = None):
        self.db = db
        self.turnlog = turnlog or TurnLog(db)
        db.executescript(_SCHEMA)

    def add(self, message_id: str, rating: str, reason: str | None = None, correction: str | None = None,
            who: str | None = None, ts: float | None = None) -> Feedback:
        """Store feedback on the reply `message_id`. Returns the stored Feedback (with a new
        feedback_id). Raises InputError naming the bad field, MessageNotFoundError (an
        InputError) for a message_id the turn log does not hold."""
        rating, reason, correction, who = validate(rating, reason, correction, who)
        self.turnlog.get(message_id)
        fb = Feedback(uuid.uuid4().hex[:16], message_id, rating, reason, correction, who,
                      time.time() if ts is None else float(ts))
        self.add_many([fb], check=False)
        return fb

    def add_many(self, items: Sequence[Feedback], check: bool = True) -> int:
        """Insert ready-made Feedback rows in one transaction (synthetic logs, imports);
        with `check`, fields are validated and message ids looked up. Returns the count."""
        if check:
            for fb in items:
                validate(fb.rating, fb.reason, fb.correction, fb.who)
                self.turnlog.get(fb.message_id)
        with self.db.transaction() as conn:
            conn.executemany("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(f.feedback_id, f.message_id, f.rating, f.reason, f.correction, f.who, f.ts)
                              for f in items])
        return len(items)

    def get(self, feedback_id: str) -> Feedback:
        """Raises FeedbackNotFoundError for an unknown id."""
        return _feedback(query_one(self.db, "SELECT * FROM feedback WHERE feedback_id = ?", (feedback_id,),
                                   FeedbackNotFoundError(f"unknown feedback_id {feedback_id!r}; list feedback ids "
                                                         "with 'ragbot feedback list'")))

    def for_message(self, message_id: str) -> list[Feedback]:
        """Feedback on one reply, oldest first."""
        return [_feedback(r) for r in self.db.query("SELECT * FROM feedback WHERE message_id = ? ORDER BY ts",
                                                    (message_id,))]

    def list(self, since: float | None = None, rating: str | None = None) -> list[Feedback]:
        """All feedback (with ts >= since, of one rating), oldest first."""
        conds, args = [], []
        if since is not None:
            conds.append("ts >= ?")
            args.append(since)
        if rating is not None:
            conds.append("rating = ?")
            args.append(rating)
        where = (" WHERE " + " AND ".join(conds)) if conds else ""
        return [_feedback(r) for r in self.db.query(f"SELECT * FROM feedback{where} ORDER BY ts, feedback_id", args)]

    def with_turns(self, since: float | None = None) -> list[tuple[Feedback, TurnRecord]]:
        """Each feedback (ts >= since) with the logged reply it rates, oldest first; feedback
        whose reply was purged from the turn log is left out. One JOIN query."""
        from ragbot.state.turnlog import _record

        where, args = (" WHERE f.ts >= ?", [since]) if since is not None else ("", [])
        rows = self.db.query("SELECT t.*, f.feedback_id AS f_id, f.rating AS f_rating, f.reason AS f_reason, "
                             "f.correction AS f_correction, f.who AS f_who, f.ts AS f_ts "
                             f"FROM feedback f JOIN turn_log t ON t.message_id = f.message_id{where} "
                             "ORDER BY f.ts, f.feedback_id", args)
        return [(Feedback(r["f_id"], r["message_id"], r["f_rating"], r["f_reason"], r["f_correction"], r["f_who"],
                          r["f_ts"]), _record(r)) for r in rows]

    def delete_for_messages(self, message_ids: Sequence[str]) -> int:
        """Delete the feedback on the given replies; returns the number deleted."""
        with self.db.transaction() as conn:
            return sum(conn.execute("DELETE FROM feedback WHERE message_id = ?", (m,)).rowcount for m in message_ids)


__all__ = ["Feedback", "FeedbackNotFoundError", "FeedbackStore", "MAX_CORRECTION_CHARS", "RATINGS", "REASONS",
           "validate"]
