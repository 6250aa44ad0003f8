"""The turn log: one row per bot reply, the raw material of feedback, overrides, the monitoring
report and the feedback exports (table `turn_log` in the state store, `ragbot.state.db.StateDB`).

Text fields (question, reply, reason and every string inside sources / signals) are stored
scrubbed of PII by `ragbot.tune.data.pii.scrub` ("call me at 415-555-0132" -> "call me at
<PHONE>"), so nothing read back from the log, and nothing built from it, holds raw PII. Session
and user ids are stored as given (they are keys, not content; pick ids that are not e-mails).

    log = TurnLog(StateDB.for_kb("kb"))
    log.record(TurnRecord.from_reply(reply, question, message_id=reply.message_id))
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ragbot.errors import InputError
from ragbot.state.db import StateDB, query_one

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turn_log (
    message_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, user_id TEXT, ts REAL NOT NULL,
    question TEXT NOT NULL, reply TEXT NOT NULL, decision TEXT NOT NULL, rule TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '', confidence REAL NOT NULL DEFAULT 0, latency_ms REAL NOT NULL DEFAULT 0,
    sources TEXT NOT NULL DEFAULT '[]', scope TEXT NOT NULL DEFAULT '{}', signals TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS turn_log_ts ON turn_log (ts);
CREATE INDEX IF NOT EXISTS turn_log_session ON turn_log (session_id);
CREATE INDEX IF NOT EXISTS turn_log_user ON turn_log (user_id);
"""
_COLUMNS = ("message_id", "session_id", "user_id", "ts", "question", "reply", "decision", "rule", "reason",
            "confidence", "latency_ms", "sources", "scope", "signals")
DECISIONS = ("answer", "clarify", "handoff")


class MessageNotFoundError(InputError, KeyError):
    """A message_id was given that the turn log does not know."""

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0]) if self.args else "unknown message"


@dataclass(frozen=True)
class TurnRecord:
    """One bot reply as logged.

    message_id: the reply's id (Reply.message_id; `ask --json` "message_id"); unique.
    ts: Unix time in seconds (0 -> the time of `record`). decision: answer | clarify | handoff.
    rule: the gate rule that fired ("faq", "out_of_scope", "override", ...); reason: its text.
    confidence: in [0, 1]. latency_ms: the turn's total time in milliseconds.
    sources: cited sources, best first, each {"source", "page", "score", "doc_type", "chunk_id"}.
    scope: the turn's key=value scope. signals: the gate's inputs (JSON-serialisable).
    """

    message_id: str
    session_id: str
    question: str
    reply: str
    decision: str
    rule: str = ""
    reason: str = ""
    confidence: float = 0.0
    latency_ms: float = 0.0
    sources: tuple[Mapping[str, Any], ...] = ()
    scope: Mapping[str, str] = field(default_factory=dict)
    signals: Mapping[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    ts: float = 0.0

    @classmethod
    def from_reply(cls, reply, question: str, message_id: str | None = None, user_id: str | None = None,
                   scope: Mapping[str, str] | None = None, ts: float | None = None) -> "TurnRecord":
        """The record of a `ragbot.types.Reply` to `question`. message_id defaults to
        `reply.message_id` when the Reply has one, else a new uuid4 hex."""
        d = reply.to_dict()
        mid = message_id or getattr(reply, "message_id", None) or uuid.uuid4().hex
        sources = tuple({**s.to_dict(), "chunk_id": s.chunk_id} for s in reply.sources)
        return cls(message_id=str(mid), session_id=reply.session_id, question=question, reply=reply.text,
                   decision=reply.decision.value, rule=reply.rule, reason=reply.reason,
                   confidence=float(reply.confidence), latency_ms=float(reply.timings_ms.get("total", 0.0)),
                   sources=sources, scope=dict(scope or {}), signals=d["signals"], user_id=user_id,
                   ts=time.time() if ts is None else float(ts))

    def to_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "session_id": self.session_id, "user_id": self.user_id,
                "ts": self.ts, "question": self.question, "reply": self.reply, "decision": self.decision,
                "rule": self.rule, "reason": self.reason, "confidence": self.confidence,
                "latency_ms": self.latency_ms, "sources": [dict(s) for s in self.sources],
                "scope": dict(self.scope), "signals": dict(self.signals)}


def scrub_text(text: str) -> str:
    """`text` with PII replaced by typed placeholders (ragbot.tune.data.pii.scrub)."""
    from ragbot.tune.data.pii import scrub

    return scrub(text)[0] if text else text


def scrub_value(obj: Any) -> Any:
    """A JSON-like value with every string scrubbed of PII (dict keys are kept)."""
    if isinstance(obj, str):
        return scrub_text(obj)
    if isinstance(obj, Mapping):
        return {str(k): scrub_value(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub_value(v) for v in obj]
    return obj


def _validate(rec: TurnRecord) -> None:
    for name in ("message_id", "session_id"):
        value = getattr(rec, name)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"TurnRecord.{name} must be a non-empty string, got {value!r}")
    if rec.decision not in DECISIONS:
        raise InputError(f"TurnRecord.decision must be one of {DECISIONS}, got {rec.decision!r}")
    if not isinstance(rec.question, str) or not isinstance(rec.reply, str):
        raise InputError("TurnRecord.question and TurnRecord.reply must be strings")


