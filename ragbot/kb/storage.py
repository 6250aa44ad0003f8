"""Storage backends of a KnowledgeBase (the `Storage` protocol in kb/protocols.py).

DirectoryStorage, the default (`--kb DIR`):
    manifest.json            format version, generation, embedder name/dim, chunking, counts, next_id
    chunks-<gen>.sqlite      the SQLiteChunkStore of generation <gen>
    index-<gen>.faiss        FAISS IndexIDMap2 over the chunk embeddings; id = chunks.id (int64)
    config.json              optional BotConfig for this KB
    sessions.sqlite, state.sqlite, handoffs.jsonl   conversation state (ragbot.state)
Atomicity: a change is written as a *new generation* (a copy of the chunk store and a new index
file), fsynced, and only then does `manifest.json` switch to it with an atomic rename. A process
killed at any point leaves the manifest naming the previous, complete generation; files of
unfinished generations are deleted by the next writer.

MemoryStorage: NumPy index + MemoryChunkStore, copy-on-write generations, nothing on disk.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from ragbot.errors import IndexMismatchError, KnowledgeBaseError
from ragbot.kb.memory_store import MemoryChunkStore
from ragbot.kb.protocols import ChangeSet, Generation
from ragbot.kb.sqlite_store import SQLiteChunkStore, connect
from ragbot.util import atomic_write_text, fsync_file

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".ingest.lock"


def apply_change(gen: Generation | None, store, index, change: ChangeSet, manifest: Mapping[str, Any]) -> dict:
    """Apply `change` to `store` and `index` (both already copies of `gen`'s); returns the new
    manifest. Raises RuntimeError when store and index disagree (the caller keeps the old KB)."""
    next_id = int(gen.manifest.get("next_id", 0)) if gen else 0
    applied = store.apply(change, next_id)
    if applied.removed_ids:
        index.remove(np.array(applied.removed_ids, dtype=np.int64))
    if applied.added_ids:
        vecs = np.stack([change.vectors[c] for c in applied.added_chunk_ids]).astype(np.float32)
        index.add(vecs, np.array(applied.added_ids, dtype=np.int64))
    n_files, n_chunks = store.counts()
    if n_chunks != index.ntotal:
        raise RuntimeError(f"internal error: {n_chunks} chunks but {index.ntotal} vectors; the previous KB is kept")
    return {**manifest, "format_version": FORMAT_VERSION, "generation": (gen.manifest["generation"] if gen else 0) + 1,
            "counts": {"chunks": n_chunks, "files": n_files},
            "next_id": max([next_id - 1, *applied.added_ids], default=-1) + 1}


class DirectoryStorage:
    """FAISS + SQLite generations in one directory (module docstring)."""

    def __init__(self, root: str | Path, use_gpu: bool | None = None, hnsw_ef_search: int = 128):
        self.root = Path(root)
        self.location = str(self.root)
        self.use_gpu, self.hnsw_ef_search = use_gpu, hnsw_ef_search

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def chunks_path(self, gen: int) -> Path:
        return self.root / f"chunks-{gen}.sqlite"

    def index_path(self, gen: int) -> Path:
        return self.root / f"index-{gen}.faiss"

    def read_manifest(self) -> dict[str, Any]:
        if self.root.exists() and not self.root.is_dir():
            raise KnowledgeBaseError(f"--kb {self.root} is a file, not a knowledge-base directory; "
                                     "give a directory (it is created by: ragbot ingest PATH --kb DIR)")
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

    def load(self) -> Generation:
        from ragbot.kb.index import FaissIndex

        m = self.read_manifest()
        gen = int(m["generation"])
        store = SQLiteChunkStore.open(self.chunks_path(gen), readonly=True)
        index = FaissIndex.load(self.index_path(gen), use_gpu=self.use_gpu, hnsw_ef_search=self.hnsw_ef_search)
        return Generation(store, index, m)

    def commit(self, current: Generation | None, change: ChangeSet, manifest: Mapping[str, Any],
               new_index: Callable[[int], Any]) -> Generation:
        from ragbot.kb.index import FaissIndex

        old = int(current.manifest["generation"]) if current else None
        self.cleanup(keep_gen=old)  # leftovers of a killed writer
        new = (old or 0) + 1
        chunks_path, index_path = self.chunks_path(new), self.index_path(new)
        conn = _copy_store(self.chunks_path(old) if old else None, chunks_path)
        try:
            index = FaissIndex.load(self.index_path(old), use_gpu=False) if old else new_index(manifest["embedder"]["dim"], len(change.vectors))
            m = apply_change(current, SQLiteChunkStore(conn), index, change, manifest)
        finally:
            conn.close()
        fsync_file(chunks_path)
        index.save(index_path)
        fsync_file(index_path)
        m["index"] = {"kind": index.kind}
        atomic_write_text(self.manifest_path, json.dumps(m, indent=2, sort_keys=True))  # the switch
        if current is not None:
            current.store.close()
        self.cleanup(keep_gen=new)
        return self.load()

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


def _copy_store(src: Path | None, dst: Path):
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


class MemoryStorage:
    """NumPy index + MemoryChunkStore; each commit builds copies and swaps them in (readers of the
    old Generation are unaffected)."""

    def __init__(self, location: str = "memory"):
        self.location = location
        self._current: Generation | None = None
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self._current is not None

    def load(self) -> Generation:
        if self._current is None:
            raise KnowledgeBaseError(f"the in-memory knowledge base {self.location} is empty; ingest documents first")
        return self._current

    def commit(self, current: Generation | None, change: ChangeSet, manifest: Mapping[str, Any],
               new_index: Callable[[int], Any]) -> Generation:
        from ragbot.kb.index import NumpyIndex

        store = current.store.copy() if current else MemoryChunkStore()
        index = current.index.copy() if current else NumpyIndex(manifest["embedder"]["dim"])
        m = apply_change(current, store, index, change, manifest)
        m["index"] = {"kind": "exact"}
        self._current = Generation(store, index, m)
        return self._current

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        with self._lock:
            yield
