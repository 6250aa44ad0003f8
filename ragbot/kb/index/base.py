"""The VectorIndex protocol: inner-product search over L2-normalised float32 vectors with stable
int64 ids (faiss conventions: a missing result has id -1)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ragbot.errors import InputError


@runtime_checkable
class VectorIndex(Protocol):
    @property
    def dim(self) -> int: ...

    @property
    def ntotal(self) -> int: ...

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """vectors float32 (n, dim); ids int64 (n,), unique and not already present."""
        ...

    def remove(self, ids: np.ndarray) -> int:
        """Removes the given int64 ids; returns how many were present."""
        ...

    def ids(self) -> np.ndarray:
        """int64 (ntotal,) ids in insertion order."""
        ...

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """float32 (len(ids), dim): the stored vectors of `ids` (InputError for an unknown id)."""
        ...

    def save(self, path) -> None:
        """Write the index to `path` (callers make it atomic)."""
        ...

    def search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """queries float32 (n, dim) -> (scores float32 (n, k), ids int64 (n, k)), best first.

        Scores are inner products (cosine for normalised vectors). When fewer than k vectors
        qualify, the tail holds id -1 and score -inf. `allowed_ids` restricts the search to
        those ids *before* ranking (exact for the flat index), so k hits come back whenever
        at least k allowed vectors exist."""
        ...


def check_vectors(vectors: np.ndarray, dim: int, what: str = "vectors") -> np.ndarray:
    """Validate and convert to C-contiguous float32 (n, dim); raises InputError naming the problem."""
    arr = np.asarray(vectors)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InputError(f"{what} must have shape (n, {dim}); got {tuple(np.shape(vectors))}")
    if not np.isfinite(arr).all():
        raise InputError(f"{what} contain NaN or infinite values")
    return np.ascontiguousarray(arr, dtype=np.float32)


def check_ids(ids: np.ndarray, n: int) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
    if arr.shape[0] != n:
        raise InputError(f"got {arr.shape[0]} ids for {n} vectors")
    if (arr < 0).any():
        raise InputError("ids must be non-negative int64 (-1 is faiss's 'no result' sentinel)")
    if np.unique(arr).shape[0] != n:
        raise InputError("ids must be unique")
    return arr
