"""Exact brute-force inner-product search in NumPy: the reference FAISS is tested against."""

from __future__ import annotations

import numpy as np

from ragbot.errors import InputError
from ragbot.kb.index.base import check_ids, check_vectors


class NumpyIndex:
    """Exact search; O(n*dim) per query. Same contract as VectorIndex."""

    def __init__(self, dim: int):
        self._dim = int(dim)
        self._vectors = np.zeros((0, self._dim), dtype=np.float32)
        self._ids = np.zeros((0,), dtype=np.int64)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def ntotal(self) -> int:
        return int(self._ids.shape[0])

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        v = check_vectors(vectors, self._dim)
        i = check_ids(ids, v.shape[0])
        if np.isin(i, self._ids).any():
            raise InputError("some ids are already in the index; remove them first")
        self._vectors = np.concatenate([self._vectors, v])
        self._ids = np.concatenate([self._ids, i])

    def ids(self) -> np.ndarray:
        """int64 (ntotal,) ids in insertion order."""
        return self._ids.copy()

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """float32 (len(ids), dim) stored vectors of the given ids; InputError for unknown ids."""
        pos = {int(i): n for n, i in enumerate(self._ids)}
        try:
            return self._vectors[[pos[int(i)] for i in np.asarray(ids).reshape(-1)]]
        except KeyError as e:
            raise InputError(f"id {e.args[0]} is not in the index") from e

    def copy(self) -> "NumpyIndex":
        out = NumpyIndex(self._dim)
        out._vectors, out._ids = self._vectors.copy(), self._ids.copy()
        return out

    def save(self, path) -> None:
        """Write vectors and ids to `path` (.npz). Callers make it atomic (temp name, rename)."""
        with open(path, "wb") as f:
            np.savez(f, vectors=self._vectors, ids=self._ids)

    @classmethod
    def load(cls, path) -> "NumpyIndex":
        with np.load(path) as data:
            out = cls(data["vectors"].shape[1])
            out._vectors, out._ids = data["vectors"].astype(np.float32), data["ids"].astype(np.int64)
        return out

    def remove(self, ids: np.ndarray) -> int:
        mask = np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._vectors, self._ids = self._vectors[~mask], self._ids[~mask]
        return int(mask.sum())

    def search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None):
        q = check_vectors(queries, self._dim, "queries")
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        vecs, ids = self._vectors, self._ids
        if allowed_ids is not None:
            mask = np.isin(ids, np.asarray(allowed_ids, dtype=np.int64))
            vecs, ids = vecs[mask], ids[mask]
        scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        out = np.full((q.shape[0], k), -1, dtype=np.int64)
        if ids.shape[0]:
            sims = q @ vecs.T
            kk = min(k, ids.shape[0])
            # stable sort on -score, ties broken by id for determinism
            order = np.lexsort((np.broadcast_to(ids, sims.shape), -sims), axis=1)[:, :kk]
            scores[:, :kk] = np.take_along_axis(sims, order, axis=1)
            out[:, :kk] = ids[order]
        return scores, out
