"""The steps of one turn, each a function of frozen dataclasses (docs/architecture.md):

    understand -> retrieve -> disambiguate -> fast_path (FAQ) -> generate -> verify

`TurnContext` carries the collaborators (knowledge base, generator, config, catalog, urgency
classifier). No step decides anything: they gather evidence, and `gate_signals` turns the step
results into the one `GateSignals` the gate (chat/gate.py) decides from.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from rapidfuzz import fuzz

from ragbot.chat import prompts
from ragbot.chat.gate import Candidate, GateSignals
from ragbot.chat.grounding import Groundedness, groundedness
from ragbot.chat.intents import detect_intents
from ragbot.chat.retrieval import (Group, Quote, ambiguity, faq_match, group_of, named_groups, naming_aliases,
                                   rewrite_query, select_quotes, strip_names)
from ragbot.config import BotConfig
from ragbot.text import sentences, split_sentences
from ragbot.generators.base import Generation, Generator
from ragbot.types import Hit, Turn


@dataclass(frozen=True)
class TurnContext:
    """Collaborators of a turn. kb: ragbot.kb.KnowledgeBase; catalog: every property/document
    group of the KB (chat/retrieval.Group); urgency: a classifier with `predict([text])`
    (chat/urgency.py) or None (regex intents only); overrides: the curated answers
    (state/overrides.OverrideStore) or None."""

    kb: Any
    generator: Generator
    config: BotConfig
    catalog: Sequence[Group]
    urgency: Any = None
    overrides: Any = None
    listings: Any = None  # chat/listings.ListingCatalog of the KB (None: built per turn)


@dataclass(frozen=True)
class TurnRequest:
    """One user message and the session state it arrives in. scope: the caller's scope merged
    over the session's; history: earlier turns, oldest first; pending: the clarification the bot
    asked last turn ({"question", "candidates": [{"label", "scope", "source"}]}) or None; focus:
    the property/document the previous answer came from ({"scope": {...}} or {"source": str})."""

    question: str
    scope: Mapping[str, str] = field(default_factory=dict)
    history: tuple[Turn, ...] = ()
    pending: Mapping[str, Any] | None = None
    focus: Mapping[str, Any] | None = None
    listing: Mapping[str, Any] | None = None  # the session's listing state (chat/listings.py)
    preferences: Mapping[str, Any] | None = None  # the user's saved preferences; None: no user known


@dataclass(frozen=True)
class Understanding:
    """question: what is answered (the original question after a clarification); query: the
    retrieval query; scope / sources: filters so far; resolved: the message picked a pending
    clarification option; followup: the message leans on the previous turn."""

    question: str
    query: str
    intents: Mapping[str, str]
    scope: Mapping[str, str]
    sources: tuple[str, ...] | None
    history: tuple[Turn, ...]
    resolved: bool = False
    followup: bool = False
    broad: bool = False
    urgency: str | None = None
    urgency_score: float | None = None
    focus: Mapping[str, Any] | None = None
    named: tuple[Group, ...] = ()  # what `sources` came from, when a step located them (the one listing asked about)


@dataclass(frozen=True)
class Retrieval:
    """hits: best first (cosine); named: groups the user named; narrowed: the search is limited to
    one property or document; ms: retrieval wall time."""

    hits: tuple[Hit, ...]
    scope: Mapping[str, str]
    sources: tuple[str, ...] | None
    named: tuple[Group, ...] = ()
    narrowed: bool = False
    ms: float = 0.0

    @property
    def top_score(self) -> float | None:
        """The best cosine among the hits (fused ranking may put a lexical match first)."""
        return max(h.score for h in self.hits) if self.hits else None


@dataclass(frozen=True)
class Disambiguation:
    """competitors: the best hit of each competing group (with its quote), best first; hits:
    label -> that Hit (the sources of a clarifying reply)."""

    competitors: tuple[Candidate, ...] = ()
    hits: Mapping[str, Hit] = field(default_factory=dict)
    company_faq: float | None = None  # cosine of the best company-wide FAQ hit


@dataclass(frozen=True)
class FastPath:
    """An answer that needs no model: kind "faq" (a stored answer whose question matches, verbatim),
    "override" (a curated answer, verbatim, no sources; `note` says which), "small_talk" (a fixed
    reply to a greeting, thanks, goodbye or "are you a bot?"), "summary" (key terms
    of a named document, quoted), "listings" (a listing search or follow-up, chat/listings.py) or
    "showing" (a showing request for the leasing team), "listing_choice" (a question presuming one
    listing that several fit: the gate asks which, `options`) or "listing_focus" (exactly one fits:
    no answer yet, the turn retrieves from that listing, `hits`); text cites hits as [n] = hits[n-1]."""

    kind: str
    text: str
    hits: tuple[Hit, ...]
    note: str = ""
    state: Mapping[str, Any] | None = None  # kinds "listings" / "showing": the new listing state
    options: tuple[Candidate, ...] = ()  # kind "listing_choice": the listings to choose from


@dataclass(frozen=True)
class Draft:
    """The model's draft, the passages it saw (passages[n-1] is [n]) and the quote pool."""

    generation: Generation
    passages: tuple[Hit, ...]
    pool: tuple[Hit, ...]
    quotes: tuple[Quote, ...]
    ms: Mapping[str, float] = field(default_factory=dict)
    focus_labels: tuple[str, ...] = ()  # the named documents' / top group's labels (not the asked thing)


