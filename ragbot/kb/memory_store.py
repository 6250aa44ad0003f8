"""MemoryChunkStore: the ChunkStore protocol in Python dicts, for fast tests and notebooks.
Same semantics as SQLiteChunkStore (the conformance suite checks both)."""

from __future__ import annotations

import copy
from typing import Mapping, Sequence

import numpy as np

from ragbot.kb.protocols import AppliedChange, ChangeSet, FileRecord, SourceEntry
from ragbot.kb.scope import check_scope
from ragbot.types import Chunk


class MemoryChunkStore:
    """ChunkStore in memory. `copy()` gives an independent store (copy-on-write generations)."""

    def __init__(self):
        self._files: dict[str, FileRecord] = {}
        self._chunks: dict[int, Chunk] = {}
        self._by_cid: dict[str, int] = {}
        self._links: dict[int, set[str]] = {}

    def close(self) -> None:
        """Nothing to release (protocol symmetry with SQLiteChunkStore)."""

    def copy(self) -> "MemoryChunkStore":
        return copy.deepcopy(self)

    def files(self) -> list[FileRecord]:
        return [self._files[p] for p in sorted(self._files)]

    def counts(self) -> tuple[int, int]:
        return len(self._files), len(self._chunks)

    def chunks_by_ids(self, ids: Sequence[int]) -> dict[int, Chunk]:
        return {int(i): self._chunks[int(i)] for i in ids if int(i) in self._chunks}

    def known_chunk_ids(self, chunk_ids: Sequence[str]) -> set[str]:
        return {c for c in chunk_ids if c in self._by_cid}

    def allowed_ids(self, scope: Mapping[str, str] | None, include_unscoped: bool = False,
                    sources: Sequence[str] | None = None) -> np.ndarray | None:
        scope = check_scope(scope)
        if not scope and sources is None:
            return None
        wanted = None if sources is None else set(sources)

        def ok(c: Chunk) -> bool:
            if wanted is not None and c.source not in wanted:
                return False
            return all(c.scope.get(k) == v or (include_unscoped and k not in c.scope) for k, v in scope.items())
        return np.array(sorted(i for i, c in self._chunks.items() if ok(c)), dtype=np.int64)

    def scope_values(self, key: str) -> list[str]:
        return sorted({c.scope[key] for c in self._chunks.values() if key in c.scope})

    def source_catalog(self) -> list[SourceEntry]:
        seen: dict[tuple, SourceEntry] = {}
        for i in sorted(self._chunks):
            c = self._chunks[i]
            key = (c.source, tuple(sorted(c.scope.items())))
            seen.setdefault(key, SourceEntry(c.source, c.doc_type, dict(c.scope), dict(c.metadata)))
        return list(seen.values())

    def apply(self, change: ChangeSet, next_id: int) -> AppliedChange:
        for path in [u.record.path for u in change.upserts] + list(change.removals):
            self._files.pop(path, None)
            for links in self._links.values():
                links.discard(path)
        added_ids, added_cids = [], []
        for up in change.upserts:
            self._files[up.record.path] = up.record
            for c in up.chunks:
                cid = self._by_cid.get(c.chunk_id)
                if cid is None:
                    cid, next_id = next_id, next_id + 1
                    self._chunks[cid], self._by_cid[c.chunk_id], self._links[cid] = c, cid, set()
                    added_ids.append(cid)
                    added_cids.append(c.chunk_id)
                self._links[cid].add(up.record.path)
        orphans = sorted(i for i, links in self._links.items() if not links)
        for i in orphans:
            del self._by_cid[self._chunks.pop(i).chunk_id], self._links[i]
        return AppliedChange(tuple(added_ids), tuple(added_cids), tuple(orphans))
