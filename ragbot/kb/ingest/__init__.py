"""Ingest: files -> Documents (loaders by kind) -> Chunks (splitting, content ids, dedup).

Public API used by the knowledge base (ingest.pipeline):
    detect_doc_type(path, override=None, config=None) -> str
    load_file(path, doc_type, config: LoaderConfig) -> list[Document]   (raises IngestError)
    SUPPORTED_EXTENSIONS: frozenset of lower-case suffixes
    chunk_documents(docs, config: ChunkingConfig, scope) -> list[Chunk]
    find_near_duplicate_faqs(docs, ratio) -> list[(label_a, label_b, score 0..100)]
"""

from ragbot.kb.ingest.chunking import chunk_documents, chunk_id
from ragbot.kb.ingest.dedup import find_near_duplicate_faqs
from ragbot.kb.ingest.dispatch import SUPPORTED_EXTENSIONS, detect_doc_type, load_file

__all__ = ["SUPPORTED_EXTENSIONS", "chunk_documents", "chunk_id", "detect_doc_type", "find_near_duplicate_faqs",
           "load_file"]