@dataclass(frozen=True)
class Verification:
    """draft: the trimmed draft; grounded: numbers/names/content support over the passages;
    problems: claim-level problems of the draft; quote_answers: the best quote states a value of
    the expected answer type (None = not checked); lead: a deterministic direct answer taken from
    the best quote ("No.", "$150.") or None; dont_know: the draft says the passages do not answer."""

    draft: str
    grounded: Groundedness
    problems: tuple[str, ...] = ()
    quote_answers: bool | None = None
    lead: str | None = None
    dont_know: bool = False


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def match_candidate(answer: str, candidates: Sequence[Mapping]) -> Mapping | None:
    """The pending-clarification candidate the user's answer names (rapidfuzz partial_ratio /
    token_set_ratio of the label against the answer >= 80, best wins), else the one an ordinal
    picks ("the second one", "#2", "the last"), or None."""
    best, best_score = None, 0.0
    text = answer.lower()
    for c in candidates:
        label = c["label"].lower()
        score = max(fuzz.partial_ratio(label, text), fuzz.token_set_ratio(label, text))
        if score > best_score:
            best, best_score = c, score
    if best_score >= 80:
        return best
    m = _ORDINAL.match(answer)
    if m is None or not candidates:
        return None
    word = m.group(1).lower()
    idx = len(candidates) - 1 if word == "last" else _ORDINALS.get(word, int(word) - 1 if word.isdigit() else -1)
    return candidates[idx] if 0 <= idx < len(candidates) else None


_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3}
_ORDINAL = re.compile(r"^\s*(?:the\s+|number\s+|no\.?\s*|#\s*|option\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|"
                      r"last|\d)(?:\s+(?:one|listing|option))?\s*[.!]?\s*$", re.I)


def understand(ctx: TurnContext, req: TurnRequest) -> Understanding:
    """Intents and urgency, a pending clarification, query rewriting with the history."""
    from ragbot.chat.conversation import history_window

    c = ctx.config.conversation
    history = tuple(history_window(req.history, c.history_turns, c.history_chars))
    chosen = match_candidate(req.question, req.pending["candidates"]) if req.pending else None
    # a clarification answer ("Oak Street") is no new message to screen: its question already was
    level, p = (None, None) if chosen else _urgency(ctx, req.question)
    base = dict(intents=detect_intents(req.question), history=history, urgency=level, urgency_score=p,
                focus=req.focus)
    if chosen:
        question = req.pending["question"]
        scope = {**req.scope, **chosen.get("scope", {})}
        sources = None if chosen.get("scope") else ((chosen["source"],) if chosen.get("source") else None)
        return Understanding(question=question, query=f"{question} {req.question}", scope=scope, sources=sources,
                             resolved=True, **base)
    query = rewrite_query(req.question, history)
    return Understanding(question=req.question, query=query, scope=dict(req.scope), sources=None,
                         followup=query != req.question, broad=bool(_BROAD.match(req.question)), **base)


