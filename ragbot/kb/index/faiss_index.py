"""FAISS inner-product index with stable int64 ids (IndexIDMap2), on the GPU when present.

Kinds: 'flat' (exact, IndexFlatIP) and 'hnsw' (approximate, IndexHNSWFlat, inner product).
The CPU index is the source of truth (it is what `save` writes); when a GPU is used, unfiltered
searches of a flat index run on a GPU copy made with `faiss.index_cpu_to_gpu`, rebuilt lazily after
changes. Filtered searches (scope) run on the CPU with an IDSelector, so filtering happens before
ranking.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ragbot.errors import ConfigError, InputError, KnowledgeBaseError
from ragbot.util import optional_import
from ragbot.kb.index.base import check_ids, check_vectors


def _faiss():
    return optional_import("faiss", package="faiss-cpu (or the 'gpu' extra: pip install 'ragbot[gpu]')")


def faiss_gpu_count() -> int:
    """Number of GPUs faiss can use (0 for faiss-cpu builds or machines without a GPU)."""
    faiss = _faiss()
    get = getattr(faiss, "get_num_gpus", None)
    try:
        return int(get()) if get else 0
    except Exception:  # a faiss-gpu build on a machine without a driver
        return 0


class FaissIndex:
    """VectorIndex over faiss. `use_gpu`: None = when faiss reports a GPU, True = require one
    (ConfigError otherwise), False = never. `kind`: 'flat' or 'hnsw' (m, ef_search as in faiss)."""

    def __init__(self, dim: int, kind: str = "flat", use_gpu: bool | None = None,
                 hnsw_m: int = 32, hnsw_ef_search: int = 128, _index=None):
        faiss = _faiss()
        if kind not in ("flat", "hnsw"):
            raise ConfigError(f"index kind must be 'flat' or 'hnsw', got {kind!r}")
        self._dim, self.kind = int(dim), kind
        self.hnsw_ef_search = hnsw_ef_search
        if _index is None:
            if kind == "flat":
                inner = faiss.IndexFlatIP(self._dim)
            else:
                inner = faiss.IndexHNSWFlat(self._dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
                inner.hnsw.efConstruction = max(40, hnsw_m * 2)
            _index = faiss.IndexIDMap2(inner)
        self._index = _index
        n_gpu = faiss_gpu_count() if use_gpu is not False else 0
        if use_gpu and n_gpu == 0:
            raise ConfigError("index.use_gpu is true but faiss reports no GPU; install 'ragbot[gpu]' "
                              "on a machine with a CUDA GPU, or set index.use_gpu to null")
        self.on_gpu = n_gpu > 0 and kind == "flat"
        self._gpu_index = None
        self._gpu_res = None

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """vectors float32 (n, dim) L2-normalised; ids int64 (n,) unique, not yet present."""
        v = check_vectors(vectors, self._dim)
        i = check_ids(ids, v.shape[0])
        if v.shape[0] == 0:
            return
        if self.ntotal and np.isin(i, self.ids()).any():
            raise InputError("some ids are already in the index; remove them first")
        self._index.add_with_ids(v, i)
        self._gpu_index = None

    def remove(self, ids: np.ndarray) -> int:
        faiss = _faiss()
        arr = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
        if arr.size == 0:
            return 0
        if self.kind == "hnsw":  # HNSW cannot remove in place: rebuild from the remaining vectors
            keep_ids = self.ids()
            keep_ids = keep_ids[~np.isin(keep_ids, arr)]
            vecs = self.reconstruct(keep_ids)
            removed = self.ntotal - keep_ids.shape[0]
            fresh = FaissIndex(self._dim, "hnsw", use_gpu=False, hnsw_ef_search=self.hnsw_ef_search)
            fresh.add(vecs, keep_ids)
            self._index = fresh._index
            return int(removed)
        n = self._index.remove_ids(faiss.IDSelectorBatch(arr))
        self._gpu_index = None
        return int(n)

    def ids(self) -> np.ndarray:
        """int64 (ntotal,) ids in insertion order."""
        return _faiss().vector_to_array(self._index.id_map).astype(np.int64)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """float32 (len(ids), dim) stored vectors of the given ids (KeyError-free: raises InputError)."""
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if arr.size == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        try:
            return np.stack([self._index.reconstruct(int(i)) for i in arr]).astype(np.float32)
        except RuntimeError as e:
            raise InputError(f"cannot reconstruct ids from the index: {e}") from e

    def _search_index(self):
        if not self.on_gpu:
            return self._index
        if self._gpu_index is None:
            faiss = _faiss()
            self._gpu_res = self._gpu_res or faiss.StandardGpuResources()
            self._gpu_index = faiss.index_cpu_to_gpu(self._gpu_res, 0, self._index)
        return self._gpu_index

    def search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None):
        """queries float32 (n, dim) -> (scores float32 (n, k), ids int64 (n, k)); missing: id -1,
        score -inf. `allowed_ids` filters before ranking (see VectorIndex.search)."""
        faiss = _faiss()
        q = check_vectors(queries, self._dim, "queries")
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        n = q.shape[0]
        if self.ntotal == 0:
            return np.full((n, k), -np.inf, np.float32), np.full((n, k), -1, np.int64)
        if allowed_ids is None:
            if self.kind == "hnsw":
                faiss.downcast_index(self._index.index).hnsw.efSearch = max(self.hnsw_ef_search, k)
            scores, ids = self._search_index().search(q, k)
        else:
            allowed = np.ascontiguousarray(np.asarray(allowed_ids, dtype=np.int64).reshape(-1))
            if allowed.size == 0:
                return np.full((n, k), -np.inf, np.float32), np.full((n, k), -1, np.int64)
            if self.kind == "hnsw":  # exact over the allowed subset: HNSW filtering can miss hits
                from ragbot.kb.index.numpy_index import NumpyIndex
                sub = NumpyIndex(self._dim)
                allowed = allowed[np.isin(allowed, self.ids())]
                sub.add(self.reconstruct(allowed), allowed)
                return sub.search(q, k)
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            scores, ids = self._index.search(q, k, params=params)
        scores = scores.astype(np.float32)
        scores[ids < 0] = -np.inf
        return scores, ids.astype(np.int64)

    def save(self, path: str | os.PathLike) -> None:
        """Write the (CPU) index to `path`. Callers make it atomic (write to a temp name, rename)."""
        _faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: str | os.PathLike, use_gpu: bool | None = None, hnsw_ef_search: int = 128) -> "FaissIndex":
        """Read an index written by `save`; raises KnowledgeBaseError when it is unreadable."""
        faiss = _faiss()
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise KnowledgeBaseError(f"cannot read FAISS index {path}: {e}; re-ingest into a new --kb directory") from e
        inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
        kind = "hnsw" if "HNSW" in type(inner).__name__ else "flat"
        if not isinstance(index, faiss.IndexIDMap2):
            raise KnowledgeBaseError(f"{path} is not a ragbot index (expected IndexIDMap2); re-ingest")
        return cls(index.d, kind=kind, use_gpu=use_gpu, hnsw_ef_search=hnsw_ef_search, _index=index)

    @staticmethod
    def exists(path: str | os.PathLike) -> bool:
        return Path(path).is_file()
