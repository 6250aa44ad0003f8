"""Hybrid retrieval: BM25 (bm25s) fused with dense search by reciprocal rank fusion."""

from __future__ import annotations

import numpy as np

from ragbot.config import KBConfig
from ragbot.kb import KnowledgeBase
from ragbot.kb.lexical import LexicalIndex, rrf


class FlatEmbedder:
    """Every text gets the same vector: dense ranking carries no information."""

    name, dim = "flat-test", 8

    def embed_documents(self, texts):
        v = np.ones((len(texts), self.dim), np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def _kb(tmp_path, lexical: bool):
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    for i in range(30):
        (docs / f"d{i:02d}.md").write_text(f"# Note {i}\n\nGeneral text about the building number {i}.\n")
    (docs / "zz.md").write_text("# Rules\n\nClause 14.3 covers the Quokka Lofts rooftop terrace.\n")
    kb = KnowledgeBase.in_memory(FlatEmbedder(), config=KBConfig(lexical=lexical))
    kb.ingest([docs])
    return kb


def test_rare_words_are_found_by_bm25(tmp_path):
    hits = _kb(tmp_path, lexical=True).search("Quokka Lofts terrace", k=3)
    found = [h for h in hits if h.chunk.source == "zz.md"]
    assert found and found[0].rank <= 1  # tied with the dense top hit under reciprocal rank fusion
    assert abs(found[0].score - 1.0) < 1e-5  # the cosine from the stored vector, not a BM25 score


def test_without_lexical_the_dense_ranking_alone_misses_it(tmp_path):
    hits = _kb(tmp_path, lexical=False).search("Quokka Lofts terrace", k=3)
    assert "zz.md" not in [h.chunk.source for h in hits]


def test_lexical_index_respects_allowed_ids_and_rrf_order():
    idx = LexicalIndex([10, 11, 12], ["cats allowed", "dogs allowed", "parking rules"])
    assert [i for i, _ in idx.search("dogs", 2)] == [11]
    assert idx.search("dogs", 2, allowed_ids=np.array([10, 12])) == []
    assert rrf([[1, 2, 3], [3, 4]]) == [3, 1, 2, 4]
