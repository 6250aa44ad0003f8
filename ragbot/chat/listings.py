"""Listing turns, answered without the model (FastPath kind "listings", or "showing" for a showing
request; the gate's rules `listings` and `showing_request`):

- a search: constraints parsed from the question (chat/constraints.py) merged with the session's
  previous listing query (or, in a session without one, the user's saved preferences), run as SQL
  on the chunk store (kb/listing_search.py); the reply restates the constraints, gives the count
  and the top N with `[n]` citations, or says nothing matches and offers the nearest relaxation,
  labelled as such. Every listing presented is re-checked against every constraint (`satisfies`).
- "tell me more about the second one": that listing of the last results, in full, cited.
- "I'd like to see it on Saturday": a showing request for the listing in focus; the contact is
  asked for first when neither the message nor the saved preferences hold one.
- "forget my preferences" (for a known user): the Bot clears them (state["forget"]).

A message is a search when its own constraints include a price, size, room, stay or area term or a
sort, or when it has a place or pet constraint and search words ("do you have", "apartments",
"only ones", "what about"; property names are ignored), so "Are dogs allowed at Oak Street
Apartments?" stays a policy question for retrieval.

Session state (`listing` in the session; JSON): {"query": {"constraints": [[field, op, value]],
"sort": [field, descending] | null, "free_text": str}, "shown": [LISTING], "focus": LISTING | null,
"showing": {"listing": LISTING, "availability": str | null, "asked_at": int} | null} with
LISTING = {"id": int, "source": "file#id", "title": str, "fields": {...}}. A turn's state may also
carry "forget": true and "showing_request": {...} (the ticket's details); `persist` drops them.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from ragbot.chat import listing_replies as say
from ragbot.chat import preferences as prefs_mod
from ragbot.chat.constraints import Constraint, ListingQuery, SortKey, parse
from ragbot.chat.showings import availability, is_showing_request
from ragbot.kb import listing_search as ls
from ragbot.types import Hit

TOP_N = 3
TRANSIENT = ("forget", "showing_request")
_STRONG = frozenset({"price", "bedrooms", "bathrooms", "square_feet", "minimum_nights", "room_type", "neighbourhood"})
_SEARCH_WORDS = re.compile(
    r"\b(?:do you have|have you got|got any|any(?:thing)?|which|show me|list|looking for|look for|search|find|"
    r"available|vacan\w*|for rent|to rent|rentals?|what about|how about|only|ones?|instead|options?|homes|houses|"
    r"apartments|apts|units|listings|places|rooms|studios|condos|lofts|townhomes|townhouses|flats|cheaper|bigger|"
    r"larger|smaller)\b", re.I)
_HOMES = r"(?:apartments|apts|homes|houses|units|listings|places|rentals|studios|condos|lofts|townhomes|townhouses|flats)"
_LISTING_REQUEST = re.compile(
    rf"\b(?:any|what|which|show(?: me)?|list|see (?:the|your|all))\b(?:\s+\S+){{0,4}}?\s+{_HOMES}\b"
    r"(?!\s+(?:policy|policies|rules|office|hours|fees?|amenities|manager|parking|laundry))|"
    rf"\b{_HOMES}\s+(?:are\s+)?(?:available|for rent|open|vacant)\b", re.I)
_FILLER = frozenset("""a an the in on at of to for from near by with without that this these those which what how
about any anything some something do does you your we our i me my have has got get can could would like want need
looking look find show list search please is are there be only ones one and or but also just really available
allow allows allowing allowed pet pets friendly place places home homes house houses apartment apartments apt apts
unit units listing listings rent rental rentals room rooms studio studios bedroom bedrooms bed beds bath baths
bathroom bathrooms cheap cheaper cheapest nice good great month monthly night nightly per instead else more
tell other options option price prices budget under over below above least most max min sq ft square feet""".split())
# "the studio in Tempe", "the Lakeside place": a question that presumes one listing
_ONE_HOME = (r"(?:apartment|apt|home|house|unit|listing|place|studio|loft|condo|townhome|townhouse|flat|duplex|"
             r"cottage|bungalow|(?:\d|one|two|three|four|five)[- ]?(?:bed(?:room)?|br|bd))")
_DEFINITE_ONE = re.compile(rf"\b(?:the|that|this)\s+(?:(?!(?:a|an|for|of|in|at|on|to|with|per|is|are)\b)[\w,.'-]+\s+)"
                           rf"{{0,3}}?{_ONE_HOME}\b(?![s-])", re.I)
_NAMED_HOME = re.compile(r"\b(?:[Tt]he|[Tt]hat|[Tt]his)\s+((?:[A-Z][\w'&.-]*,?\s+){0,4}[A-Z][\w'&.-]*)(?:\s+([\w-]+))?")
_QUOTED_NAME = re.compile(r"[\"“”]([^\"“”]{3,100}?)[\"“”]")
_ONE_HOME_WORD = re.compile(rf"^{_ONE_HOME}$", re.I)
_SEARCHING = re.compile(r"\b(?:any|anything|show me|list|looking for|look for|search|find|available|vacan\w*|do you "
                        r"have|have you got|options?|cheapest|cheaper|under|below|less than|at most|sort|which ones|"
                        r"compare|all)\b", re.I)
_PROPERTY_WORDS = re.compile(r"\b(?:the|apartments?|lofts?|townhomes?|townhouses?|homes?|residences?|suites?)\b")


@dataclass(frozen=True)
class ListingCatalog:
    """What listing turns need from the KB's chunk store: conn (sqlite3 or psycopg), its SQL
    dialect, the number of listings, and the known cities, neighbourhoods and properties."""

    conn: Any
    dialect: ls.Dialect
    count: int
    cities: tuple[str, ...] = ()
    neighbourhoods: tuple[str, ...] = ()
    properties: tuple[str, ...] = ()

    @classmethod
    def of(cls, kb) -> "ListingCatalog | None":
        """The catalog of `kb`'s current chunk store; None when the store has no SQL connection
        (the in-memory store)."""
        conn = getattr(getattr(kb, "store", None), "conn", None)
        if conn is None:
            return None
        d = ls.SQLITE if isinstance(conn, sqlite3.Connection) else ls.POSTGRES
        n = ls.count(conn, (), d)
        if not n:
            return cls(conn, d, 0)
        return cls(conn, d, n, *(tuple(ls.distinct_values(conn, f, d)) for f in ("city", "neighbourhood", "property")))


# ---------------------------------------------------------------- state
def query_to_state(q: ListingQuery) -> dict[str, Any]:
    return {"constraints": [[c.field, c.op, list(c.value) if isinstance(c.value, tuple) else c.value]
                            for c in q.constraints],
            "sort": [q.sort.field, q.sort.descending] if q.sort else None, "free_text": q.free_text}


def query_from_state(d: Mapping[str, Any] | None) -> ListingQuery | None:
    if not d:
        return None
    cs = tuple(Constraint(f, op, tuple(v) if isinstance(v, list) else v) for f, op, v in d.get("constraints") or ())
    sort = SortKey(*d["sort"]) if d.get("sort") else None
    return ListingQuery(cs, sort, None, d.get("free_text") or "")


def persist(state: Mapping[str, Any]) -> dict[str, Any]:
    """The listing state to keep in the session (without this turn's transient keys)."""
    return {k: v for k, v in state.items() if k not in TRANSIENT}


def satisfies(fields: Mapping[str, Any], constraints: Sequence[Constraint]) -> bool:
    """Whether a listing's typed fields meet every constraint (a missing field meets none), the
    same semantics as the SQL of kb/listing_search.py."""
    for c in constraints:
        v = fields.get(c.field)
        if v is None:
            return False
        if c.op == "in":
            if str(v).lower() not in {str(x).lower() for x in (c.value if isinstance(c.value, tuple) else (c.value,))}:
                return False
        elif isinstance(c.value, bool):
            if bool(v) is not c.value:
                return False
        elif isinstance(c.value, (int, float)):
            x, y = float(v), float(c.value)
            if not {"=": x == y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[c.op]:
                return False
        elif str(v).lower() != str(c.value).lower():
            return False
    return True


# ---------------------------------------------------------------- what the message is
def is_search(own: ListingQuery, question: str, names: Sequence[str] = ()) -> bool:
    """Whether a message with its own parsed query `own` asks for listings (module docstring)."""
    if own.sort is not None or {c.field for c in own.constraints} & _STRONG:
        return True
    text = question
    for name in sorted({n for n in names if n}, key=len, reverse=True):  # "Oak Street Apartments" is no search word
        text = re.sub(rf"\b{re.escape(name)}\b", " ", text, flags=re.I)
    if not own.constraints:  # "Any apartments available?", "What homes do you have?"
        return bool(_LISTING_REQUEST.search(text)) and len(question.split()) <= 14
    return bool(_SEARCH_WORDS.search(text))


def presumes_one(own: ListingQuery, question: str) -> str | None:
    """How a question that asks about one listing locates it, or None: "constraints" when it
    refers to one home by kind and place ("What is the rent of the studio in Tempe?", "Does the
    two-bedroom in Mesa take dogs?"), or the capitalised name it gives the home ("What's the
    minimum stay at the Lakeside apartment?" -> "Lakeside"; "the Old Mill Cottage" -> "Old Mill
    Cottage"), or a title it quotes ('the listing "Heart of High Street"' -> "Heart of High Street").
    Search wording ("any", "show me", "under $900") outside the quotes is a search, not a
    reference to one home."""
    if (quoted := _QUOTED_NAME.search(question)) and not _SEARCHING.search(_QUOTED_NAME.sub(" ", question)):
        return quoted.group(1).strip()  # 'the Columbus Airbnb listing "Heart of High Street"'
    if _SEARCHING.search(question):
        return None
    if [c for c in own.constraints if not _asked(c)] and _DEFINITE_ONE.search(question):
        return "constraints"
    for m in _NAMED_HOME.finditer(question):
        run, after = m.group(1).strip(" ,"), m.group(2) or ""
        if _ONE_HOME_WORD.match(run.split()[-1]) and len(run.split()) >= 2:  # "the Old Mill Cottage"
            return run
        if _ONE_HOME_WORD.match(after):  # "the Short North apartment"
            return run
    return None


def property_constraint(question: str, properties: Sequence[str]) -> Constraint | None:
    """A listing `property` the question names ("Oak Street" for "oak street apartments")."""
    text = question.lower()
    for p in properties:
        core = " ".join(_PROPERTY_WORDS.sub(" ", p.lower()).split())
        if core and re.search(rf"\b{re.escape(core)}\b", text):
            return Constraint("property", "=", p.lower())
    return None


def _meaningful(free_text: str) -> bool:
    words = re.findall(r"[a-z]+", free_text.lower())
    return any(len(w) >= 4 and w not in _FILLER for w in words)


# ---------------------------------------------------------------- the step
def listing_turn(ctx, u, state: Mapping[str, Any] | None, preferences: Mapping[str, Any] | None,
                 turn_index: int = 0):
    """The FastPath of a listing turn (module docstring), or None when the message is none.
    ctx: chat.steps.TurnContext (ctx.listings: a ListingCatalog or None to build one); u: the
    turn's Understanding; state: the session's listing state; preferences: the user's saved
    preferences ({} for a user with none, None when no user is known); turn_index: messages so far."""
    from ragbot.chat.steps import FastPath

    if u.resolved:
        return None
    q, state = u.question, dict(state or {})
    if preferences is not None and prefs_mod.is_forget_request(q):
        return FastPath("listings", say.forgot_text(prefs_mod.labels(preferences)), (),
                        "forget my preferences: saved preferences cleared", {**state, "forget": True})
    cat = getattr(ctx, "listings", None) or ListingCatalog.of(ctx.kb)
    if cat is None or cat.count == 0:
        return None
    shown = list(state.get("shown") or [])
    own = parse(q, None, cat.cities, cat.neighbourhoods, shown_fields(state))
    pending = state.get("showing")
    contact = prefs_mod.contacts(q) if pending else None  # PII detection: once, and only when one is awaited
    if pending and turn_index <= int(pending.get("asked_at", -9)) + 2 and contact:
        return _showing(ctx, cat, state, pending["listing"], availability(q) or pending.get("availability"),
                        contact, preferences)
    if is_showing_request(q) and not own.constraints:
        return _showing_request(ctx, cat, state, own, q, preferences, turn_index)
    if own.ordinal is not None and shown and not own.constraints:
        return _detail(ctx, cat, state, own.ordinal)
    names = [g.label for g in ctx.catalog] + [a for g in ctx.catalog for a in g.aliases] + list(cat.properties)
    prop = property_constraint(q, cat.properties)
    how = None if shown else presumes_one(own, q)
    if how is not None:
        choice = _which_one(ctx, cat, own, how, prop, u.scope, state)
        if choice is not None:
            return choice
    if not is_search(own, q, names):
        return None
    return _search(ctx, cat, state, q, prop, preferences, u.scope)


def _hits(ctx, cat: ListingCatalog, items: Sequence[Mapping[str, Any]], scores: Sequence[float] = ()) -> list[Hit]:
    """Hits for listings of the state or the results, by id (by source when the id moved)."""
    chunks = ctx.kb.chunks_by_ids([int(i["id"]) for i in items])
    out = []
    for n, item in enumerate(items):
        chunk = chunks.get(int(item["id"]))
        if chunk is None or chunk.source != item["source"]:
            rows = ls._rows(cat.conn, f"SELECT id FROM chunks WHERE source = {cat.dialect.param}", [item["source"]])
            chunk = ctx.kb.chunks_by_ids([int(rows[0][0])]).get(int(rows[0][0])) if rows else None
        if chunk is not None:
            out.append(Hit(chunk=chunk, score=float(scores[n]) if n < len(scores) else 1.0, rank=n))
    return out


def _item(m: ls.ListingMatch) -> dict[str, Any]:
    return {"id": m.id, "source": m.source, "title": say.title(m.fields, m.text), "fields": dict(m.fields)}


def _detail(ctx, cat, state: dict, position: int):
    from ragbot.chat.steps import FastPath

    shown = state["shown"]
    idx = position - 1 if position > 0 else len(shown) - 1
    if not 0 <= idx < len(shown):
        return FastPath("listings", say.out_of_range_text(position, len(shown)), (),
                        f"listing {position} asked for, {len(shown)} shown", state)
    hits = _hits(ctx, cat, [shown[idx]])
    if not hits:
        return None
    c = hits[0].chunk
    fields = dict(c.metadata.get("fields") or shown[idx].get("fields") or {})
    return FastPath("listings", say.detail_text(position, fields, c.text), tuple(hits),
                    f"details of listing {position} shown ({c.source})", {**state, "focus": shown[idx]})


def _listing_scope(cat: ListingCatalog, scope: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's scope keys that listings carry (a tenant's listings stay its own); keys no
    listing has are left out, as retrieval keeps unscoped chunks."""
    out = {}
    for k, v in (scope or {}).items():
        expr = cat.dialect.scope(str(k)) if re.match(r"^[A-Za-z0-9_.-]{1,64}$", str(k)) else None
        if expr and ls._rows(cat.conn, f"SELECT 1 FROM chunks WHERE doc_type = {cat.dialect.param} AND {expr} IS NOT "
                                       "NULL LIMIT 1", ["listing"]):
            out[str(k)] = str(v)
    return out


def _ranker(ctx, text: str):
    """rank(ids, limit) -> ids by cosine of `text` among those listings (the vector index)."""
    import numpy as np

    def rank(ids: Sequence[int], limit: int) -> list[int]:
        if not len(ids):
            return []
        q = ctx.kb.embedder.embed_query(text).astype(np.float32)
        _, got = ctx.kb.index.search(q[None, :], min(limit, len(ids)), allowed_ids=np.asarray(ids, dtype=np.int64))
        return [int(i) for i in got[0] if i >= 0]
    return rank


def _query_for(q: str, cat: ListingCatalog, state: Mapping[str, Any], prop: Constraint | None,
               preferences: Mapping[str, Any] | None) -> tuple[ListingQuery, str]:
    """The merged query of this message and the intro naming the saved preferences it used."""
    previous = query_from_state(state.get("query"))
    defaults: tuple[Constraint, ...] = ()
    if previous is None and preferences:
        defaults = prefs_mod.defaults(preferences, cat.cities)
        previous = ListingQuery(defaults) if defaults else None
    merged = parse(q, previous, cat.cities, cat.neighbourhoods, shown_fields(state))
    if merged.is_empty and previous is not None:  # "Any apartments available?" keeps what holds so far
        merged = replace(previous, free_text=merged.free_text)
    if prop is not None:
        merged = replace(merged, constraints=tuple(c for c in merged.constraints if c.field != "property") + (prop,))
    used = {c.field for c in defaults if c in merged.constraints}
    return merged, prefs_mod.in_mind(preferences or {}, used)


def shown_fields(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s.get("fields") or {} for s in state.get("shown") or ()]


def relaxation(cat: ListingCatalog, query: ListingQuery, keep: set[str], scope: Mapping[str, str] | None,
               period: str) -> ls.Relaxation | None:
    """The nearest relaxation (kb/listing_search.nearest_relaxation) that leaves the fields in
    `keep` alone when another one has matches ("anything cheaper?" finds cheaper homes by
    loosening an earlier condition, not by undoing "cheaper")."""
    best = None
    for cand in ls._candidates(cat.conn, query, cat.dialect, scope):
        if {c.field for c in cand[1]} & keep:
            continue
        if best is None or cand[0] < best[0]:
            best = cand
    if best is None:
        return ls.nearest_relaxation(cat.conn, query, cat.dialect, scope, period)
    _, removed, added, sort = best
    kept = tuple(c for c in query.constraints if c not in removed) + tuple(added)
    total = ls.count(cat.conn, kept, cat.dialect, scope)
    was = say.restate(ListingQuery(tuple(removed)), period)
    label = f"nothing matches {was}" + (f"; nearest: {say.restate(ListingQuery(tuple(added)), period)}" if added
                                        else f"; without that: {total} match")
    return ls.Relaxation(tuple(removed), tuple(added), ListingQuery(kept, sort or query.sort, None, query.free_text),
                         total, label)


def _search(ctx, cat: ListingCatalog, state: dict, q: str, prop: Constraint | None,
            preferences: Mapping[str, Any] | None, scope: Mapping[str, str] | None):
    from ragbot.chat.steps import FastPath

    merged, intro = _query_for(q, cat, state, prop, preferences)
    ranked = merged.sort is None and _meaningful(merged.free_text)
    query = merged if merged.sort or ranked else replace(merged, sort=SortKey("price", False))
    n = int(getattr(getattr(ctx.config.kb, "listings", None), "top_n", TOP_N) or TOP_N)
    period = say.query_period(query)
    where, rank = _listing_scope(cat, scope), _ranker(ctx, merged.free_text) if ranked else None
    res = ls.search(cat.conn, query, n, cat.dialect, where, rank, relax=False)
    if not res.total:  # relax what the user said before, not what this message just asked for
        keep = {c.field for c in parse(q, None, cat.cities, cat.neighbourhoods, shown_fields(state)).constraints}
        r = relaxation(cat, query, keep, where, period)
        got = ls.search(cat.conn, r.query, n, cat.dialect, where, rank, relax=False).listings if r else ()
        res = ls.ListingResults(query, 0, got, r)
    must = res.relaxation.query.constraints if res.relaxation else query.constraints
    found = [m for m in res.listings if satisfies(m.fields, must)]  # never show one that breaks a constraint
    items = [_item(m) for m in found]
    hits = _hits(ctx, cat, items)
    pairs = [(m.fields, m.text) for m in found]
    new_state = {"query": query_to_state(query), "shown": items, "focus": items[0] if len(items) == 1 else None,
                 "showing": None}
    if res.total:
        text = say.results_text(query, res.total, pairs, say.order_words(query.sort, ranked, res.sort_applied), intro)
        note = f"{res.total} listings match {say.restate(query, period)}; showing {len(items)}"
    else:
        r = res.relaxation
        text = say.no_match_text(query, r.label if r else None, r.query if r else None, r.total if r else 0, pairs,
                                 intro)
        note = f"no listing matches {say.restate(query, period)}" + (f"; offered relaxation: {r.label}" if r else "")
    return FastPath("listings", text, tuple(hits), note, new_state)


def _which_one(ctx, cat: ListingCatalog, own: ListingQuery, how: str, prop: Constraint | None,
               scope: Mapping[str, str] | None, state: dict):
    """For a question about one listing (`presumes_one` said how it is located): a
    "listing_choice" FastPath when two or more listings fit (the gate asks which one, offering
    the first `max_candidates`), a "listing_focus" one when exactly one does (retrieval then
    answers from that listing alone), None when none does or the name is a property's or
    document's, not a listing's ("the Oak Street apartment")."""
    from ragbot.chat.gate import Candidate
    from ragbot.chat.retrieval import named_groups
    from ragbot.chat.steps import FastPath

    phrase = None if how == "constraints" else how
    if phrase and (any(not (g.source and "#" in g.source) for g in named_groups(phrase, ctx.catalog))
                   or property_constraint(phrase, cat.properties)):
        return None
    kept = () if phrase else tuple(_exact_rooms(c) for c in own.constraints if not _asked(c))
    query = ListingQuery(kept + ((prop,) if prop and not phrase else ()), SortKey("price", False))
    res = ls.search(cat.conn, query, ctx.config.gate.max_candidates, cat.dialect, _listing_scope(cat, scope), None,
                    relax=False, phrase=phrase)
    if not res.total:
        return None
    items = [_item(m) for m in res.listings]
    hits = _hits(ctx, cat, items)
    where = f"the name {phrase!r}" if phrase else say.restate(query, say.query_period(query))
    if res.total == 1:
        return FastPath("listing_focus", "", tuple(hits), f"one listing fits {where}: {items[0]['title']}", state)
    options = tuple(Candidate(label=f"{i['title']} ({say.key_facts(i['fields'])})", source=i["source"], score=1.0)
                    for i in items)
    return FastPath("listing_choice", "", tuple(hits), f"{res.total} listings fit {where}; the question presumes one",
                    state, options)


def _asked(c: Constraint) -> bool:
    """A condition a question about one home asks about rather than finds it by (its pets, its price)."""
    return c.field == "price" or c.field.endswith("_allowed") or c.field == "property"


def _exact_rooms(c: Constraint) -> Constraint:
    """"the one-bedroom" is a home with one bedroom, not "1+ bedrooms" as in a search."""
    return Constraint(c.field, "=", c.value) if c.field in ("bedrooms", "bathrooms") and c.op == ">=" else c


# ---------------------------------------------------------------- showings
def _showing_request(ctx, cat, state: dict, own: ListingQuery, q: str, preferences, turn_index: int):
    from ragbot.chat.steps import FastPath

    shown = list(state.get("shown") or [])
    listing = None
    if own.ordinal is not None and shown:
        idx = own.ordinal - 1 if own.ordinal > 0 else len(shown) - 1
        listing = shown[idx] if 0 <= idx < len(shown) else None
    elif state.get("focus"):
        listing = state["focus"]
    elif len(shown) == 1:
        listing = shown[0]
    elif shown:
        return FastPath("listings", say.which_to_see_text(shown), (), "showing request: asked which listing",
                        {**state, "showing": None})
    if listing is None:
        return None
    when = availability(q)
    contact = prefs_mod.contacts(q)
    if not contact and preferences and preferences.get("contact"):
        saved = str(preferences["contact"])
        contact = {"email" if "@" in saved else "phone": saved}
    if contact:
        return _showing(ctx, cat, state, listing, when, contact, preferences)
    hits = _hits(ctx, cat, [listing])
    pending = {"listing": listing, "availability": when, "asked_at": turn_index}
    return FastPath("listings", say.ask_contact_text(f"{listing['title']} [1]", when), tuple(hits[:1]),
                    "showing request: asked for a phone number or email first",
                    {**state, "focus": listing, "showing": pending})


def _showing(ctx, cat, state: dict, listing: Mapping[str, Any], when: str | None, contact: Mapping[str, str],
             preferences: Mapping[str, Any] | None):
    from ragbot.chat.steps import FastPath

    prefs = dict(preferences or {})
    channel = prefs.get("contact_channel") or ("phone" if "phone" in contact else "email")
    details = {"listing": {k: listing[k] for k in ("source", "title", "fields") if k in listing},
               "availability": when,
               "contact": {**contact, "channel": channel},
               "preferences": {k: v for k, v in prefs.items() if k != "contact"}}
    hits = _hits(ctx, cat, [listing])
    kind = "phone number" if "phone" in contact else "email address"
    text = say.showing_confirmed_text(f"{listing['title']} [1]", when, kind)
    note = f"showing of {listing['source']} requested ({'when: ' + when if when else 'no time stated'})"
    return FastPath("showing", text, tuple(hits[:1]), note,
                    {**state, "focus": listing, "showing": None, "showing_request": details})
