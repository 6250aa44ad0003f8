"""Documents -> chunks (langchain-text-splitters' RecursiveCharacterTextSplitter) and content ids.

FAQ pairs and listings are never split: one chunk each, so an answer is never cut from its
question. Other documents longer than `chunk_size` characters are split on paragraph, section
heading, sentence, line, word, then character boundaries with `chunk_overlap` characters of
overlap. Sentence ends come before line breaks because PDF text keeps its line wraps: a chunk cut
at a wrap ("Payments are\nto be made quarterly in advance ...") leaves the answering sentence
whole in neither chunk.
"""

from __future__ import annotations

import hashlib
import json
from typing import Mapping

from ragbot.config import ChunkingConfig
from ragbot.errors import ConfigError
from ragbot.types import Chunk, Document

UNSPLIT_DOC_TYPES = frozenset({"faq", "listing"})


def canonical_scope(scope: Mapping[str, str]) -> str:
    """The scope as canonical JSON: keys sorted, no spaces, UTF-8 kept (e.g. '{"property":"oak"}')."""
    return json.dumps({str(k): str(v) for k, v in scope.items()}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)


def chunk_id(text: str, scope: Mapping[str, str]) -> str:
    """Hex SHA-256 of the UTF-8 bytes of `text + "\\x00" + canonical_scope(scope)` (64 characters).
    Same text under the same scope gives the same id, whatever file or document it came from."""
    return hashlib.sha256((text + "\x00" + canonical_scope(scope)).encode("utf-8")).hexdigest()


def make_splitter(config: ChunkingConfig):
    """A RecursiveCharacterTextSplitter measuring length in characters (str len).
    Raises ConfigError when chunk_overlap >= chunk_size."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if config.chunk_overlap >= config.chunk_size:
        raise ConfigError(f"chunking.chunk_overlap ({config.chunk_overlap}) must be smaller than "
                          f"chunking.chunk_size ({config.chunk_size}); lower the overlap")
    return RecursiveCharacterTextSplitter(chunk_size=config.chunk_size, chunk_overlap=config.chunk_overlap,
                                          length_function=len, strip_whitespace=True,
                                          separators=SEPARATORS, is_separator_regex=True)


# paragraph; a line that starts a section ("ARTICLE THREE: LEASE TERM", "11. ENTRY BY LANDLORD"), so
# a heading is not left at the end of the chunk before its clause; sentence end (". " before a
# capital, digit, bracket, quote or bullet); line; word; character
SEPARATORS = [r"\n\s*\n", r"\n(?=(?:ARTICLE|Article|SECTION|Section)\s+\w+|\d{1,2}\.\s+[A-Z])",
              r"(?<=[.!?])\s+(?=[A-Z0-9(\"'“•])", r"\n", r" ", ""]


def chunk_documents(docs: list[Document], config: ChunkingConfig, scope: Mapping[str, str]) -> list[Chunk]:
    """Chunks of `docs` in document order.

    Each chunk copies its document's source, doc_type, page and metadata, adds
    metadata["chunk_index"] (0-based position within its document), and carries `scope`.
    chunk_id = chunk_id(text, scope); a chunk whose id was already emitted in this call is
    dropped (the first one wins), so repeated passages are embedded once.
    Raises ConfigError for chunk_overlap >= chunk_size.
    """
    splitter = make_splitter(config)
    scope_copy = {str(k): str(v) for k, v in scope.items()}
    seen: set[str] = set()
    out: list[Chunk] = []
    for doc in docs:
        text = doc.text.strip()
        if not text:
            continue
        if doc.doc_type in UNSPLIT_DOC_TYPES or len(text) <= config.chunk_size:
            pieces = [text]
        else:
            pieces = [p for p in (s.strip() for s in splitter.split_text(text)) if p]
        for i, piece in enumerate(pieces):
            cid = chunk_id(piece, scope_copy)
            if cid in seen:
                continue
            seen.add(cid)
            meta = dict(doc.metadata)
            meta["chunk_index"] = i
            out.append(Chunk(cid, piece, doc.source, doc.doc_type, doc.page, meta, dict(scope_copy)))
    return out
