"""Conversations: sessions persisted in the KB directory (SQLite), the history window, the
handoff state, and handoff handlers.

sessions.sqlite tables: sessions(id, created_at, updated_at, state JSON, user_id) and
turns(session_id, idx, role, content, decision, created_at, message_id); role is "user",
"assistant" (the bot) or "agent" (a person answering a handoff). `state` holds the session's scope,
`handed_off` (bool) with its ticket id, and `pending` (a clarifying question awaiting its answer).
"""

from __future__ import annotations

import contextlib
import functools
import fcntl
import json
import re
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Sequence

from ragbot.errors import InputError, SessionNotFoundError
from ragbot.types import HandoffTicket, Turn

HandoffHandler = Callable[[HandoffTicket], None]
ROLES = ("user", "assistant", "agent")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, created_at REAL, updated_at REAL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (session_id TEXT NOT NULL, idx INTEGER NOT NULL, role TEXT NOT NULL,
    content TEXT NOT NULL, decision TEXT, created_at REAL, PRIMARY KEY (session_id, idx));
"""


def _locked(method):
    """Run the method under the store's re-entrant lock: one sqlite3 connection shared by the
    server's threads crashes or loses writes without it (seen under the serve benchmark)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper


class SessionStore:
    """Sessions in `path` (SQLite, WAL). `path=":memory:"` keeps them in memory. Thread-safe:
    every method holds the store's lock."""

    thread_safe = True

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.RLock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._conn.row_factory = sqlite3.Row
        with contextlib.suppress(sqlite3.OperationalError):
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns of later versions (message_id, user_id) to an older sessions.sqlite
        (read inside the write transaction, so two processes opening one database add them once)."""
        with self._conn:
            if "message_id" not in {r["name"] for r in self._conn.execute("PRAGMA table_info(turns)")}:
                self._conn.execute("ALTER TABLE turns ADD COLUMN message_id TEXT")
            if "user_id" not in {r["name"] for r in self._conn.execute("PRAGMA table_info(sessions)")}:
                self._conn.execute("ALTER TABLE sessions ADD COLUMN user_id TEXT")

    @_locked
    def create(self, session_id: str | None = None, scope: dict | None = None, user_id: str | None = None) -> str:
        """Create a session and return its id: the caller's own id (validated: 1-64 letters,
        digits, '-' or '_'; InputError otherwise) or a new random one. Creating an existing id is
        a no-op."""
        sid = session_id or uuid.uuid4().hex[:16]
        check_session_id(sid)
        now = time.time()
        with self._conn:
            self._conn.execute("INSERT OR IGNORE INTO sessions (id, created_at, updated_at, state, user_id) "
                               "VALUES (?, ?, ?, ?, ?)",
                               (sid, now, now, json.dumps({"scope": scope or {}, "handed_off": False}), user_id))
        return sid

    @_locked
    def exists(self, session_id: str) -> bool:
        return self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is not None

    @_locked
    def state(self, session_id: str) -> dict[str, Any]:
        """The session's state dict; raises SessionNotFoundError for an unknown id."""
        row = self._conn.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFoundError(f"unknown session {session_id!r}; omit --session to start a new one")
        return json.loads(row["state"])

    @_locked
    def update_state(self, session_id: str, **changes: Any) -> dict[str, Any]:
        state = self.state(session_id)
        state.update(changes)
        with self._conn:
            self._conn.execute("UPDATE sessions SET state = ?, updated_at = ? WHERE id = ?",
                               (json.dumps(state), time.time(), session_id))
        return state

    @_locked
    def append(self, session_id: str, role: str, content: str, decision: str | None = None,
               message_id: str | None = None) -> str:
        """Append a message; returns its message_id (a new random hex id unless given)."""
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        mid = message_id or uuid.uuid4().hex
        with self._conn:
            n = self._conn.execute("SELECT COUNT(*) FROM turns WHERE session_id = ?", (session_id,)).fetchone()[0]
            self._conn.execute("INSERT INTO turns (session_id, idx, role, content, decision, created_at, message_id) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)", (session_id, n, role, content, decision, time.time(), mid))
        return mid

    @_locked
    def messages(self, session_id: str) -> list[dict[str, Any]]:
        """The transcript with ids: [{message_id, role, content, decision, created_at}], oldest first."""
        rows = self._conn.execute("SELECT message_id, role, content, decision, created_at FROM turns "
                                  "WHERE session_id = ? ORDER BY idx", (session_id,))
        return [dict(r) for r in rows]

    @_locked
    def turns(self, session_id: str) -> list[Turn]:
        """All turns, oldest first."""
        rows = self._conn.execute("SELECT role, content FROM turns WHERE session_id = ? ORDER BY idx", (session_id,))
        return [Turn(r["role"], r["content"]) for r in rows]

    @_locked
    def release(self, session_id: str) -> None:
        """End a handoff: the bot answers this session again."""
        self.update_state(session_id, handed_off=False, ticket_id=None)

    @_locked
    def close(self) -> None:
        self._conn.close()


def check_session_id(sid: str) -> str:
    """Raise InputError unless `sid` is 1-64 letters, digits, '-' or '_' (callers may use their own
    conversation ids, as Rasa's sender id)."""
    if not isinstance(sid, str) or not _SESSION_ID.match(sid):
        raise InputError(f"session id {sid!r} is invalid: use 1 to 64 letters, digits, '-' or '_' (e.g. portal-42)")
    return sid


def history_window(turns: Sequence[Turn], max_turns: int, max_chars: int) -> list[Turn]:
    """The most recent turns, at most `max_turns` messages and `max_chars` characters in all
    (characters stand in for tokens: about 4 per token for English)."""
    out: list[Turn] = []
    used = 0
    for t in reversed(list(turns)[-max_turns:] if max_turns > 0 else []):
        if used + len(t.content) > max_chars and out:
            break
        out.append(t)
        used += len(t.content)
    return list(reversed(out))


class JsonlHandoffHandler:
    """Default handoff handler: appends each ticket as one JSON line to `path`
    (handoffs.jsonl in the KB directory), under an exclusive file lock."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __call__(self, ticket: HandoffTicket) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                f.write(json.dumps(ticket.to_dict(), ensure_ascii=False) + "\n")
                f.flush()
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def summarize(turns: Sequence[Turn], reason: str, max_chars: int = 240) -> str:
    """A one-line ticket summary: the reason and the last user message (extractive, no model)."""
    last_user = next((t.content for t in reversed(turns) if t.role == "user"), "")
    text = " ".join(last_user.split())
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return f"{reason} | customer: {text}"
