"""The names people use for a document, built at ingest (issue: documents found by the names
people use). Stored in every Document's metadata["aliases"]; chat/retrieval.named_groups matches
them with rapidfuzz.

Sources, in order: the title (PDF metadata or first heading), the words of the file name, the
parties of a lease ("between X ... (Landlord) and Y ... (Tenant)"), capitalised heading lines of
the first page ("WATERGATE OFFICE TOWERS"), and descriptors: page count ("one-page", "1-page",
"short" for 1-2 pages, "long" from 15 pages) and kind words found in the title, file name or
first page ("residential", "commercial", "office", "embassy", "apartment", "retail",
"industrial", "tenancy", "sublease").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ragbot.types import Document

KINDS = ("residential", "commercial", "office", "embassy", "apartment", "retail", "industrial", "tenancy", "sublease",
         "condo")
_PARTY = re.compile(
    r"(?:by and between|between|by)[,:]?\s+(?P<a>[A-Z][\w.,&' -]{2,80}?)\s*(?:,[^()]{0,80})?\(?[\"“']?(?:the\s+)?landlord"
    r".{0,200}?\band\s+(?:the\s+)?(?P<b>[A-Z][\w.,&' -]{2,80}?)\s*(?:,[^()]{0,80})?\(?[\"“']?(?:the\s+)?tenant",
    re.I | re.S)
_CAPS_LINE = re.compile(r"^[A-Z][A-Z0-9 ,.&'-]{5,60}$")
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def _clean(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,.;:\"'“”")
    return re.sub(r",? (a|an) [A-Z][a-z]+ (limited partnership|corporation|llc|company)$", "", name, flags=re.I)


def parties(text: str) -> list[str]:
    """Landlord and tenant names stated in the opening of a lease (best effort, may be [])."""
    m = _PARTY.search(" ".join(text.split())[:3000])
    if not m:
        return []
    names = (_clean(m.group("a")), _clean(m.group("b")))
    return [p for p in names if 3 <= len(p) <= 80 and p[0].isupper() and len(re.findall(r"[A-Za-z]{3,}", p)) >= 1
            and p.lower() not in ("the", "landlord", "tenant")]


def descriptors(pages: int, text: str) -> list[str]:
    """Page-count and kind words that describe the document."""
    out = []
    if pages:
        out += [f"{pages}-page", f"{pages} page"]
        if pages in _NUMBER_WORDS:
            out += [f"{_NUMBER_WORDS[pages]}-page", f"{_NUMBER_WORDS[pages]} page"]
        out += ["short"] if pages <= 2 else ["long"] if pages >= 15 else []
        out += ["single-page"] if pages == 1 else []
    low = text.lower()
    out += [k for k in KINDS if re.search(rf"\b{k}\b", low)]
    return out


def document_aliases(path: Path, docs: Sequence[Document]) -> list[str]:
    """Aliases of the file's documents (module docstring), de-duplicated, original order."""
    first = docs[0]
    opening = " ".join(d.text for d in docs[:2])[:4000]
    title = str(first.metadata.get("title") or "")
    if "/" in title or "." in title[-5:] or title.lower() in ("untitled", "document"):
        title = ""  # a file path or a placeholder, not a name
    stem = re.sub(r"[_\-]+", " ", path.stem).strip()
    heads = [ln.strip() for ln in first.text.splitlines()[:25] if _CAPS_LINE.match(ln.strip())][:4]
    pages = int(first.metadata.get("pages") or (len(docs) if first.page else 0))
    names = [title, stem, *parties(opening), *heads]
    kinds = descriptors(pages, f"{title} {stem} {opening[:1500]}")
    seen, out = set(), []
    for a in names + kinds:
        key = a.lower().strip()
        if key and key not in seen:
            seen.add(key)
            out.append(a.strip())
    return out


def with_aliases(path: Path, docs: list[Document]) -> list[Document]:
    """`docs` with metadata["aliases"] set on each (listings and FAQ pairs are left as they are:
    their own fields name them)."""
    if not docs or docs[0].doc_type in ("listing", "faq"):
        return docs
    aliases = document_aliases(path, docs)
    return [Document(d.text, d.source, d.doc_type, d.path, d.page, {**d.metadata, "aliases": aliases}) for d in docs]
