"""The conformance suites (ragbot.testing.conformance) on every built-in backend: each factory
fixture below is parametrized over the backends, so every backend runs the same tests."""

from __future__ import annotations

import pytest

from ragbot.kb import KnowledgeBase
from ragbot.kb.index import FaissIndex, NumpyIndex
from ragbot.kb.memory_store import MemoryChunkStore
from ragbot.kb.sqlite_store import SQLiteChunkStore
from ragbot.testing.conformance import ChunkStoreConformance, KnowledgeBaseConformance, VectorIndexConformance


@pytest.fixture(params=["faiss-flat", "faiss-hnsw", "numpy"])
def make_index(request):
    return {"faiss-flat": lambda dim: FaissIndex(dim, kind="flat", use_gpu=False),
            "faiss-hnsw": lambda dim: FaissIndex(dim, kind="hnsw", use_gpu=False),
            "numpy": NumpyIndex}[request.param]


@pytest.fixture(params=["sqlite", "memory"])
def make_store(request, tmp_path):
    return {"sqlite": lambda: SQLiteChunkStore.open(tmp_path / "chunks.sqlite"),
            "memory": MemoryChunkStore}[request.param]


@pytest.fixture(params=["directory", "memory"])
def make_kb(request, tmp_path):
    return {"directory": lambda emb: KnowledgeBase.open(tmp_path / "kb", embedder=emb, create=True),
            "memory": KnowledgeBase.in_memory}[request.param]


class TestVectorIndexes(VectorIndexConformance):
    """FaissIndex (flat, HNSW) and NumpyIndex."""


class TestChunkStores(ChunkStoreConformance):
    """SQLiteChunkStore and MemoryChunkStore."""


class TestKnowledgeBases(KnowledgeBaseConformance):
    """A KB directory and an in-memory KB."""
