"""Retrieval for a conversation turn: query rewriting, scope and named-source filtering,
ambiguity candidates, the FAQ fast path and quote selection.

Groups: hits are grouped by what a user would name when asked to disambiguate: the scope
(`property=oak-street` -> "Oak Street") for scoped chunks, otherwise the source document
(file name, or the listing's name for listings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from rapidfuzz import fuzz

from .types import Hit, Turn

_WORD = re.compile(r"[a-z0-9]+")
_SENT = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9(\"'])|\n+")
_FOLLOWUP = re.compile(r"^(and|or|but|also|what about|how about|same|then)\b|\b(it|that|this|there|they|them|those|these|its)\b",
                       re.I)
# words too common in document names to identify one ("lease", "apartment" ...)
_GENERIC = {"the", "and", "for", "with", "from", "lease", "leases", "agreement", "apartment", "apartments", "home", "house",
            "room", "private", "listing", "listings", "document", "rental", "rent", "unit", "property", "near", "faq",
            "faqs", "pdf", "csv", "txt", "bedroom", "bed", "bath", "studio", "new", "great", "nice", "cozy", "downtown"}
_QUANTITY = re.compile(r"\b(how (much|many|long|big|soon|late|early)|what (is|are) the (amount|fee|price|rent|deposit)|"
                       r"when|what time|which (hours|suite|day))\b", re.I)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def humanize(value: str) -> str:
    """'oak-street' -> 'Oak Street'; 'ontario_residential_tenancy_agreement.pdf' -> 'Ontario Residential Tenancy Agreement'."""
    stem = re.sub(r"\.(pdf|csv|json|jsonl|md|txt|html?)$", "", value.split("#")[0], flags=re.I)
    words = [w for w in re.split(r"[\s_\-]+", stem) if w and not re.fullmatch(r"\d+p?|v\d+", w, re.I)]
    return " ".join(w if w.isupper() else w.capitalize() for w in words) or value


@dataclass(frozen=True)
class Group:
    """What a hit belongs to for disambiguation. key: ('scope', 'property=oak-street') or ('source', name)."""

    key: tuple[str, str]
    label: str
    scope: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None


def group_of(hit: Hit) -> Group:
    c = hit.chunk
    return group_for(c.source, c.doc_type, c.scope, c.metadata)


def group_for(source: str, doc_type: str, scope: Mapping[str, str], metadata: Mapping) -> Group:
    if scope:
        items = sorted(scope.items())
        return Group(("scope", ",".join(f"{k}={v}" for k, v in items)), " / ".join(humanize(v) for _, v in items),
                     scope=dict(items))
    meta = metadata or {}
    label = (meta.get("name") or meta.get("title")) if doc_type == "listing" else None
    return Group(("source", source), str(label or humanize(source)).strip()[:80], source=source)


def rewrite_query(question: str, history: Sequence[Turn], max_words: int = 10) -> str:
    """Standalone retrieval query for a turn: a short or referential follow-up ("and pets?",
    "what about it?") is prefixed with the previous user message, so retrieval keeps the entity
    the conversation is about. Deterministic (no model call: the 135M model rewrites poorly)."""
    prev = [t.content for t in history if t.role == "user"]
    if not prev:
        return question
    if len(_tokens(question)) <= max_words or _FOLLOWUP.search(question):
        return f"{prev[-1]} {question}"
    return question


def named_groups(text: str, groups: Sequence[Group]) -> list[Group]:
    """Groups the text names: a label token that no other group's label has (len >= 4, not a
    generic word) must appear, plus a second label token unless the label has only one.
    'Under the Ontario agreement' names 'Ontario Residential Tenancy Agreement'."""
    words = set(_tokens(text))
    label_tokens = {g.key: {t for t in _tokens(g.label) if t not in _GENERIC or len(_tokens(g.label)) == 1} for g in groups}
    df: dict[str, int] = {}
    for toks in label_tokens.values():
        for t in toks:
            df[t] = df.get(t, 0) + 1
    named = []
    for g in groups:
        toks = label_tokens[g.key]
        all_toks = set(_tokens(g.label))
        rare = {t for t in toks if df[t] == 1 and len(t) >= 4} & words
        if rare and (len(all_toks & words) >= 2 or len(all_toks) == 1):
            named.append(g)
    return named


def ambiguity(hits: Sequence[Hit], margin: float, max_candidates: int = 3) -> list[tuple[Group, Hit]]:
    """Competing groups: the best hit of each group whose score is within `margin` (cosine) of
    the top hit, best first. A single entry means no ambiguity. Unscoped company-wide hits at
    the top (FAQ, marketing) are never ambiguous."""
    if not hits:
        return []
    best: dict[tuple, tuple[Group, Hit]] = {}
    for h in hits:
        g = group_of(h)
        if g.key not in best:
            best[g.key] = (g, h)
    ordered = sorted(best.values(), key=lambda gh: -gh[1].score)
    top = ordered[0][1]
    if not top.chunk.scope and top.chunk.doc_type in ("faq", "marketing"):
        return ordered[:1]
    close = [gh for gh in ordered if top.score - gh[1].score <= margin and (gh[1].chunk.scope or gh[1].chunk.doc_type
                                                                             not in ("faq", "marketing"))]
    return close[:max_candidates]


def faq_match(question: str, hits: Sequence[Hit], min_score: float, min_ratio: float) -> Hit | None:
    """The top hit when it is an FAQ pair whose stored question matches the user's: cosine >=
    min_score and rapidfuzz token_set_ratio >= min_ratio (0..100)."""
    if not hits or hits[0].chunk.doc_type != "faq":
        return None
    top = hits[0]
    q = str(top.chunk.metadata.get("question") or top.chunk.text.split("\n")[0].removeprefix("Q: "))
    if top.score >= min_score and fuzz.token_set_ratio(question.lower(), q.lower()) >= min_ratio:
        return top
    return None


@dataclass(frozen=True)
class Quote:
    """A sentence selected from a hit as the answer's support. hit: index into the hits (0-based)."""

    text: str
    hit: int
    score: float


