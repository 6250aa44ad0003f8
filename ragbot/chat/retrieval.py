"""Retrieval for a conversation turn: query rewriting, scope and named-source filtering,
ambiguity candidates, the FAQ fast path and quote selection.

Groups: hits are grouped by what a user would name when asked to disambiguate: the scope
(`property=oak-street` -> "Oak Street") for scoped chunks, otherwise the source document
(file name, or the listing's name for listings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
from rapidfuzz import fuzz

from ragbot.chat.answer_types import classify_question
from ragbot.chat.typed_values import mentions
from ragbot.text import FIELD_LINE, STOPWORDS, split_sentences, words
from ragbot.types import Hit, Turn

_FOLLOWUP = re.compile(r"^(and|or|but|also|what about|how about|same|then)\b|\b(it|that|this|there|they|them|those|these|its)\b",
                       re.I)
# words too common in document names to identify one ("lease", "apartment" ...)
_GENERIC = {"the", "and", "for", "with", "from", "lease", "leases", "agreement", "apartment", "apartments", "home", "house",
            "room", "private", "listing", "listings", "document", "rental", "rent", "unit", "property", "near", "faq",
            "faqs", "pdf", "csv", "txt", "bedroom", "bed", "bath", "studio", "new", "great", "nice", "cozy", "downtown"}
_QUANTITY = re.compile(r"\b(how (much|many|long|big|soon|late|early)|what (is|are) the (amount|fee|price|rent|deposit)|"
                       r"when|(?:at )?what times?|which (hours|suite|day))\b", re.I)


def _tokens(text: str) -> list[str]:
    return words(text)


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
    aliases: tuple[str, ...] = ()


def group_of(hit: Hit) -> Group:
    c = hit.chunk
    return group_for(c.source, c.doc_type, c.scope, c.metadata)


def group_for(source: str, doc_type: str, scope: Mapping[str, str], metadata: Mapping) -> Group:
    meta = metadata or {}
    if scope and doc_type != "listing":  # a listing row is a document of its own, whatever its file's scope
        items = sorted(scope.items())
        return Group(("scope", ",".join(f"{k}={v}" for k, v in items)), " / ".join(humanize(v) for _, v in items),
                     scope=dict(items), aliases=tuple(str(a) for a in meta.get("aliases") or ()))
    label = (meta.get("name") or meta.get("title") or _untitled_listing(source, meta)) if doc_type == "listing" else None
    return Group(("source", source), str(label or humanize(source)).strip()[:80], source=source,
                 aliases=tuple(str(a) for a in meta.get("aliases") or ()))


def _untitled_listing(source: str, meta: Mapping) -> str | None:
    """"Listing 5668626895 in Washington, DC" for a listing row without a name or title."""
    rid = str(meta.get("id") or source.rpartition("#")[2] or "").strip()
    if not rid:
        return None
    city, state = (str(meta.get(k) or "").strip() for k in ("cityname", "state"))
    place = ", ".join(x for x in (city, state) if x)
    return f"Listing {rid}" + (f" in {place}" if place else "")


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


_STOP = {"the", "and", "for", "with", "from", "into", "about", "can", "what", "how", "when", "where", "which", "who",
         "are", "was", "were", "has", "have", "does", "did", "not", "you", "your", "our", "this", "that", "there"}


def named_groups(text: str, groups: Sequence[Group]) -> list[Group]:
    """Groups the text names. A group is named when its whole label (two or more words, not all
    generic) occurs in the text as a phrase ("... at Pine Avenue Lofts" names "Pine Avenue"), or
    when a label word no other label has (>= 4 letters) occurs together with a second label word
    ("the Ontario agreement" names "Ontario Residential Tenancy Agreement"), or by one of its
    ingest aliases (`alias_named`: a party, a heading, "the one-page lease")."""
    by_label = _label_named(text, groups)
    keys = {g.key for g in by_label}
    return by_label + [g for g in alias_named(text, groups) if g.key not in keys]


_DOC_WORD = r"(lease|leases|agreement|contract|document|tenancy|rental)"


def alias_named(text: str, groups: Sequence[Group]) -> list[Group]:
    """Groups named by an alias (kb/ingest/aliases.py). A name alias (party, title, heading)
    names its group when at least two of its content words (all, if it has one) occur in the
    text, one of them found in no other group's aliases (or one such word of six letters or more,
    "Neuromolecular", that is not a street-type word such as "street" or "avenue"); a descriptor
    ("one-page", "commercial", "short") names its group when it stands before a document word
    ("the commercial office lease") and no other group has it. Words match with rapidfuzz
    ratio >= 90 (typos)."""
    from rapidfuzz import fuzz as _fuzz, process

    words_in = _tokens(text)
    low = " ".join(text.lower().split())
    content = {g.key: [[w for w in _tokens(a) if len(w) >= 3 and w not in _STOP and w not in _ALIAS_GENERIC
                        and w.removesuffix("s") not in _ALIAS_GENERIC]
                       for a in g.aliases] for g in groups}
    df: dict[str, int] = {}
    for key, lists in content.items():
        for w in {w for ws in lists for w in ws}:
            df[w] = df.get(w, 0) + 1
    desc_df: dict[str, int] = {}
    for g in groups:
        for a in {a.lower() for a in g.aliases if " " not in a.strip() or a.lower().endswith(" page")}:
            desc_df[a] = desc_df.get(a, 0) + 1

    def present(w: str) -> bool:
        return bool(words_in) and process.extractOne(w, words_in, scorer=_fuzz.ratio, score_cutoff=90) is not None
    named = []
    for g in groups:
        hit = False
        for ws in content[g.key]:
            found = [w for w in ws if present(w)]
            distinct = [w for w in found if df[w] == 1]
            if ws and distinct and (len(found) >= min(2, len(ws)) or
                                    any(len(w) >= 6 and w not in _PLACE_WORDS for w in distinct)):
                hit = True
        for a in g.aliases:
            d = a.lower()
            if desc_df.get(d) == 1 and re.search(rf"\b(the|a|that|this|your|my)\s+{re.escape(d)}\b(\s+\w+){{0,2}}\s+{_DOC_WORD}\b", low):
                hit = True
        if hit:
            named.append(g)
    return named


def naming_aliases(text: str, groups: Sequence[Group]) -> list[str]:
    """The name aliases of `groups` (parties, buildings: "GEORGE YEARWOOD", "THE UNITED STATES OF
    AMERICA") that `text` uses, at least half of their content words present: words that locate
    the document, not the asked thing. "What monthly rent does George Yearwood charge ...?" is
    about rent; searched and quoted with the party's name in, the lease's header (where the
    parties are named) outranks the rent clause. Generic alias words (landlord, lease, office)
    never count, so "landlord" stays in the query."""
    words_in = set(_tokens(text))
    out = []
    for g in groups:
        for a in g.aliases:
            ws = [w for w in _tokens(a) if len(w) >= 3 and w not in _STOP and w not in _ALIAS_GENERIC
                  and not w.isdigit()]
            if len(ws) >= 1 and " " in a.strip() and 2 * sum(w in words_in for w in ws) >= len(ws):
                out.append(" ".join(ws))
    return out


# street-type words: "street" alone does not name "Oak Street" in 'the listing "Heart of High Street"'
_PLACE_WORDS = frozenset({"street", "avenue", "road", "lane", "drive", "court", "place", "boulevard", "square",
                          "heights", "terrace", "parkway", "building", "house", "tower", "apartments", "residence"})
_ALIAS_GENERIC = {"lease", "agreement", "tenancy", "residential", "apartment", "sample", "page", "landlord", "tenant",
                  "llc", "inc", "ltd", "corp", "company", "the", "and", "limited", "partnership", "properties",
                  "property", "exhibit", "article", "parties", "occupants", "office", "commercial", "short", "long"}


def _label_named(text: str, groups: Sequence[Group]) -> list[Group]:
    words = set(_tokens(text))
    norm = " " + " ".join(_tokens(text)) + " "
    content = {g.key: {t for t in _tokens(g.label) if len(t) >= 3 and t not in _STOP} for g in groups}
    df: dict[str, int] = {}
    for toks in content.values():
        for t in toks:
            df[t] = df.get(t, 0) + 1
    named = []
    for g in groups:
        label_words = _tokens(g.label)
        toks = content[g.key]
        phrase = " ".join(label_words)
        if len(label_words) >= 2 and any(t not in _GENERIC for t in toks) and f" {phrase} " in norm:
            named.append(g)
            continue
        rare = {t for t in toks if df[t] == 1 and len(t) >= 4 and t not in _GENERIC} & words
        # a listing's title is long and made of common words: "parking included" names no listing
        enough = (len(toks) + 1) // 2 if g.source and "#" in g.source else 2
        if rare and (len(toks & words) >= max(2, enough) or len(toks) == 1):
            named.append(g)
    return named


def ambiguity(hits: Sequence[Hit], margin: float, max_candidates: int = 3) -> list[tuple[Group, Hit]]:
    """Competing groups: the best hit of each group whose score is within `margin` (cosine) of
    the top hit, best first. Company-wide FAQ and marketing hits (unscoped) never compete: they
    answer for every property. Fewer than two entries means no ambiguity; whether the
    competitors really differ is checked on their quotes (`facts_differ`)."""
    if not hits:
        return []
    best: dict[tuple, tuple[Group, Hit]] = {}
    for h in hits:
        if not h.chunk.scope and h.chunk.doc_type in ("faq", "marketing"):
            continue
        g = group_of(h)
        if g.key not in best or h.score > best[g.key][1].score:  # fused rankings are not in cosine order
            best[g.key] = (g, h)
    top = max(h.score for h in hits)
    close = [gh for gh in sorted(best.values(), key=lambda gh: -gh[1].score) if top - gh[1].score <= margin]
    return close[:max_candidates]


def competing(competitors: Sequence, top_score: float, margin: float, max_candidates: int = 3,
              min_quote_score: float = -1.0) -> tuple:
    """The clarify candidates among `competitors` (gate.Candidate with quotes, best first): those
    within `margin` (cosine) of `top_score` whose quote answers the question at all (quote_score
    >= min_quote_score, or not measured, and `answers` not False), at most `max_candidates`, kept only when there are two
    or more and their quotes state different facts (`facts_differ`); else (). The quote check
    keeps an off-topic question ("a recipe for lasagna?") from becoming "which listing do you
    mean?". Pure, so the turn and `ragbot calibrate`'s replay decide ambiguity the same way."""
    close = [c for c in competitors if top_score - c.score <= margin and getattr(c, "answers", None) is not False
             and (c.quote_score is None or c.quote_score >= min_quote_score)][:max_candidates]
    if len(close) < 2 or not facts_differ([c.quote for c in close]):
        return ()
    return tuple(close)


_CALENDAR = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekday|weekend|january|"
                       r"february|march|april|may|june|july|august|september|october|november|december)s?\b", re.I)


