"""Typed values passed between ragbot's components (frozen dataclasses, no dicts of Any).

Shapes and units are given per field. `doc_type` is one of DOC_TYPES.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from ragbot.chat.gate import GateSignals

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
class MalformedRow:
    """A row the loader could not read. row: 1-based data row number (after the header; JSONL:
    line number; JSON: list position); line: 1-based physical line of the file where the row
    starts (None for JSON); reason: what is wrong and what to fix."""

    path: str
    row: int
    line: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "row": self.row, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class IngestReport:
    """What one `KnowledgeBase.ingest` call did. Counts are files, except `chunks`, which is the
    number of chunks in the knowledge base after the call; `new_chunks` is how many were embedded;
    `warnings`: malformed rows of table files that were skipped while the rest was ingested."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    new_chunks: int = 0
    skipped: tuple[SkippedFile, ...] = ()
    near_duplicates: tuple[tuple[str, str, float], ...] = ()
    seconds: float = 0.0
    warnings: tuple[MalformedRow, ...] = ()

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
            "warnings": [w.to_dict() for w in self.warnings],
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


@dataclass(frozen=True)
class HandoffTicket:
    """Created when the gate hands a conversation to a person.

    urgency: "emergency" (flood, fire, gas, no heat, break-in: call now), "urgent" (same day: a dead
    fridge, no hot water, a daytime lockout) or "normal".
    transcript: the session's turns, oldest first, including the turn that triggered it.
    created_at: Unix time in seconds. rule: the gate rule that handed off. sources: the turn's top
    retrieved passages, for the person who takes it over.
    """

    ticket_id: str
    session_id: str
    reason: str
    urgency: str
    summary: str
    transcript: tuple[Turn, ...]
    scope: Mapping[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    rule: str = ""
    sources: tuple["Source", ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "rule": self.rule,
            "session_id": self.session_id,
            "reason": self.reason,
            "urgency": self.urgency,
            "summary": self.summary,
            "transcript": [{"role": t.role, "content": t.content} for t in self.transcript],
            "scope": dict(self.scope),
            "created_at": self.created_at,
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True)
class Source:
    """A cited source of a reply. score: cosine similarity of the retrieval hit; page 1-based or None."""

    source: str
    page: int | None
    score: float
    doc_type: str
    chunk_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "page": self.page, "score": round(float(self.score), 4), "doc_type": self.doc_type}


@dataclass(frozen=True)
class Reply:
    """The result of one turn (`Bot.ask`).

    decision: ANSWER, CLARIFY or HANDOFF; confidence in [0, 1]; reason: the gate rule that fired,
    with its values; rule: that rule's id; signals: the gate's inputs (ragbot.chat.gate.GateSignals,
    None for a turn the gate did not see); sources: cited passages, best first (an ANSWER always
    has at least one; [n] in the text is sources[n-1]); ticket: set on HANDOFF; timings_ms:
    retrieve, prefill, decode, generate, total (milliseconds); tokens: prompt, cached, completion
    counts; message_id: the stored message's id (feedback refers to it); options: the choices of a
    CLARIFY, for buttons.
    """

    text: str
    decision: Decision
    confidence: float
    reason: str
    session_id: str
    sources: tuple[Source, ...] = ()
    signals: "GateSignals | None" = None
    ticket: HandoffTicket | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    tokens: Mapping[str, int] = field(default_factory=dict)
    rule: str = ""
    message_id: str = ""
    options: tuple[str, ...] = ()

    def with_message_id(self, message_id: str) -> "Reply":
        return replace(self, message_id=message_id)

    def to_dict(self) -> dict[str, Any]:
        """The `ragbot ask --json` object (DESIGN.md contract) plus session_id, rule, signals, tokens."""
        return {
            "decision": self.decision.value,
            "text": self.text,
            "confidence": round(float(self.confidence), 4),
            "reason": self.reason,
            "sources": [s.to_dict() for s in self.sources],
            "handoff": self.ticket.to_dict() if self.ticket else None,
            "timings_ms": {k: round(float(v), 1) for k, v in self.timings_ms.items()},
            "session_id": self.session_id,
            "message_id": self.message_id,
            "rule": self.rule,
            "options": list(self.options),
            "signals": _jsonable(self.signals.to_dict()) if self.signals is not None else {},
            "tokens": dict(self.tokens),
        }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if hasattr(obj, "__dataclass_fields__"):
        return _jsonable({k: getattr(obj, k) for k in obj.__dataclass_fields__})
    return str(obj)
