"""The knowledge-base layer: KnowledgeBase over storage protocols (chunk store, vector index,
embedder) and the ingest pipeline (loaders, chunking)."""

from ragbot.kb.knowledge_base import KnowledgeBase

__all__ = ["KnowledgeBase"]