def facts_differ(texts: Sequence[str]) -> bool:
    """Whether supporting sentences from competing documents state different facts: different
    sets of numbers (grounding.extract_numbers: "$1,450" vs "$2,000") or of day and month names
    ("every Tuesday" vs "Monday and Thursday"), or, without either,
    wording that differs (rapidfuzz token_set_ratio < 85)."""
    from ragbot.chat.grounding import extract_numbers

    nums = [(extract_numbers(t), frozenset(m.lower() for m in _CALENDAR.findall(t))) for t in texts]
    if any(n or d for n, d in nums):
        return any(x != nums[0] for x in nums[1:])
    return any(fuzz.token_set_ratio(texts[0].lower(), t.lower()) < 85 for t in texts[1:])


def faq_question(hit: Hit) -> str:
    c = hit.chunk
    return str(c.metadata.get("question") or c.text.split("\n")[0].removeprefix("Q: "))


def faq_match(question: str, hits: Sequence[Hit], embedder, min_score: float, min_ratio: float,
              top_n: int = 3, scoped: bool = False) -> Hit | None:
    """The best FAQ pair among the first `top_n` hits whose stored *question* matches the
    user's: cosine of the two questions' embeddings >= min_score and rapidfuzz token_set_ratio
    >= min_ratio (0..100). Comparing questions, not the whole pair, keeps a long answer from
    diluting the match. A scoped FAQ ("... at Pine Avenue Lofts?") is compared with its scope's
    name left out of both questions. With `scoped` (the turn is narrowed to a property), a
    matching FAQ of that scope wins over a company-wide one, whose answer is usually "it depends
    on your property"."""
    faqs = [h for h in hits[:top_n] if h.chunk.doc_type == "faq"]
    if not faqs:
        return None
    pairs = []
    for h in faqs:
        q = faq_question(h)
        if h.chunk.scope:
            names = [group_of(h).label]
            pairs.append((strip_names(question, names), strip_names(q, names)))
        else:
            pairs.append((question, q))
    texts = list(dict.fromkeys(x for pair in pairs for x in pair))  # the user's question once, not per FAQ
    vec = dict(zip(texts, embedder.embed_documents(texts)))
    best = None
    for h, (user_q, faq_q) in zip(faqs, pairs):
        sim = float(vec[user_q] @ vec[faq_q])
        if sim >= min_score and fuzz.token_set_ratio(user_q.lower(), faq_q.lower()) >= min_ratio:
            rank = (bool(scoped and h.chunk.scope), sim)
            if best is None or rank > best[0]:
                best = (rank, h)
    return None if best is None else best[1]


