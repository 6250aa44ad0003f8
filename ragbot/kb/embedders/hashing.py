"""A deterministic hashing embedder: the test double for Bot, retrieval and index tests.

Bag of word unigrams and bigrams hashed (blake2b) into `dim` buckets with signs, then
L2-normalised: texts sharing words score higher. Milliseconds, no model, not for production.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

from ragbot.kb.embedders.base import normalize

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    def __init__(self, dim: int = 256):
        if dim < 8:
            raise ValueError(f"HashingEmbedder dim must be >= 8, got {dim}")
        self._dim = int(dim)
        self.name = f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        words = _WORD.findall(text.lower())
        grams = words + [a + " " + b for a, b in zip(words, words[1:])]
        for g in grams:
            h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
            v[h % self._dim] += 1.0 if (h >> 63) else -1.0
        return v

    def embed_documents(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """float32 (len(texts), dim), rows L2-normalised."""
        if len(texts) == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        return normalize(np.stack([self._vector(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        """float32 (dim,), L2-normalised."""
        return self.embed_documents([text])[0]
