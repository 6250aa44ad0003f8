"""API keys for `ragbot serve`: only SHA-256 hashes are stored.

    store = KeyStore(StateDB.for_kb("kb"))
    created = store.create(role="client", scope={"property": "oak-street"}, origins=["https://oak.example"])
    created.key            # shown once: "rb_<43 url-safe chars>"
    store.verify(created.key).role == "client"

Table `api_keys(key_id, key_hash, name, role, scope JSON, origins JSON, created_at, revoked_at)`.
`key_id` is a short public id (for `keys list` / `keys revoke` and logs); the key itself is never
stored or logged.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence
from urllib.parse import urlsplit

from ragbot.errors import InputError
from ragbot.state.db import StateDB, query_one

ROLES = ("client", "agent", "admin")
KEY_PREFIX = "rb_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
    scope TEXT NOT NULL, origins TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL);
"""


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the secret). created_at / revoked_at: Unix seconds (revoked_at None = active)."""

    key_id: str
    name: str
    role: str
    scope: Mapping[str, str] = field(default_factory=dict)
    origins: tuple[str, ...] = ()
    created_at: float = 0.0
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict:
        return {"key_id": self.key_id, "name": self.name, "role": self.role, "scope": dict(self.scope),
                "origins": list(self.origins), "created_at": self.created_at, "revoked_at": self.revoked_at}


@dataclass(frozen=True)
class CreatedKey:
    """The result of `KeyStore.create`: the secret `key` (shown once) and its stored record."""

    key: str
    record: ApiKey

    def to_dict(self) -> dict:
        r = self.record
        return {"key": self.key, "key_id": r.key_id, "name": r.name, "role": r.role, "scope": dict(r.scope),
                "origins": list(r.origins)}


def hash_key(key: str) -> str:
    """Hex SHA-256 of the key (keys are 256-bit random, so a fast unsalted hash is enough)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def normalize_origin(origin: str) -> str:
    """'https://Example.com/' -> 'https://example.com'. Raises InputError for anything that is not
    scheme://host[:port]."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise InputError(f"origin {origin!r} is invalid: give scheme://host[:port], e.g. https://www.example.com")
    return f"{parts.scheme}://{parts.netloc.lower()}"


class KeyStore:
    """Create, list, verify and revoke API keys in a StateDB. Thread-safe (StateDB is)."""

    def __init__(self, db: StateDB):
        self.db = db
        db.executescript(_SCHEMA)

    def create(self, role: str, scope: Mapping[str, str] | None = None, origins: Sequence[str] = (),
               name: str | None = None) -> CreatedKey:
        """Make a new key. role: client|agent|admin; scope: str -> str; origins: URLs for CORS.
        Raises InputError for a bad role, scope or origin."""
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        scope = _check_scope(scope)
        origins = tuple(dict.fromkeys(normalize_origin(o) for o in origins))
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = secrets.token_hex(4)
        name = (name or f"{role}-{key_id}").strip()
        rec = ApiKey(key_id=key_id, name=name, role=role, scope=scope, origins=origins, created_at=time.time())
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                         (key_id, hash_key(key), name, role, json.dumps(scope), json.dumps(list(origins)),
                          rec.created_at))
        return CreatedKey(key=key, record=rec)

    def verify(self, key: str) -> ApiKey | None:
        """The active key record for the secret `key`, else None (unknown or revoked)."""
        if not key or not key.startswith(KEY_PREFIX):
            return None
        rows = self.db.query("SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (hash_key(key),))
        return _record(rows[0]) if rows else None

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        """Every key, oldest first."""
        sql = "SELECT * FROM api_keys" + ("" if include_revoked else " WHERE revoked_at IS NULL")
        return [_record(r) for r in self.db.query(sql + " ORDER BY created_at")]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke by key_id (idempotent). Raises InputError for an unknown id."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                         (time.time(), key_id))
        return _record(query_one(self.db, "SELECT * FROM api_keys WHERE key_id = ?", (key_id,),
                                 InputError(f"no key with id {key_id!r}; see `ragbot keys list`")))

    def has_active(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1"))

    def all_origins(self) -> set[str]:
        """Origins listed by any active key (for CORS preflight)."""
        out: set[str] = set()
        for r in self.db.query("SELECT origins FROM api_keys WHERE revoked_at IS NULL"):
            out.update(json.loads(r["origins"]))
        return out


def _check_scope(scope: Mapping[str, str] | None) -> dict[str, str]:
    from ragbot.kb.scope import check_scope

    out = check_scope(scope)
    for k, v in out.items():
        if v == "*":
            raise InputError(f"scope {k}=* is not a scope; give a concrete value or leave {k} out")
    return out


def _record(row) -> ApiKey:
    return ApiKey(key_id=row["key_id"], name=row["name"], role=row["role"], scope=json.loads(row["scope"]),
                  origins=tuple(json.loads(row["origins"])), created_at=row["created_at"], revoked_at=row["revoked_at"])
