"""The Embedder protocol (haystack's TextEmbedder shape) and vector helpers."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to unit-length vectors so that inner product = cosine similarity.

    `name` identifies the model in the KB manifest (a KB built with one embedder refuses another);
    `dim` is the output dimension.
    """

    name: str

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Returns float32 array of shape (len(texts), dim), each row L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Returns float32 array of shape (dim,), L2-normalised."""
        ...


def normalize(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows of a (n, dim) array into a new C-contiguous float32 array.
    Zero rows stay zero (no division by zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)