# the question words that ask for each word of a "Label: value" line's label (text.FIELD_LINE)
_FIELD_ASKED_BY = {"price": ("rent", "price", "cost", "much", "nightly", "monthly", "charge"),
                   "square": ("square", "footage", "size", "big", "sqft", "large"), "feet": ("footage", "square"),
                   "pets": ("pet", "pets", "dog", "dogs", "cat", "cats", "animal", "animals"),
                   "minimum": ("minimum",), "nights": ("night", "nights", "stay"),
                   "accommodates": ("sleep", "sleeps", "people", "guests", "accommodate", "accommodates"),
                   "bedrooms": ("bedroom", "bedrooms"), "bathrooms": ("bathroom", "bathrooms", "bath", "baths"),
                   "location": ("where", "located", "location", "city", "address"),
                   "address": ("where", "address", "located", "street"), "rules": ("rule", "rules"),
                   "cleaning": ("cleaning",), "deposit": ("deposit",), "available": ("available", "availability")}


_ASKED = re.compile(r"^\s*(?:what(?:'s|\s+is|\s+are|\s+was)?|how\s+(?P<how>much|many|big|large|long)|which)\s+(?:is\s+|are\s+)?"
                    r"(?:the\s+)?(?P<asked>.+?)\s+(?:of|for|at|in|on|does|do|did|is|are|can|listed|under|with)\b", re.I)


