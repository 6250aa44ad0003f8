"""PostgresStateDB: the state stores (tickets, keys, feedback, overrides, turn log) on PostgreSQL,
so that several `ragbot serve` machines share them.

It is a drop-in for `ragbot.state.db.StateDB` (same `query`, `executescript`, `transaction`,
`close`): the stores keep their SQL, written for SQLite, and this adapter translates the few
SQLite-isms they use, statement by statement (cached):
- `?` placeholders -> `%s` (and a literal `%` -> `%%`);
- DDL types: REAL -> double precision (Unix seconds need 53 bits), BLOB -> bytea, INTEGER -> bigint;
- `INSERT OR IGNORE` -> `... ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` -> `... ON CONFLICT
  (primary key) DO UPDATE SET` every other column (columns read from the catalog);
- `rowid` -> `ctid` (insertion order of append-only rows; tie-breaks only);
- `sqlite_master` table listing -> information_schema.
Rows support `row["column"]`, `row[0]` and `dict(row)` like sqlite3.Row. Write transactions take
a transaction-level advisory lock, so writers serialise as under SQLite's BEGIN IMMEDIATE
(read-modify-write code such as "next version = max + 1" stays correct across machines).

Tables live in one schema (default "ragbot_state"); the DSN's password is masked in messages.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any, Iterator, Sequence

from ragbot.kb.postgres import connect, mask_dsn, resolve_dsn

_LIST_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
_PG_LIST_TABLES = ("SELECT table_name AS name FROM information_schema.tables "
                   "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
_TYPES = ((re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"), (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
          (re.compile(r"\bINTEGER\b", re.I), "BIGINT"))
_PRAGMA_COLUMNS = re.compile(r"^\s*PRAGMA\s+table_info\((\w+)\)\s*$", re.I)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\s", re.I)
_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*(\(([^)]*)\))?", re.I)


class Row(tuple):
    """A result row: by position, by column name, and `keys()` (so `dict(row)` works)."""

    def __new__(cls, names: Sequence[str], values: Sequence[Any]):
        row = super().__new__(cls, values)
        row._names = tuple(names)
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor):
    names = [d.name for d in cursor.description] if cursor.description else []
    return lambda values: Row(names, values)


def _placeholders(sql: str) -> str:
    """`?` -> `%s` and `%` -> `%%` outside string literals."""
    out, quote = [], None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        else:
            out.append("%s" if ch == "?" else "%%" if ch == "%" else ch)
    return "".join(out)


class _Cursor:
    """The part of sqlite3.Cursor the stores use: fetchone, fetchall, iteration, rowcount."""

    def __init__(self, cur):
        self._cur = cur
        self.rowcount = cur.rowcount

    def fetchone(self):
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list:
        return self._cur.fetchall() if self._cur.description else []

    def __iter__(self):
        return iter(self.fetchall())


class PostgresStateDB:
    """StateDB on PostgreSQL (module docstring). One connection per process, shared by the
    stores, serialised by a lock (as StateDB). Raises KnowledgeBaseError when the server
    cannot be reached, ConfigError when no DSN is given or set in RAGBOT_DATABASE_URL."""

    def __init__(self, dsn: str | None = None, schema: str = "ragbot_state"):
        self.dsn = resolve_dsn(dsn)
        self.schema = schema
        self.location = f"{mask_dsn(self.dsn)} (schema {schema})"
        self._conn = connect(self.dsn, schema, create_schema=True)
        self._conn.row_factory = _row_factory
        _bools_as_integers(self._conn)
        self._lock = threading.RLock()
        self._sql: dict[str, str] = {}
        self._open_tx: list = []

    # ------------------------------------------------------------------ translation
    def translate(self, sql: str) -> str:
        """The PostgreSQL form of one SQLite statement (cached per statement text)."""
        out = self._sql.get(sql)
        if out is None:
            out = self._translate(sql)
            self._sql[sql] = out
        return out

    def _translate(self, sql: str) -> str:
        if sql.strip() == _LIST_TABLES:
            return _PG_LIST_TABLES
        pragma = _PRAGMA_COLUMNS.match(sql)
        if pragma:
            return ("SELECT column_name AS name FROM information_schema.columns WHERE table_schema = "
                    f"current_schema() AND table_name = '{pragma.group(1)}' ORDER BY ordinal_position")
        out = re.sub(r"\browid\b", "ctid", sql)
        if _OR_IGNORE.match(out):
            out = _OR_IGNORE.sub("INSERT INTO ", out).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
        else:
            m = _OR_REPLACE.match(out)
            if m:
                out = self._upsert(out, m)
        return _placeholders(out)

    def _upsert(self, sql: str, m: re.Match) -> str:
        table = m.group(1)
        cols = [c.strip() for c in m.group(3).split(",")] if m.group(3) else self._columns(table)
        key = self._primary_key(table)
        rest = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in key)
        action = f"DO UPDATE SET {rest}" if rest else "DO NOTHING"
        body = re.sub(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO", "INSERT INTO", sql, flags=re.I).rstrip().rstrip(";")
        return f"{body} ON CONFLICT ({', '.join(key)}) {action}"

    def _columns(self, table: str) -> list[str]:
        rows = self._conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                  "current_schema() AND table_name = %s ORDER BY ordinal_position", (table,))
        return [r[0] for r in rows]

    def _primary_key(self, table: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(%s) AND i.indisprimary "
            "ORDER BY array_position(i.indkey, a.attnum)", (table,)).fetchall()
        if not rows:
            raise ValueError(f"INSERT OR REPLACE into {table}, which has no primary key")
        return [r[0] for r in rows]

    @staticmethod
    def translate_ddl(sql: str) -> str:
        for pattern, repl in _TYPES:
            sql = pattern.sub(repl, sql)
        return sql

    # ------------------------------------------------------------------ StateDB API
    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return _Cursor(self._conn.execute(self.translate(sql), tuple(args))).fetchall()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _Cursor:
        """One statement outside an explicit transaction (autocommit)."""
        with self._lock:
            return _Cursor(self._conn.execute(self.translate(sql), tuple(args)))

    def executemany(self, sql: str, rows) -> _Cursor:
        with self._lock:
            cur = self._conn.cursor()
            cur.executemany(self.translate(sql), [tuple(r) for r in rows])
            return _Cursor(cur)

    def executescript(self, sql: str) -> None:
        """Run DDL (CREATE TABLE / INDEX IF NOT EXISTS ...), types translated, under the schema's
        advisory lock (workers starting at once would otherwise collide in the catalog)."""
        with self.transaction():
            self._conn.execute(self.translate_ddl(sql))

    @contextlib.contextmanager
    def transaction(self) -> Iterator["PostgresStateDB"]:
        """A write transaction (COMMIT, or ROLLBACK on error) serialised with other writers by an
        advisory lock; yields an object with the sqlite3.Connection methods the stores use."""
        with self._lock, self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ragbot.state:{self.schema}",))
            yield self

    def __enter__(self) -> "PostgresStateDB":
        """`with db:` is a write transaction, as `with sqlite3_connection:` (SessionStore's idiom)."""
        self._lock.acquire()
        tx = self._conn.transaction()
        tx.__enter__()
        self._open_tx.append(tx)
        self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ragbot.state:{self.schema}",))
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._open_tx.pop().__exit__(*exc)
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def postgres_session_store(db: PostgresStateDB):
    """A SessionStore (ragbot.chat.conversation) whose sessions and turns live in `db`'s schema,
    so a conversation started on one worker continues on another. Closing it leaves `db` open."""
    from ragbot.chat.conversation import _SCHEMA, SessionStore

    class PostgresSessionStore(SessionStore):
        def __init__(self, db: PostgresStateDB):  # noqa: D401 - SessionStore with `db` as its connection
            self.path = db.location
            self._lock = threading.RLock()
            self._conn = db
            db.executescript(_SCHEMA)
            self._migrate()

        def close(self) -> None:
            """The PostgresStateDB belongs to the caller."""

    return PostgresSessionStore(db)


def _bools_as_integers(conn) -> None:
    """SQLite stores Python bools in INTEGER columns; dump them as integers here too."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class BoolAsInt(Dumper):
        format = Format.TEXT
        oid = 20  # int8

        def dump(self, obj):
            return b"1" if obj else b"0"

    conn.adapters.register_dumper(bool, BoolAsInt)


def state_schema(kb_schema: str) -> str:
    """The schema of a Postgres KB's state (sessions, tickets, keys, feedback, users): the KB's
    schema + "_state" ("ragbot" -> "ragbot_state"), so two KBs in one database never share state."""
    return f"{kb_schema}_state"


def open_state_db(location, schema: str | None = None, config_file=None):
    """The state database of a knowledge base: PostgresStateDB for a postgresql:// location (the
    KB's DSN; `schema` default: `state_schema` of the KB schema in the config, see
    BotConfig.load(location, config_file)), else the SQLite StateDB in the KB directory."""
    from ragbot.kb.postgres import is_postgres_url
    from ragbot.state.db import StateDB

    if is_postgres_url(str(location)):
        if schema is None:
            from ragbot.config import BotConfig

            schema = state_schema(BotConfig.load(location, config_file).kb.postgres.schema_name)
        return PostgresStateDB(str(location), schema=schema)
    return StateDB.for_kb(location)
