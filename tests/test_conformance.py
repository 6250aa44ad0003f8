"""The conformance suites (ragbot.testing.conformance) on every built-in backend."""

from __future__ import annotations

import pytest

from ragbot.kb import KnowledgeBase
from ragbot.kb.index import FaissIndex, NumpyIndex
from ragbot.kb.memory_store import MemoryChunkStore
from ragbot.kb.sqlite_store import SQLiteChunkStore
from ragbot.testing.conformance import ChunkStoreConformance, KnowledgeBaseConformance, VectorIndexConformance


class TestFaissFlat(VectorIndexConformance):
    @pytest.fixture()
    def make_index(self):
        return lambda dim: FaissIndex(dim, kind="flat", use_gpu=False)


class TestFaissHNSW(VectorIndexConformance):
    @pytest.fixture()
    def make_index(self):
        return lambda dim: FaissIndex(dim, kind="hnsw", use_gpu=False)


class TestNumpyIndex(VectorIndexConformance):
    @pytest.fixture()
    def make_index(self):
        return NumpyIndex


class TestSQLiteStore(ChunkStoreConformance):
    @pytest.fixture()
    def make_store(self, tmp_path):
        return lambda: SQLiteChunkStore.open(tmp_path / "chunks.sqlite")


class TestMemoryStore(ChunkStoreConformance):
    @pytest.fixture()
    def make_store(self):
        return MemoryChunkStore


class TestDirectoryKB(KnowledgeBaseConformance):
    @pytest.fixture()
    def make_kb(self, tmp_path):
        return lambda emb: KnowledgeBase.open(tmp_path / "kb", embedder=emb, create=True)


class TestMemoryKB(KnowledgeBaseConformance):
    @pytest.fixture()
    def make_kb(self):
        return lambda emb: KnowledgeBase.in_memory(emb)
