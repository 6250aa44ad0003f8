"""Conformance suites: the same contract tests for every implementation of the storage protocols.

    class TestMyIndex(VectorIndexConformance):
        @pytest.fixture()
        def make_index(self):
            return lambda dim: MyIndex(dim)

VectorIndexConformance needs `make_index(dim) -> VectorIndex`; ChunkStoreConformance needs
`make_store() -> ChunkStore` (empty, writable); KnowledgeBaseConformance needs
`make_kb(embedder) -> KnowledgeBase` (empty, e.g. a new directory or database schema). Results are
compared with brute force (faiss's own tests do the same).
"""

from __future__ import annotations

import numpy as np
import pytest

from ragbot.errors import EmptyKnowledgeBaseError, InputError
from ragbot.kb.protocols import ChangeSet, FileChange, FileRecord
from ragbot.types import Chunk

DIM = 16


def _unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _chunk(i: int, source: str = "a.md", scope: dict | None = None) -> Chunk:
    return Chunk(chunk_id=f"c{i:04d}", text=f"text {i}", source=source, doc_type="document",
                 metadata={"n": i}, scope=scope or {})


def _change(path: str, chunks: list[Chunk], vectors: dict | None = None, scope: dict | None = None) -> ChangeSet:
    rec = FileRecord(path=path, sha256="0" * 64, size=1, doc_type="document", scope=scope or {}, n_documents=1)
    vecs = vectors if vectors is not None else {c.chunk_id: _unit(1, hash(c.chunk_id) % 1000)[0] for c in chunks}
    return ChangeSet(upserts=(FileChange(rec, tuple(chunks)),), vectors=vecs)


class VectorIndexConformance:
    """add / remove / ids / search with and without allowed ids, against brute force."""

    def test_search_matches_brute_force(self, make_index):
        idx = make_index(DIM)
        vecs, ids = _unit(50), np.arange(100, 150, dtype=np.int64)
        idx.add(vecs, ids)
        q = _unit(3, seed=1)
        scores, got = idx.search(q, 5)
        want = ids[np.argsort(-(q @ vecs.T), axis=1)[:, :5]]
        assert scores.shape == (3, 5) and scores.dtype == np.float32 and got.dtype == np.int64
        assert (got == want).all()

    def test_allowed_ids_filter_before_ranking(self, make_index):
        idx = make_index(DIM)
        idx.add(_unit(40), np.arange(40, dtype=np.int64))
        allowed = np.array([3, 7, 11], dtype=np.int64)
        scores, got = idx.search(_unit(1, seed=2), 5, allowed_ids=allowed)
        assert set(got[0, :3]) == {3, 7, 11} and (got[0, 3:] == -1).all() and np.isneginf(scores[0, 3:]).all()

    def test_remove_and_ids(self, make_index):
        idx = make_index(DIM)
        idx.add(_unit(10), np.arange(10, dtype=np.int64))
        assert idx.remove(np.array([2, 3, 99], dtype=np.int64)) == 2
        assert idx.ntotal == 8 and sorted(idx.ids().tolist()) == [0, 1, 4, 5, 6, 7, 8, 9]
        _, got = idx.search(_unit(1), 10)
        assert 2 not in got and 3 not in got

    def test_bad_input_raises_input_error(self, make_index):
        idx = make_index(DIM)
        with pytest.raises(InputError):
            idx.add(_unit(2)[:, :5], np.arange(2))
        with pytest.raises(InputError):
            idx.add(_unit(2), np.array([1, 1]))

    def test_empty_index_returns_sentinels(self, make_index):
        scores, got = make_index(DIM).search(_unit(2), 3)
        assert (got == -1).all() and np.isneginf(scores).all()


