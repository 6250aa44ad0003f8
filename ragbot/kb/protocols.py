"""The storage protocols a KnowledgeBase is composed of (haystack's DocumentStore style).

- `ChunkStore`: files, chunks, metadata and scope of one generation (read side) and the one
  mutation `apply(change)`. Implementations: `SQLiteChunkStore` (kb/sqlite_store.py, the default),
  `MemoryChunkStore` (kb/memory_store.py, for fast tests), Postgres (kb/postgres.py).
- `VectorIndex` (kb/index/base.py): add, remove, search restricted to allowed ids, ids, save/load.
  Implementations: FaissIndex (default), NumpyIndex (exact reference), pgvector.
- `Embedder` (kb/embedders/base.py): texts -> float32 (n, dim), L2-normalised.
- `Storage`: where one knowledge base lives; opens the current generation and applies a
  `ChangeSet` atomically as one new generation (`DirectoryStorage`: FAISS + SQLite files switched
  by an atomic manifest rename; `MemoryStorage`: NumPy + memory; Postgres: one transaction).

Ingest (kb/ingest/pipeline.py) never touches a backend directly: it builds a `ChangeSet` and hands
it to `Storage.commit`. Every implementation passes the suites in `ragbot.testing.conformance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ContextManager, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from ragbot.kb.index.base import VectorIndex
from ragbot.types import Chunk

__all__ = ["FileRecord", "FileChange", "ChangeSet", "SourceEntry", "ChunkStore", "VectorIndex", "Storage",
           "Generation"]


@dataclass(frozen=True)
class FileRecord:
    """One ingested file. path: absolute path (the key); sha256: hex digest of its bytes; size in
    bytes; scope: the key=value pairs given at ingest; n_documents: loader output count;
    ingested_at: Unix seconds."""

    path: str
    sha256: str
    size: int
    doc_type: str
    scope: Mapping[str, str] = field(default_factory=dict)
    n_documents: int = 0
    ingested_at: float = 0.0


@dataclass(frozen=True)
class FileChange:
    """A file to add or replace, with all of its chunks (in document order)."""

    record: FileRecord
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True)
class ChangeSet:
    """What one ingest changes, applied as one generation.

    upserts: files added or changed (a changed file's old chunk links are dropped first).
    removals: paths of files to drop (prune).
    vectors: chunk_id -> float32 (dim,) embedding, for every upserted chunk the store does not
    hold yet (`ChunkStore.known_chunk_ids`). Chunks left without any file are deleted, with their
    vectors."""

    upserts: tuple[FileChange, ...] = ()
    removals: tuple[str, ...] = ()
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.upserts and not self.removals


@dataclass(frozen=True)
class SourceEntry:
    """One (source, scope) pair of the store: what users name documents by (chat/retrieval.Group)."""

    source: str
    doc_type: str
    scope: Mapping[str, str]
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class AppliedChange:
    """What `ChunkStore.apply` did: int64 ids (as in the VectorIndex) added with their chunk_ids,
    and ids removed (orphaned chunks)."""

    added_ids: tuple[int, ...]
    added_chunk_ids: tuple[str, ...]
    removed_ids: tuple[int, ...]


@runtime_checkable
class ChunkStore(Protocol):
    """Files and chunks of one generation. Chunk ids are int64 >= 0, the VectorIndex's ids."""

    def files(self) -> list[FileRecord]:
        """All ingested files, sorted by path."""
        ...

    def counts(self) -> tuple[int, int]:
        """(files, chunks)."""
        ...

    def chunks_by_ids(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """int64 ids -> Chunk; unknown ids are absent from the result."""
        ...

    def known_chunk_ids(self, chunk_ids: Sequence[str]) -> set[str]:
        """The subset of content ids (Chunk.chunk_id) already stored (so they need no embedding)."""
        ...

    def allowed_ids(self, scope: Mapping[str, str] | None, include_unscoped: bool = False,
                    sources: Sequence[str] | None = None) -> np.ndarray | None:
        """int64 ids matching every key=value of `scope` (with include_unscoped, chunks lacking
        the key pass too) and, when given, one of `sources`; None = no filter."""
        ...

    def scope_values(self, key: str) -> list[str]:
        """Distinct values of scope `key` across chunks, sorted."""
        ...

    def source_catalog(self) -> list[SourceEntry]:
        """One entry per (source, scope)."""
        ...

    def close(self) -> None:
        """Release connections (readers of a replaced generation)."""
        ...

    def apply(self, change: ChangeSet, next_id: int) -> AppliedChange:
        """Apply `change` in place, numbering new chunks from `next_id`. Atomicity is the
        Storage's job (it applies to a copy, or inside a transaction)."""
        ...


@dataclass(frozen=True)
class Generation:
    """One consistent, readable state of a knowledge base: its chunk store, its vector index and
    its manifest (format_version, generation, embedder {name, dim}, counts, next_id)."""

    store: ChunkStore
    index: VectorIndex
    manifest: Mapping[str, Any]


class Storage(Protocol):
    """Where a knowledge base lives. `commit` is atomic: readers see the old generation or the
    new one, never a mix; a process killed during it leaves the old generation intact."""

    location: str

    def exists(self) -> bool: ...

    def load(self) -> Generation:
        """The current generation. Raises KnowledgeBaseError when there is none,
        IndexMismatchError for another format version."""
        ...

    def commit(self, current: Generation | None, change: ChangeSet, manifest: Mapping[str, Any],
               new_index) -> Generation:
        """Apply `change` on top of `current` (None: empty KB; then `new_index(dim, n_vectors)`
        makes the index) and switch to the result. `manifest` holds the fields the KB sets (embedder,
        chunking); the storage adds generation, counts and next_id."""
        ...

    def write_lock(self) -> ContextManager[None]:
        """Serialises writers (a second ingest waits)."""
        ...
