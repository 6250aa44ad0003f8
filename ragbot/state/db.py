"""The shared SQLite database of the state stores (`<kb>/state.sqlite`).

Every store module (tickets, keys, feedback, overrides, users) takes a `StateDB`, creates its own
tables with `CREATE TABLE IF NOT EXISTS`, reads with `db.query` (`query_one` for the one row a key
names), and writes inside `with db.transaction() as conn:`. WAL mode lets several processes
(server workers, the CLI) read while one writes; a 30 s busy timeout makes concurrent writers wait
instead of failing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

STATE_FILE = "state.sqlite"


class StateDB:
    """One SQLite connection shared by the state stores of a process; thread-safe."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.RLock()

    @classmethod
    def for_kb(cls, kb_root: str | Path) -> "StateDB":
        return cls(Path(kb_root) / STATE_FILE)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(args)).fetchall()

    def executescript(self, sql: str) -> None:
        """Run DDL (CREATE TABLE IF NOT EXISTS ...)."""
        with self._lock:
            self._conn.executescript(sql)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); yields the connection."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def query_one(db, sql: str, args: Sequence[Any], missing: Exception):
    """The first row of `db.query(sql, args)` (a StateDB or PostgresStateDB); raises `missing`
    (the store's not-found error, naming the key and how to list the known ones) when there is none."""
    rows = db.query(sql, args)
    if not rows:
        raise missing
    return rows[0]