_BROAD = re.compile(r"^\s*(please\s+|can you\s+|could you\s+)?(tell me (all |more )?about|describe|summari[sz]e|"
                    r"give me (an |a )?(overview|summary|rundown) of|(an )?overview of|what are the (key|main) terms of|"
                    r"what(\'s| is) (in|covered (by|in))\b)", re.I)
SUMMARY_TOPICS = ("monthly rent amount and when rent is due", "security deposit amount", "lease term start and end dates",
                  "notice required to end the tenancy", "late fee for late rent", "pets policy", "utilities paid by")


def _urgency(ctx: TurnContext, text: str) -> tuple[str | None, float | None]:
    """The classifier's level and probability. A question ("what should I do if I smell gas?") is
    an emergency only on a regex hit or with probability >= 0.5, and never "urgent": questions are
    answered, reports are handed off (measured before urgency.not_live on the held-out urgency
    messages: false alarms 0.21 -> 0.19 at the same emergency recall 0.988; urgency.evaluate
    measures the classifier's predict alone, without this rule)."""
    if ctx.urgency is None:
        return None, None
    r = ctx.urgency.predict([text])[0]
    if _QUESTION.search(text) and (r.level == "urgent" or (r.level == "emergency" and r.source != "regex"
                                                             and r.probability < 0.5)):
        return "normal", r.probability
    return r.level, r.probability


_QUESTION = re.compile(r"\?\s*$|^\s*(what|when|where|which|who|whom|how|why|is|are|can|could|do|does|may|should|"
                       r"will|would)\b", re.I)


def retrieve(ctx: TurnContext, u: Understanding) -> Retrieval:
    """Top-k hits for the query within the scope; a property or document the user names narrows
    the search (searched with the rest of the question, never an empty query); a follow-up with
    nothing named stays in the previous turn's property or document (the request's focus)."""
    t0 = time.perf_counter()
    k = ctx.config.retrieval.k_candidates
    kb = ctx.kb
    if u.sources is not None or u.scope:
        hits = kb.search(u.query, k=k, scope=u.scope or None, include_unscoped=True, sources=u.sources)
        return Retrieval(own_scope(hits, u.scope, ctx.catalog, u.question), u.scope, u.sources, u.named, narrowed=True,
                         ms=_ms(t0))
    if u.followup and u.focus and not named_groups(u.question, ctx.catalog):
        return _retrieve_in_focus(ctx, u, k, t0)
    context = " ".join([u.query] + [x.content for x in u.history if x.role == "user"][-2:])
    named = named_groups(context, ctx.catalog)
    scopes = [g.scope for g in named if g.scope]
    sources = tuple(g.source for g in named if g.source)
    aliases = naming_aliases(u.query, named)
    narrowed_query = strip_names(u.query, [g.label for g in named] + aliases) or u.query
    if len(narrowed_query.split()) < 2:
        narrowed_query = u.query  # "What is included in the ?" retrieves nothing: keep the name
    if len(scopes) == 1:  # a named property wins over documents named after it
        hits = kb.search(narrowed_query, k=k, scope=dict(scopes[0]), include_unscoped=True)
        if _NAMES_DOCUMENT.search(u.question) or aliases:  # "the Ontario tenancy agreement", a party: not the company FAQ
            hits = [h for h in hits if h.chunk.scope] or hits
        return Retrieval(own_scope(hits, scopes[0], ctx.catalog), dict(scopes[0]), None, tuple(named), True, _ms(t0))
    if sources and not scopes:
        hits = kb.search(narrowed_query, k=k, include_unscoped=True, sources=list(sources))
        return Retrieval(tuple(hits), {}, sources, tuple(named), True, _ms(t0))
    hits = kb.search(u.query, k=k, include_unscoped=True)
    if titled := titled_groups(u.question, ctx.catalog):  # "at Cedar Court Townhomes": its rows, no other property
        keys = {g.key for g in titled}
        own = kb.search(u.query, k=k, include_unscoped=True, sources=[g.source for g in titled])
        seen = {id(h.chunk) for h in own}
        rest = [h for h in hits if not h.chunk.scope and group_of(h).key not in keys and id(h.chunk) not in seen]
        return Retrieval(tuple(own) + tuple(rest), {}, None, tuple(titled), True, _ms(t0))
    return Retrieval(tuple(hits), {}, None, ms=_ms(t0))