def field_words(question: str) -> frozenset[str]:
    """What `asks_field` matches "Label:" lines against, lower case: the asked phrase of a
    wh-question ("monthly rent" in "What's the monthly rent of the two-bedroom in Mesa?", not the
    "two-bedroom" that only finds the listing; "much" for "how much"), else all its words."""
    m = _ASKED.match(question)
    if m is None:
        return frozenset(_tokens(question))
    return frozenset(_tokens(m.group("asked")) + ([m.group("how").lower()] if m.group("how") else []))


def asks_field(sentence: str, asked: frozenset[str]) -> bool:
    """Whether `sentence` is a "Label: value" line (a listing field, a form entry) whose label the
    question asks for: "Square feet: 490" for "what's the square footage?", "Price: $1,800" for
    "how much is it?", "Pets allowed: Cats,Dogs" for "does it allow dogs?"."""
    m = FIELD_LINE.match(sentence)
    if m is None:
        return False
    label = _tokens(m.group(1))
    return any(w in asked or any(a in asked for a in _FIELD_ASKED_BY.get(w, ())) for w in label if w not in _STOP)


_VALUE_KINDS = ("amount", "duration", "date", "count")
_NUMBER = re.compile(r"\d|\b(one|two|three|six|sixty|ninety|thirty)\b", re.I)
_PARTY = r"(landlord|tenant|resident|lessor|lessee|owner|occupant|guest|host)s?"
_ASKED_ACTOR = re.compile(r"\b(?:does|do|must|should|will|would|can|may|has|is|did)\s+(?:the\s+|a\s+|my\s+|our\s+)?"
                          + _PARTY + r"\b", re.I)
