"""Users and their stated preferences (table `user_preferences` in the state store).

A `user_id` links a person's sessions (`Bot.ask(..., user=...)`, `ragbot ask --user`, `user` in
the API). Each preference (keys in ragbot.chat.preferences.PREFERENCE_KEYS: budget, bedrooms,
cats, dogs, city, state, property, language, contact_channel, contact) is stored with the message
that stated it (PII-scrubbed text), its session and message ids and the time; a later statement
replaces it. `forget(user_id)` deletes them all ("forget my preferences", `ragbot users forget`,
`DELETE /api/users/{id}`).

The contact value (a phone number or email) is kept as given: the leasing team needs it for a
showing request. Everything shown to other people scrubs it (UserProfile.to_dict(scrub=True)).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from ragbot.errors import InputError

_USER_ID = re.compile(r"^[A-Za-z0-9_.@:+-]{1,128}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_preferences (
    user_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, message TEXT, session_id TEXT,
    message_id TEXT, ts REAL NOT NULL, PRIMARY KEY (user_id, key));
"""


def check_user_id(user_id: Any) -> str:
    """Raise InputError unless `user_id` is 1-128 letters, digits or . _ @ : + -."""
    if not isinstance(user_id, str) or not _USER_ID.match(user_id):
        raise InputError(f"user id {user_id!r} is invalid: use 1 to 128 letters, digits or . _ @ : + - "
                         "(e.g. portal-user-42)")
    return user_id


@dataclass(frozen=True)
class Preference:
    """One stated preference: value (JSON-able: float, int, str); message: the user's message that
    stated it (scrubbed); session_id / message_id: where (message_id of the bot's reply, as in the
    turn log); ts: Unix seconds."""

    key: str
    value: Any
    message: str = ""
    session_id: str | None = None
    message_id: str | None = None
    ts: float = 0.0


@dataclass(frozen=True)
class UserProfile:
    """A user's saved preferences by key (empty when none)."""

    user_id: str
    preferences: Mapping[str, Preference] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {k: p.value for k, p in self.preferences.items()}

    def to_dict(self, scrub: bool = False) -> dict[str, Any]:
        """{"user_id", "preferences": {key: {"value", "message", "session_id", "message_id", "ts"}}};
        with `scrub`, the contact value is masked."""
        prefs = {}
        for k, p in self.preferences.items():
            value = p.value
            if scrub and k == "contact":
                value = _mask(str(value))
            prefs[k] = {"value": value, "message": p.message, "session_id": p.session_id,
                        "message_id": p.message_id, "ts": p.ts}
        return {"user_id": self.user_id, "preferences": prefs}


def _mask(contact: str) -> str:
    if "@" in contact:
        name, _, domain = contact.partition("@")
        return f"{name[:1]}***@{domain}"
    digits = re.sub(r"\D", "", contact)
    return f"***{digits[-2:]}" if digits else "***"


class UserStore:
    """The `user_preferences` table of a StateDB (or PostgresStateDB)."""

    def __init__(self, db):
        self.db = db
        db.executescript(_SCHEMA)

    def get(self, user_id: str) -> UserProfile:
        """The user's profile (no preferences for an unknown user). Raises InputError for a bad id."""
        rows = self.db.query("SELECT * FROM user_preferences WHERE user_id = ? ORDER BY key", (check_user_id(user_id),))
        return UserProfile(user_id, {r["key"]: Preference(r["key"], json.loads(r["value"]), r["message"] or "",
                                                          r["session_id"], r["message_id"], r["ts"]) for r in rows})

    def values(self, user_id: str) -> dict[str, Any]:
        """{key: value} of the user's saved preferences."""
        return self.get(user_id).values()

    def update(self, user_id: str, values: Mapping[str, Any], message: str = "", session_id: str | None = None,
               message_id: str | None = None) -> UserProfile:
        """Store each key=value (replacing an earlier one) with the message that stated it.
        Raises InputError for an unknown key or a value that is not JSON."""
        from ragbot.chat.preferences import PREFERENCE_KEYS
        from ragbot.state.turnlog import scrub_text

        check_user_id(user_id)
        rows = []
        for k, v in values.items():
            if k not in PREFERENCE_KEYS:
                raise InputError(f"preference {k!r} is unknown; use one of {', '.join(PREFERENCE_KEYS)}")
            try:
                encoded = json.dumps(v)
            except (TypeError, ValueError):
                raise InputError(f"preference {k!r}: value {v!r} is not a number or text") from None
            rows.append((user_id, k, encoded, scrub_text(message or ""), session_id, message_id, time.time()))
        if rows:
            with self.db.transaction() as conn:
                conn.executemany("INSERT OR REPLACE INTO user_preferences (user_id, key, value, message, session_id, "
                                 "message_id, ts) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return self.get(user_id)

    def forget(self, user_id: str) -> int:
        """Delete every saved preference of the user; returns how many were deleted."""
        check_user_id(user_id)
        with self.db.transaction() as conn:
            return int(conn.execute("DELETE FROM user_preferences WHERE user_id = ?", (user_id,)).rowcount or 0)

    def users(self, limit: int = 1000) -> list[str]:
        """User ids with saved preferences, most recently updated first."""
        rows = self.db.query("SELECT user_id, MAX(ts) AS t FROM user_preferences GROUP BY user_id ORDER BY t DESC "
                             "LIMIT ?", (int(limit),))
        return [r["user_id"] for r in rows]


__all__ = ["Preference", "UserProfile", "UserStore", "check_user_id"]
