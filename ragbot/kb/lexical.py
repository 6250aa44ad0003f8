"""Lexical retrieval (BM25, the `bm25s` package) and reciprocal rank fusion with dense retrieval.

Dense embeddings miss rare exact words: clause numbers, listing titles, names, street numbers.
`LexicalIndex` scores every chunk of a generation with BM25 (Robertson et al.; bm25s defaults
k1=1.5, b=0.75, English stopwords) and `rrf` fuses ranked lists by reciprocal rank fusion
(Cormack, Clarke & Büttcher 2009: score = sum over lists of 1 / (k + rank), k = 60).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ragbot.util import optional_import


class LexicalIndex:
    """BM25 over chunk texts. ids: int64 (n,) vector-index ids aligned with `texts`."""

    def __init__(self, ids: Sequence[int], texts: Sequence[str]):
        bm25s = optional_import("bm25s", package="bm25s")
        self.ids = np.asarray(ids, dtype=np.int64)
        self._bm25s = bm25s
        self._retriever = bm25s.BM25()
        if len(texts):
            self._retriever.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)

    def search(self, query: str, k: int, allowed_ids: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, BM25 score > 0) for `query`, best first, restricted to `allowed_ids` (None:
        all) before ranking."""
        if not len(self.ids):
            return []
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
        if not tokens:
            return []
        scores = np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)
        if allowed_ids is not None:
            scores = np.where(np.isin(self.ids, allowed_ids), scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]


def rrf(rankings: Sequence[Sequence[int]], k: int = 60) -> list[int]:
    """Ids ordered by reciprocal rank fusion of the given rankings (each best first); ties keep
    the order of first appearance."""
    score: dict[int, float] = {}
    for ranking in rankings:
        for rank, i in enumerate(ranking):
            score[i] = score.get(i, 0.0) + 1.0 / (k + rank + 1)
    return sorted(score, key=lambda i: -score[i])