def titled_groups(question: str, catalog: Sequence[Group], most: int = 20) -> list[Group]:
    """The groups (at most `most`) whose title holds a capitalised name of two or more words that
    the question gives, when `named_groups` found none: "Cedar Court Townhomes" is part of every
    Cedar Court listing's title ("Three-bedroom townhome - Cedar Court Townhomes"), so "the late
    fee at Cedar Court Townhomes" is about those rows, not a choice between Oak Street and Pine
    Avenue: retrieval keeps those rows and the company-wide documents, none of another property
    (the FAQ that says when Cedar Court joined stays). A leading capitalised question word ("Do",
    "Is") is not part of the name, and a name needs a word of four letters or more ("Can I" is
    none). The labels are lower-cased once, only when the question has such a name."""
    labels = None
    for m in _CAPITALISED.finditer(question):
        words = m.group(0).split()
        for name in (" ".join(words), " ".join(words[1:])):
            if len(name.split()) < 2 or not any(len(w) >= 4 for w in name.split()):
                continue  # "Can I" is no name
            labels = labels or [(g, g.label.lower()) for g in catalog if g.source]
            rx = re.compile(rf"\b{re.escape(name.lower())}\b")
            found = [g for g, label in labels if rx.search(label)]
            if found and len(found) <= most:
                return found
    return []


# a run of capitalised words: a name ("Cedar Court Townhomes", "Harborview Property Management")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’&-]*(?:\s+[A-Z][\w'’&-]*)*")


_NAMES_DOCUMENT = re.compile(r"\b(?:lease|agreement|contract|form)\b", re.I)


def own_scope(hits: Sequence[Hit], scope: Mapping[str, str], catalog: Sequence[Group],
              question: str = "") -> tuple[Hit, ...]:
    """`hits` of a search narrowed to `scope`, without the company-wide (unscoped) ones that are
    about another scope of the catalog: a listing row or a brochure whose name names Pine Avenue
    does not answer for Oak Street, though a company-wide FAQ does. A scope the `question` itself
    names is not "another" ("Are dogs allowed at Oak Street Apartments?" in a conversation that
    settled on Pine Avenue keeps the company-wide Oak Street listings). Unchanged without a scope."""
    if not scope:
        return tuple(hits)
    asked = {g.key for g in named_groups(question, catalog)} if question else set()
    others = [g for g in catalog if g.scope and dict(g.scope) != dict(scope) and g.key not in asked]
    named: dict[str, bool] = {}

    def foreign(h: Hit) -> bool:
        label = group_of(h).label
        if label not in named:
            named[label] = bool(named_groups(label, others))
        return named[label]
    return tuple(h for h in hits if h.chunk.scope or not foreign(h))


def _retrieve_in_focus(ctx: TurnContext, u: Understanding, k: int, t0: float) -> Retrieval:
    """A follow-up naming nothing stays in the previous answer's property or document."""
    scope = dict(u.focus.get("scope") or {})
    sources = tuple(u.focus.get("sources") or ()) or None
    hits = ctx.kb.search(u.query, k=k, scope=scope or None, include_unscoped=True, sources=sources)
    return Retrieval(own_scope(hits, scope, ctx.catalog), scope, sources, narrowed=True, ms=_ms(t0))