class ChunkStoreConformance:
    """apply / files / chunks / scope filters / catalog / dedup of identical chunks."""

    def test_apply_then_read(self, make_store):
        store = make_store()
        chunks = [_chunk(i, scope={"property": "oak"}) for i in range(3)]
        applied = store.apply(_change("/d/a.md", chunks, scope={"property": "oak"}), next_id=0)
        assert applied.added_ids == (0, 1, 2) and applied.removed_ids == ()
        assert store.counts() == (1, 3)
        got = store.chunks_by_ids([0, 2, 99])
        assert set(got) == {0, 2} and got[2] == chunks[2]
        assert store.files()[0].path == "/d/a.md" and dict(store.files()[0].scope) == {"property": "oak"}
        assert store.known_chunk_ids(["c0001", "zzz"]) == {"c0001"}

    def test_shared_chunk_stored_once_and_orphans_removed(self, make_store):
        store = make_store()
        store.apply(_change("/d/a.md", [_chunk(1), _chunk(2)]), next_id=0)
        applied = store.apply(_change("/d/b.md", [_chunk(2), _chunk(3)]), next_id=2)
        assert applied.added_chunk_ids == ("c0003",) and store.counts() == (2, 3)
        rec = FileRecord("/d/a.md", "1" * 64, 1, "document")
        gone = store.apply(ChangeSet(upserts=(FileChange(rec, (_chunk(4),)),), vectors={}), next_id=3)
        assert gone.removed_ids == (0,), "c0001 belonged to a.md only"
        removed = store.apply(ChangeSet(removals=("/d/b.md",)), next_id=4)
        assert sorted(removed.removed_ids) == [1, 2] and store.counts() == (1, 1)

    def test_scope_and_source_filters(self, make_store):
        store = make_store()
        store.apply(_change("/d/oak.md", [_chunk(1, "oak.md", {"property": "oak"})]), next_id=0)
        store.apply(_change("/d/pine.md", [_chunk(2, "pine.md", {"property": "pine"})]), next_id=1)
        store.apply(_change("/d/faq.md", [_chunk(3, "faq.md")]), next_id=2)
        assert store.allowed_ids(None) is None
        assert store.allowed_ids({"property": "oak"}).tolist() == [0]
        assert sorted(store.allowed_ids({"property": "oak"}, include_unscoped=True).tolist()) == [0, 2]
        assert store.allowed_ids(None, sources=["pine.md"]).tolist() == [1]
        assert store.allowed_ids(None, sources=[]).tolist() == []
        assert store.scope_values("property") == ["oak", "pine"]
        assert {(e.source, tuple(e.scope.items())) for e in store.source_catalog()} == {
            ("oak.md", (("property", "oak"),)), ("pine.md", (("property", "pine"),)), ("faq.md", ())}


class KnowledgeBaseConformance:
    """A whole KnowledgeBase over the backend: ingest, search, incremental re-ingest, prune."""

    def _docs(self, tmp_path):
        (tmp_path / "docs").mkdir()
        (tmp_path / "docs" / "pets.md").write_text("# Pets\n\nCats are allowed. Dogs need approval.\n")
        (tmp_path / "docs" / "fees.md").write_text("# Fees\n\nThe late fee is $50 after the fifth day.\n")
        return tmp_path / "docs"

    def test_ingest_search_reingest_prune(self, make_kb, tmp_path):
        from ragbot.kb.embedders.hashing import HashingEmbedder

        kb = make_kb(HashingEmbedder(64))
        with pytest.raises(EmptyKnowledgeBaseError):
            kb.search("anything")
        docs = self._docs(tmp_path)
        first = kb.ingest([docs], scope={"property": "oak"})
        assert first.added == 2 and len(kb) == first.chunks > 0
        hits = kb.search("late fee", k=2, scope={"property": "oak"})
        assert hits[0].chunk.source == "fees.md" and hits[0].score >= hits[-1].score
        assert kb.search("late fee", k=2, scope={"property": "pine"}) == []
        again = kb.ingest([docs], scope={"property": "oak"})
        assert again.unchanged == 2 and again.new_chunks == 0
        (docs / "pets.md").unlink()
        pruned = kb.ingest([docs], scope={"property": "oak"}, prune=True)
        assert pruned.removed == 1 and {h.chunk.source for h in kb.search("cats", k=5)} == {"fees.md"}

    def test_unknown_scope_value_names_the_nearest(self, make_kb, tmp_path):
        from ragbot.kb.embedders.hashing import HashingEmbedder

        kb = make_kb(HashingEmbedder(64))
        kb.ingest([self._docs(tmp_path)], scope={"property": "oak-street"})
        with pytest.raises(InputError, match="did you mean oak-street"):
            kb.check_scope({"property": "oak-stret"})