_SUBJECT = re.compile(r"^(?:\W*[\w’']+\W+){0,3}?(?:the\s+|a\s+)?" + _PARTY +
                      r"\s+(?:must|shall|will|may|agrees|should|has to|is required|needs)\b", re.I)


def asked_value_kind(question: str) -> str | None:
    """The kind of value a quantity question asks ("amount", "duration", "date", "count", or
    another answer kind such as "open"); None when the question asks no quantity."""
    return classify_question(question).kind if _QUANTITY.search(question) else None


@lru_cache(maxsize=8192)
def _states(kind: str, sentence: str) -> bool:
    """Whether `sentence` states a value of `kind` (typed_values.mentions); cached, since the same
    KB sentences are scored turn after turn."""
    return any(v.kind == kind for v in mentions(sentence))


def value_bonus(kind: str | None, sentence: str) -> float:
    """0.08 for a sentence stating a value of the `kind` a quantity question asks (from
    `asked_value_kind`: "When did ... join?" -> a date such as "October 2026", not the
    "two-bedroom" of a title line); for a quantity question of another kind, any number word or
    digit still earns it. 0.0 when `kind` is None. The weight is the earlier number bonus's,
    fitted on the tune split."""
    if kind is None:
        return 0.0
    if kind in _VALUE_KINDS:
        return 0.08 if _states(kind, sentence) else 0.0
    return 0.08 if _NUMBER.search(sentence) else 0.0


def completed_quote(kind: str | None, sentence: str, chunk, max_chars: int = 450) -> str:
    """`sentence` with what it needs from the sentences after it in its chunk: a sentence that
    introduces what follows ("... to get one of these move-in specials:") gets the following ones,
    up to `max_chars` in all; for a question asking a value of `kind` (`asked_value_kind`: amount,
    duration, date, count) that only the next sentence states, that one ("Landlord may enter ... after giving notice." +
    "Entry will be between 8 a.m. and 7 p.m., Monday through Saturday."). Otherwise unchanged."""
    units = split_sentences(chunk.text, lines_are_units=chunk.doc_type in ("listing", "faq"))
    at = units.index(sentence) if sentence in units else -1
    rest = units[at + 1:] if at >= 0 else []
    if sentence.endswith(":"):
        out = sentence
        for nxt in rest[:4]:
            if len(out) + 1 + len(nxt) > max_chars:
                break
            out = f"{out} {nxt}"
        return out
    if kind not in _VALUE_KINDS or not rest or _states(kind, sentence):
        return sentence
    joined = f"{sentence} {rest[0]}"
    return joined if _states(kind, rest[0]) and len(joined) <= max_chars + 150 else sentence


def asked_actor(question: str) -> str | None:
    """The party a question asks about as the one acting ("How much notice does the landlord
    need?" -> "landlord"), or None; plural and case folded."""
    m = _ASKED_ACTOR.search(question)
    return m.group(1).lower() if m else None


def acting_party(sentence: str) -> str | None:
    """The party a clause binds as its subject ("The tenant must give 60 days notice" -> "tenant"),
    or None when the sentence does not open with one."""
    m = _SUBJECT.match(sentence)
    return m.group(1).lower() if m else None


@dataclass(frozen=True)
class Quote:
    """A sentence selected from a hit as the answer's support. hit: index into the hits (0-based)."""

    text: str
    hit: int
    score: float