def disambiguate(ctx: TurnContext, u: Understanding, r: Retrieval, window: float | None = None) -> Disambiguation:
    """The best hit of every property/document group within the ambiguity margin (or `window`,
    wider, when calibration records), each with its best supporting sentence. The gate decides
    from these whether to ask which one is meant (gate.clarify_candidates)."""
    from ragbot.chat.answer_types import classify_question
    from ragbot.chat.claims import quote_answers

    g = ctx.config.gate
    if r.narrowed or not r.hits:
        return Disambiguation()
    kind = classify_question(u.question)
    # a company-wide FAQ counts when its answer answers ("all our properties are smoke-free"), not
    # when it defers to the property ("it depends on your property")
    company = max((h.score for h in r.hits if not h.chunk.scope and h.chunk.doc_type == "faq"
                   and quote_answers(u.question, kind, [str(h.chunk.metadata.get("answer") or h.chunk.text)])),
                  default=None)
    top_is_listing = max(r.hits, key=lambda h: h.score).chunk.doc_type == "listing"
    # single listing rows compete with each other, not with properties and documents
    pool = [(grp, h) for grp, h in ambiguity(list(r.hits), max(g.ambiguity_margin, window or 0.0), 8)
            if top_is_listing or h.chunk.doc_type != "listing"]
    if len(pool) < 2:
        return Disambiguation(company_faq=company)
    competitors, hits, relevant = [], {}, 0
    for grp, h in pool:
        q = select_quotes(u.question, [h], ctx.kb.embedder, n=1)
        quote = q[0].text if q else h.chunk.text
        c = Candidate(label=grp.label, source=h.chunk.source, score=h.score, scope=dict(grp.scope), quote=quote,
                      quote_score=q[0].score if q else None,
                      answers=quote_answers(u.question, kind, [quote], ignore_words=[grp.label], name_the_sum=False))
        competitors.append(c)
        hits[c.label] = h
        relevant += (c.quote_score is None or c.quote_score >= g.min_clarify_quote_score) and c.answers
        if window is None and relevant >= g.max_candidates:
            break  # the gate would offer no more than these
    return Disambiguation(tuple(competitors), hits, company)


def fast_path(ctx: TurnContext, u: Understanding, r: Retrieval) -> FastPath | None:
    """An FAQ pair whose stored question matches the user's (chat/retrieval.faq_match)."""
    rc = ctx.config.retrieval
    if not rc.faq_fast_path or not r.hits or (u.broad and names_only(u.question)):
        return None  # "Tell me about Harborview" is a summary, not the contact FAQ sharing its name
    hit = faq_match(u.question, list(r.hits), ctx.kb.embedder, rc.faq_min_score, rc.faq_min_ratio,
                    scoped=bool(r.scope))
    if hit is None:
        return None
    return FastPath("faq", f"{hit.chunk.metadata.get('answer') or hit.chunk.text} [1]", (hit,))


def names_only(question: str) -> bool:
    """Whether a broad request (`_BROAD`) is about nothing but a capitalised name ("Tell me about
    Harborview Property Management."), not a topic ("tell me about the pet policy")."""
    from ragbot.chat.polarity import topic_words

    m = _BROAD.match(question)
    rest = question[m.end():] if m else question
    return not topic_words(_CAPITALISED.sub(" ", rest))


def override(ctx: TurnContext, u: Understanding) -> FastPath | None:
    """A curated answer (state/overrides.py) whose question matches the user's in this scope,
    answered verbatim before retrieval; None when overrides are off or none matches."""
    if ctx.overrides is None or not ctx.config.retrieval.overrides:
        return None
    m = ctx.overrides.match(u.question, u.scope, ctx.kb.embedder)
    if m is None:
        return None
    return FastPath("override", m.answer, (), f"curated answer {m.override_id} v{m.version} (cosine {m.score:.3f}, "
                                              f"ratio {m.ratio:.0f})")


def small_talk(ctx: TurnContext, u: Understanding) -> FastPath | None:
    """A message that is only a greeting, thanks or goodbye, or asks whether it is talking to a
    bot, answered with a fixed reply (prompts.small_talk_reply) before retrieval; None otherwise."""
    bot_check = "bot_check" in u.intents and "human" not in u.intents
    found = prompts.small_talk_reply(u.question, ctx.config.prompt, bot_check=bot_check)
    if found is None:
        return None
    kind, text = found
    return FastPath("small_talk", text, (), f"{kind}: a fixed reply, no retrieval")