def _row(rec: TurnRecord, scrub: bool) -> tuple:
    s = scrub_text if scrub else (lambda t: t)
    v = scrub_value if scrub else (lambda t: t)
    return (rec.message_id, rec.session_id, rec.user_id, rec.ts or time.time(), s(rec.question), s(rec.reply),
            rec.decision, rec.rule or "", s(rec.reason or ""), float(rec.confidence), float(rec.latency_ms),
            json.dumps(v([dict(x) for x in rec.sources]), ensure_ascii=False),
            json.dumps(dict(rec.scope), ensure_ascii=False), json.dumps(v(dict(rec.signals)), ensure_ascii=False))


def _record(row) -> TurnRecord:
    return TurnRecord(message_id=row["message_id"], session_id=row["session_id"], user_id=row["user_id"],
                      ts=row["ts"], question=row["question"], reply=row["reply"], decision=row["decision"],
                      rule=row["rule"], reason=row["reason"], confidence=row["confidence"],
                      latency_ms=row["latency_ms"], sources=tuple(json.loads(row["sources"])),
                      scope=json.loads(row["scope"]), signals=json.loads(row["signals"]))


class TurnLog:
    """The `turn_log` table of a StateDB. Thread-safe through the StateDB."""

    def __init__(self, db: StateDB):
        self.db = db
        db.executescript(_SCHEMA)

    def record(self, rec: TurnRecord, scrub: bool = True) -> TurnRecord:
        """Store one reply (text fields scrubbed of PII unless `scrub=False`, for data that is
        already scrubbed). Returns the record as stored. Raises InputError for a bad record;
        a second record with the same message_id replaces the first."""
        return self.record_many([rec], scrub=scrub)[0]

    def record_many(self, recs: Iterable[TurnRecord], scrub: bool = True) -> list[TurnRecord]:
        """`record` for many records in one transaction; returns them as stored."""
        rows = []
        for rec in recs:
            _validate(rec)
            rows.append(_row(rec, scrub))
        with self.db.transaction() as conn:
            conn.executemany(f"INSERT OR REPLACE INTO turn_log ({', '.join(_COLUMNS)}) "
                             f"VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
        return [_record(dict(zip(_COLUMNS, r))) for r in rows]

    def get(self, message_id: str) -> TurnRecord:
        """The record of `message_id`; raises MessageNotFoundError when there is none."""
        return _record(query_one(self.db, "SELECT * FROM turn_log WHERE message_id = ?", (message_id,),
                                 MessageNotFoundError(f"unknown message_id {message_id!r}: no bot reply with that id "
                                                      "is logged; use the message_id of a reply (ask --json prints it)")))

    def records(self, since: float | None = None, until: float | None = None, session_id: str | None = None,
                user_id: str | None = None) -> list[TurnRecord]:
        """Records with since <= ts < until (Unix seconds; None: unbounded), optionally of one
        session or user, oldest first."""
        where, args = _filters(since, until, session_id, user_id)
        return [_record(r) for r in self.db.query(f"SELECT * FROM turn_log{where} ORDER BY ts, message_id", args)]

    def columns(self, names: Sequence[str], since: float | None = None) -> list[tuple]:
        """Raw column tuples (no JSON decoding) of the records with ts >= since, oldest first:
        the fast path for reports over 100k+ turns. names: a subset of the table's columns."""
        bad = [n for n in names if n not in _COLUMNS]
        if bad:
            raise InputError(f"unknown turn_log column(s) {bad}; use some of {_COLUMNS}")
        where, args = _filters(since, None, None, None)
        return [tuple(r) for r in self.db.query(f"SELECT {', '.join(names)} FROM turn_log{where} ORDER BY ts", args)]

    def session_ids(self, user_id: str | None = None, before: float | None = None) -> list[str]:
        """Distinct session ids (of one user; with their last turn before `before`)."""
        sql = "SELECT session_id FROM turn_log" + (" WHERE user_id = ?" if user_id is not None else "")
        sql += " GROUP BY session_id" + (" HAVING MAX(ts) < ?" if before is not None else "")
        args = [a for a in (user_id, before) if a is not None]
        return [r[0] for r in self.db.query(sql, args)]

    def count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM turn_log")[0][0])

    def delete_sessions(self, session_ids: Sequence[str]) -> int:
        """Delete every record of the given sessions; returns the number deleted."""
        with self.db.transaction() as conn:
            return sum(conn.execute("DELETE FROM turn_log WHERE session_id = ?", (s,)).rowcount for s in session_ids)


def _filters(since, until, session_id, user_id) -> tuple[str, list]:
    conds, args = [], []
    for cond, value in (("ts >= ?", since), ("ts < ?", until), ("session_id = ?", session_id),
                        ("user_id = ?", user_id)):
        if value is not None:
            conds.append(cond)
            args.append(value)
    return (" WHERE " + " AND ".join(conds) if conds else ""), args


__all__ = ["MessageNotFoundError", "TurnLog", "TurnRecord", "scrub_text", "scrub_value"]