def split_sentences(text: str) -> list[str]:
    out = []
    for s in _SENT.split(text):
        s = " ".join(s.split())
        if len(s) >= 12:
            out.extend(s[i:i + 400] for i in range(0, len(s), 400))
    return out


def select_quotes(question: str, hits: Sequence[Hit], embedder, n: int = 2, max_chars: int = 360) -> list[Quote]:
    """Quote-first support (DESIGN.md): the sentences of the hits most similar to the question,
    by cosine of embeddings plus a small lexical overlap bonus and, for quantity questions
    ("how much/long/many"), a bonus for sentences with numbers. At most n quotes, max_chars total."""
    cands: list[tuple[str, int]] = [(s, i) for i, h in enumerate(hits) for s in split_sentences(h.chunk.text)]
    if not cands:
        return []
    qvec = embedder.embed_query(question)
    svecs = embedder.embed_documents([s for s, _ in cands])
    cos = svecs @ qvec
    qwords = {w for w in _tokens(question) if len(w) > 3 and w not in _GENERIC}
    wants_number = bool(_QUANTITY.search(question))
    scores = []
    for (s, i), c in zip(cands, cos):
        words = set(_tokens(s))
        overlap = len(qwords & words) / max(1, len(qwords))
        bonus = 0.08 if wants_number and re.search(r"\d|\b(one|two|three|six|sixty|ninety|thirty)\b", s, re.I) else 0.0
        scores.append(float(c) + 0.15 * overlap + bonus - 0.02 * i)
    order = np.argsort(-np.array(scores))
    quotes, used = [], 0
    for j in order[:n * 3]:
        s, i = cands[j]
        if used + len(s) > max_chars and quotes:
            break
        quotes.append(Quote(s, i, scores[j]))
        used += len(s)
        if len(quotes) >= n:
            break
    return quotes