def summary(ctx: TurnContext, u: Understanding, r: Retrieval) -> FastPath | None:
    """A broad request about one named document or property ("tell me about the Ontario lease"):
    its key terms (SUMMARY_TOPICS), each the best sentence of that document for the topic when it
    clears gate.min_quote_score, quoted with citations. None when the request is not broad, not
    narrowed to one document/property, or fewer than two key terms are found."""
    if not u.broad or not r.narrowed or not (r.named or r.sources or r.scope):
        return None
    listing = _one_listing(r)
    if listing is not None:  # a listing's key terms are its fields
        lines = [prompts.summary_heading(group_of(listing).label)]
        lines += [f"• “{s}” [1]" for s in split_sentences(listing.chunk.text, lines_are_units=True)[1:9]]
        return FastPath("summary", "\n".join(lines), (listing,))
    found, hits = [], []
    for topic in SUMMARY_TOPICS:
        pool = ctx.kb.search(topic, k=3, scope=r.scope or None, include_unscoped=False, sources=r.sources)
        q = select_quotes(topic, pool, ctx.kb.embedder, n=1)
        if q and q[0].score >= ctx.config.gate.min_quote_score and q[0].text not in found:
            found.append(q[0].text)
            hits.append(pool[q[0].hit])
    if len(found) < 2:
        return None
    label = r.named[0].label if r.named else group_of(hits[0]).label
    lines = [prompts.summary_heading(label)] + [f"• “{s}” [{i + 1}]" for i, s in enumerate(found)]
    return FastPath("summary", "\n".join(lines), tuple(hits))


def _one_listing(r: Retrieval) -> Hit | None:
    """The hit of the one listing the turn was narrowed to, or None."""
    rows = {h.chunk.source for h in r.hits if h.chunk.doc_type == "listing"}
    if r.sources is None or len(r.sources) != 1 or len(rows) != 1 or r.sources[0] not in rows:
        return None
    return next(h for h in r.hits if h.chunk.source == r.sources[0])


def listing_search(ctx: TurnContext, u: Understanding, req: TurnRequest) -> FastPath | None:
    """A listing search, its follow-ups, "the second one", a showing request or "forget my
    preferences", answered without the model (chat/listings.py); None when the message is none of
    these or the KB holds no listings."""
    from ragbot.chat.listings import listing_turn

    return listing_turn(ctx, u, req.listing, req.preferences, len(req.history))


def answer_passages(ctx: TurnContext, r: Retrieval) -> list[Hit]:
    """The hits the answer may come from: all of them when narrowed, else those of the top hit's
    group plus company-wide ones."""
    if r.narrowed:
        return list(r.hits)
    top = group_of(max(r.hits, key=lambda h: h.score)).key  # fused rankings are not in cosine order
    return [h for h in r.hits if group_of(h).key == top or not h.chunk.scope]


def generate(ctx: TurnContext, u: Understanding, r: Retrieval, on_token: Callable[[str], None] | None = None) -> Draft:
    """Quotes for the question, then the model's short draft over the top passages (static system
    prompt first, so llama.cpp reuses the cached prefix)."""
    rc, cfg = ctx.config.retrieval, ctx.config
    allowed = answer_passages(ctx, r)
    prompt = prompts.build_prompt(u.question, [h.chunk for h in allowed[: rc.k_prompt]], u.history, cfg.prompt,
                                  ctx.generator.count_tokens)
    passages = [allowed[i] for i in prompt.passage_indices]
    shown = {h.chunk.chunk_id for h in passages}
    pool = passages + [h for h in allowed if h.chunk.chunk_id not in shown][: max(0, rc.k_quote_pool - len(passages))]
    ignore = [g.label for g in r.named] + naming_aliases(u.question, r.named) + [group_of(h).label for h in pool[:1]]
    quotes = select_quotes(u.question, pool, ctx.kb.embedder, n=rc.quotes, ignore_words=ignore)
    gen = ctx.generator.generate(prompt.messages, max_tokens=cfg.generator.max_tokens,
                                 temperature=cfg.generator.temperature, on_token=on_token)
    ms = {"prefill": gen.prefill_ms, "decode": gen.decode_ms, "generate": gen.prefill_ms + gen.decode_ms}
    return Draft(gen, tuple(passages), tuple(pool), tuple(quotes), ms, tuple(ignore))


_SOURCE_MARK = re.compile(r"\[\d+\]\s*\([^)]*\)")  # "[3] (file.pdf, p. 4)" copied from the prompt


