"""The knowledge-base directory: FAISS index + SQLite chunk store + manifest.json, saved atomically.

Layout of a KB directory (`--kb DIR`):
    manifest.json            format version, generation, embedder name/dim, chunking, counts
    chunks-<gen>.sqlite      files, chunks (text, source, doc_type, page, metadata, scope)
    index-<gen>.faiss        IndexIDMap2 over the chunk embeddings; id = chunks.id (int64)
    config.json              optional BotConfig for this KB (embedder, generator, gate ...)
    sessions.sqlite, handoffs.jsonl   written by the conversation engine

Atomicity: a change is written as a *new generation* (a copy of the chunk store and a new index
file), fsynced, and only then does `manifest.json` switch to it with an atomic rename. A process
killed at any point leaves the manifest naming the previous, complete generation; files of
unfinished generations are deleted by the next writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

from ragbot.errors import IndexMismatchError, InputError, KnowledgeBaseError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".ingest.lock"
_SCOPE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER, doc_type TEXT, scope TEXT NOT NULL,
    n_documents INTEGER, ingested_at REAL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, text TEXT NOT NULL, source TEXT NOT NULL,
    doc_type TEXT NOT NULL, page INTEGER, metadata TEXT NOT NULL, scope TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunk_files (
    chunk INTEGER NOT NULL, path TEXT NOT NULL, PRIMARY KEY (chunk, path));
CREATE INDEX IF NOT EXISTS chunk_files_path ON chunk_files(path);
"""


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` via a fsynced temp file in the same folder and os.replace."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def check_scope(scope: Mapping[str, str] | None) -> dict[str, str]:
    """Validate scope keys ([A-Za-z0-9_.-], 1-64 chars) and stringify values; raises InputError."""
    out: dict[str, str] = {}
    for k, v in (scope or {}).items():
        if not _SCOPE_KEY.match(str(k)):
            raise InputError(f"scope key {k!r} is invalid: use letters, digits, '_', '-', '.' (e.g. property=oak-street)")
        if v is None or str(v).strip() == "":
            raise InputError(f"scope {k!r} has an empty value; write it as key=value")
        out[str(k)] = str(v).strip()
    return dict(sorted(out.items()))


def parse_scope_args(items: list[str] | None) -> dict[str, str]:
    """Parse CLI `--scope key=value` items into a dict; raises InputError on a malformed item."""
    scope: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--scope {item!r}: expected key=value, e.g. --scope property=oak-street")
        scope[key.strip()] = value.strip()
    return check_scope(scope)


class KBDirectory:
    """Owns the files of one KB directory: manifest, generations, lock."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def read_manifest(self) -> dict[str, Any]:
        try:
            m = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KnowledgeBaseError(
                f"no knowledge base at {self.root} (no {MANIFEST}); create one with: ragbot ingest PATH --kb {self.root}") from None
        except json.JSONDecodeError as e:
            raise KnowledgeBaseError(f"{self.manifest_path} is corrupt ({e}); re-ingest into a new --kb directory") from e
        if m.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{self.root} has KB format version {m.get('format_version')}, this ragbot reads {FORMAT_VERSION}; "
                "re-ingest your documents into a new --kb directory")
        for key in ("generation", "embedder"):
            if key not in m:
                raise KnowledgeBaseError(f"{self.manifest_path} lacks {key!r}; re-ingest into a new --kb directory")
        return m

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True))

    def chunks_path(self, gen: int) -> Path:
        return self.root / f"chunks-{gen}.sqlite"

    def index_path(self, gen: int) -> Path:
        return self.root / f"index-{gen}.faiss"

    def cleanup(self, keep_gen: int | None) -> None:
        """Delete generation files other than `keep_gen` (left by a finished or a killed writer)."""
        for p in list(self.root.glob("chunks-*.sqlite*")) + list(self.root.glob("index-*.faiss*")):
            m = re.match(r"^(?:chunks|index)-(\d+)\.", p.name)
            if m and int(m.group(1)) != keep_gen:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive lock for writers (fcntl.flock); a second ingest into the same KB waits."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK, "a+") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """Open a chunk store; read-only connections use SQLite's URI mode=ro."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.executescript(SCHEMA)
    conn.row_factory = sqlite3.Row
    return conn


def copy_store(src: Path | None, dst: Path) -> sqlite3.Connection:
    """Create `dst` as a copy of `src` (SQLite backup API) or empty; returns a writable connection."""
    with contextlib.suppress(FileNotFoundError):
        dst.unlink()
    conn = connect(dst)
    if src is not None:
        source = connect(src, readonly=True)
        try:
            source.backup(conn)
        finally:
            source.close()
    conn.execute("PRAGMA journal_mode=DELETE")
    return conn


def now() -> float:
    return time.time()
