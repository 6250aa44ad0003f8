"""Typed values passed between ragbot's components (frozen dataclasses, no dicts of Any).

Shapes and units are given per field. `doc_type` is one of DOC_TYPES.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

DOC_TYPES = ("faq", "lease", "listing", "marketing", "document")


@dataclass(frozen=True)
class Document:
    """One unit a loader produces: an FAQ pair, a PDF page, a listing row, a text file.

    text: the passage text (FAQ: "Q: ...\\nA: ..."; listing: rendered key fields + description).
    source: file name; for listings "file.csv#<id>"; stable across re-ingests.
    doc_type: one of DOC_TYPES.
    path: absolute path of the file the document came from.
    page: 1-based page number for PDFs, else None.
    metadata: loader fields (FAQ question/answer, every listing column, title, ...), JSON-serialisable.
    """

    text: str
    source: str
    doc_type: str
    path: str
    page: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A piece of a Document that is embedded and indexed.

    chunk_id: hex SHA-256 of (text, scope); identical chunks with the same scope are stored once.
    scope: key/value pairs attached at ingest (`--scope property=oak`), used to filter search.
    """

    chunk_id: str
    text: str
    source: str
    doc_type: str
    page: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    scope: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score: cosine similarity in [-1, 1] (inner product of
    L2-normalised float32 embeddings); rank is 0-based."""

    chunk: Chunk
    score: float
    rank: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The `hits[]` object of `ragbot search --json` (DESIGN.md contract)."""
        c = self.chunk
        meta = dict(c.metadata)
        if c.scope:
            meta.setdefault("scope", dict(c.scope))
        return {
            "score": round(float(self.score), 6),
            "doc_type": c.doc_type,
            "source": c.source,
            "page": c.page,
            "chunk_id": c.chunk_id,
            "text": c.text,
            "metadata": meta,
        }


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What one `KnowledgeBase.ingest` call did. Counts are files, except `chunks`, which is the
    number of chunks in the knowledge base after the call; `new_chunks` is how many were embedded."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    new_chunks: int = 0
    skipped: tuple[SkippedFile, ...] = ()
    near_duplicates: tuple[tuple[str, str, float], ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The `ragbot ingest --json` object (DESIGN.md contract) plus `new_chunks` and
        `near_duplicates` ([source_a, source_b, ratio 0..100])."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "seconds": round(self.seconds, 3),
            "new_chunks": self.new_chunks,
            "near_duplicates": [list(t) for t in self.near_duplicates],
        }


class Decision(str, enum.Enum):
    """What the confidence gate decided for a turn."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"


@dataclass(frozen=True)
class Turn:
    """One message of a conversation. role: "user" or "assistant"."""

    role: str
    content: str