def trim_draft(draft: str, max_sentences: int = 2, max_chars: int = 260) -> str:
    """The model's short answer: whitespace folded, copied passage headers removed, cut to the
    first sentences (the 135M model tends to ramble or repeat after them)."""
    text = _SOURCE_MARK.sub("", " ".join(draft.split())).strip()
    out = ""
    for sent in sentences(text)[:max_sentences]:
        if out and len(out) + len(sent) + 1 > max_chars:
            break
        out = f"{out} {sent}".strip()
    return out[:max_chars].rstrip()


def verify(ctx: TurnContext, u: Understanding, d: Draft) -> Verification:
    """Groundedness of the draft over the passages, and the claim-level check against the best
    quote (chat/claims.py): expected answer type, values in the quote, degenerate text."""
    from ragbot.chat.answer_types import classify_question
    from ragbot.chat.claims import check_draft, direct_lead, quote_answers

    draft = trim_draft(d.generation.text)
    g = groundedness(draft, [h.chunk.text for h in d.passages], question=u.question,
                     known_names=(ctx.config.prompt.business_name,))
    dont_know = not draft or prompts.DONT_KNOW.lower().rstrip(".") in draft.lower()
    if not d.quotes:
        return Verification(draft, g, (), None, None, dont_know)
    kind = classify_question(u.question)
    best, quoted = d.quotes[0].text, [q.text for q in d.quotes]
    names = (ctx.config.prompt.business_name,)
    problems = () if dont_know else tuple(check_draft(u.question, draft, quoted, kind, known_names=names).reasons)
    answers = quote_answers(u.question, kind, quoted, ignore_words=d.focus_labels)
    # the lead is read from the best quote, so that quote must answer by itself ("$300 pet deposit"
    # is no lead for "pet rent" even when the second quote names rent)
    lead = direct_lead(u.question, kind, best) if quote_answers(u.question, kind, [best], ignore_words=d.focus_labels) else None
    return Verification(draft, g, problems, answers, lead, dont_know)


def gate_signals(ctx: TurnContext, u: Understanding, r: Retrieval | None = None, dis: Disambiguation | None = None,
                 fast: FastPath | None = None, d: Draft | None = None, v: Verification | None = None) -> GateSignals:
    """The gate's inputs, built once from whatever steps have run."""
    s: dict[str, Any] = dict(intents=dict(u.intents), urgency=u.urgency, urgency_score=u.urgency_score,
                             scope_given=bool(u.scope) or u.sources is not None)
    if r is not None:
        best = max(r.hits, key=lambda h: h.score) if r.hits else None
        s.update(top_score=r.top_score, scope_given=r.narrowed, named_document=bool(r.named) or u.resolved,
                 top_doc_type=best.chunk.doc_type if best else None)
    if dis is not None and dis.competitors:
        s["competitors"] = dis.competitors
    if dis is not None:
        s["company_faq_score"] = dis.company_faq
    if fast is not None:
        s.update(faq_match=fast.kind == "faq", summary=fast.kind == "summary", groundedness=1.0, cited=True,
                 override=fast.note if fast.kind == "override" else None,
                 small_talk=fast.note if fast.kind == "small_talk" else None,
                 listings=fast.note if fast.kind == "listings" else None,
                 showing=fast.note if fast.kind == "showing" else None,
                 listing_choice=fast.note if fast.kind == "listing_choice" else None, candidates=fast.options)
    if d is not None and v is not None:
        gen = d.generation
        s.update(generated=True, mean_logprob=gen.mean_logprob if gen.token_logprobs else None,
                 min_logprob=gen.min_logprob if gen.token_logprobs else None,
                 logprobs_available=gen.logprobs_available,
                 groundedness=v.grounded.score, unsupported_numbers=tuple(v.grounded.unsupported_numbers),
                 unsupported_names=tuple(v.grounded.unsupported_names), dont_know=v.dont_know,
                 draft_problems=v.problems, quote_answers=v.quote_answers,
                 quote_score=max((q.score for q in d.quotes), default=None), cited=bool(d.quotes))
    return GateSignals(**s)