def strip_names(text: str, names: Sequence[str]) -> str:
    """`text` without the words of `names` (a named property or document), for scoring passages
    once the search is already narrowed to it: "late fee at Oak Street Apartments" -> "late fee
    at Apartments"... the name no longer pulls listings titled with it above the late-fee clause.
    Returns `text` unchanged when nothing would be left."""
    drop = {w for name in names for w in _tokens(name) if w not in _STOP}
    kept = [w for w in re.findall(r"\S+", text) if not (_name_words(w) and _name_words(w) <= drop)]
    return " ".join(kept) or text


def _name_words(token: str) -> set[str]:
    """The words of a whitespace token, a possessive "s" left out ("Yearwood's" -> {"yearwood"})."""
    return set(_tokens(token)) - {"s"}


def select_quotes(question: str, hits: Sequence[Hit], embedder, n: int = 2, max_chars: int = 450,
                  ignore_words: Sequence[str] = ()) -> list[Quote]:
    """Quote-first support (DESIGN.md): the sentences of the hits most similar to the question,
    by cosine of embeddings plus a small lexical overlap bonus and, for quantity questions
    ("how much/long/many"), a bonus for sentences with numbers. `ignore_words` (e.g. the name of
    the document the question names) earn no overlap bonus, so a title line does not win just
    by repeating the name. A clause binding the other party than the one the question asks about
    ("The tenant must give ..." for "does the landlord need ...") and a listing's title line rank
    lower. The first quote is completed from its chunk (`completed_quote`: what a colon-ended
    sentence introduces, or the next sentence when only it states the asked value; then up to
    max_chars + 150). A sentence that repeats a chosen one (rapidfuzz token-set ratio >= 90, e.g.
    the lease's copy of an FAQ answer) is skipped. At most n quotes, max_chars in all otherwise."""
    cands: list[tuple[str, int]] = list({
        s: (s, i) for i, h in reversed(list(enumerate(hits)))  # identical sentences: keep the best hit's
        for s in split_sentences(h.chunk.text, lines_are_units=h.chunk.doc_type in ("listing", "faq"))
        if not s.startswith("Q: ")}.values())
    if not cands:
        return []
    ignored = {w for text in ignore_words for w in _tokens(text) if w not in _STOP}
    # the document's own name would pull its title and letterhead lines to the top: leave it out
    stripped = strip_names(question, ignore_words)
    if len([w for w in _tokens(stripped) if w not in STOPWORDS and w not in _STOP and w not in _GENERIC]) < 2:
        stripped = question  # "What is included in the winter move-in special?": the name is the topic
    qvec = embedder.embed_query(stripped)
    svecs = embedder.embed_documents([s for s, _ in cands])
    cos = svecs @ qvec
    qwords = {w for w in _tokens(question) if len(w) > 3 and w not in _GENERIC and w not in ignored}
    asked_fields = field_words(question) - ignored  # "Tiny House ..." names the listing, not "House rules:"
    actor, kind = asked_actor(question), asked_value_kind(question)
    scores = []
    for (s, i), c in zip(cands, cos):
        words = set(_tokens(s))
        overlap = len(qwords & words) / max(1, len(qwords))
        bonus = value_bonus(kind, s) + (0.2 if asks_field(s, asked_fields) else 0.0)
        if actor and (subject := acting_party(s)) and subject != actor:
            bonus -= 0.1  # "does the landlord need": "The tenant must give 60 days notice" is the other party's duty
        if hits[i].chunk.doc_type == "listing" and hits[i].chunk.text.lstrip().startswith(s):
            bonus -= 0.15  # a listing's title line repeats the name the question used, and answers nothing else
        scores.append(float(c) + 0.15 * overlap + bonus - 0.02 * i)
    order = np.argsort(-np.array(scores))
    quotes, used = [], 0
    for j in order[:n * 3]:
        s, i = cands[j]
        if any(fuzz.token_set_ratio(s.lower(), q.text.lower()) >= 90 for q in quotes):
            continue  # "PARKING Parking is not included in the rent." after "A: Parking is not included ..."
        if not quotes:
            s = completed_quote(kind, s, hits[i].chunk, max_chars)
        if used + len(s) > max_chars and quotes:
            break
        quotes.append(Quote(s, i, scores[j]))
        used += len(s)
        if len(quotes) >= n:
            break
    return quotes
