"""Listing constraints from a question and the conversation: a deterministic, rule-based parser.

The model never invents constraints; only this parser does. `parse` reads a question (and the
previous ListingQuery of the conversation) into a ListingQuery of Constraints on the canonical
listing fields of ragbot.kb.ingest.fields (price, bedrooms, bathrooms, square_feet,
minimum_nights, city, state, neighbourhood, room_type, pets_allowed, cats_allowed,
dogs_allowed), a sort, an ordinal reference and the remaining free text. `describe` restates a
query for the reply ("2+ bedrooms, at most $1,400/month, Phoenix, AZ, cats allowed").

Grammar (case-insensitive; number words one..twelve become digits; "1.5k" is 1500):

    quantity   := [COMPARATIVE] NUMBER [UNIT] [SUFFIX]
                | ("between" | "from") NUMBER [UNIT] ("and" | "to" | "-") NUMBER [UNIT]
                | NUMBER [UNIT] ("-" | "to" | "or") NUMBER UNIT
    UNIT       := bedroom(s) | bed(s) | br | bd | bdrm        -> bedrooms
                | bathroom(s) | bath(s) | ba                  -> bathrooms
                | sq ft | sqft | square feet | sf | ft2        -> square_feet
                | night(s)                                   -> minimum_nights
                | "$" before, or dollars | usd | bucks | /month | a month | per night ... after -> price
    COMPARATIVE:= under | below | less than | cheaper than | lower than | smaller than | fewer than -> "<"
                | at most | no more than | not more than | max | maximum | up to | within | not over
                | budget (is|of) | afford | pay | spend                                          -> "<="
                | over | above | more than | greater than | bigger than | larger than           -> ">"
                | at least | no less than | min | minimum                                        -> ">="
                | exactly                                                                       -> "="
                | around | about | approximately | roughly | ~ -> between 90% and 110% (price, area)
    SUFFIX     := or less | or fewer | or under | or lower | max | tops | at most               -> "<="
                | or more | or greater | or larger | or bigger | or above | + | plus | at least -> ">="

A number without a unit is a price when "$", "k", or a price word (price, rent, budget, pay,
afford, spend, cost) is next to it, or when it has a comparative and is at least 100; otherwise
it is no constraint (it stays in the free text). Defaults without a comparative: bedrooms and
bathrooms ">=" (as listing sites do: "a 2-bedroom" = 2+ bedrooms), price "<=" (a stated budget),
square_feet ">=", nights "<=" (a listing whose minimum stay is at most the nights wanted).
"studio" = bedrooms "=" 0 ("studio or 1 bedroom": bedrooms "<=" 1).

Categories: room type ("entire home/place/apartment" -> "entire home/apt", "private room",
"shared room"); pets ("cats"/"kitten" -> cats_allowed, "dogs"/"puppy" -> dogs_allowed,
"pets"/"pet-friendly" -> pets_allowed; not after "no", "without", "allergic to"); a state by
full name, or by its two-letter code written in capitals or after a city and a comma; a city
from `known_cities` when written capitalised, after in/near/around/at/from/to, or before a
state code (a name that is also a state's, "Washington", "New York", is the state unless a
state code follows: "Washington, DC"); a neighbourhood from `known_neighbourhoods` anywhere. Several cities ("Austin or
Dallas") give one "in" constraint.

Sorting: cheapest / least expensive / lowest price / most affordable -> price ascending; most
expensive / priciest / highest price -> price descending; largest / biggest / most spacious ->
square_feet descending; smallest -> ascending; newest / latest / most recent -> listed_date
descending; oldest -> ascending; most bedrooms -> bedrooms descending.

Ordinal: "the first/second/.../tenth/last (one|listing|option|place|apartment|home|unit)",
"the 2nd one", "number 2", "#2", "option 2" -> 1-based position in the listings shown last
(-1 = the last one).

Conversation: with a `previous` query, constraints on a field the question mentions replace the
previous ones on that field ("what about 3 bedrooms?"); the others are kept ("only ones that
allow cats" adds one). A new city without a state drops the previous state, and a new state
without a city drops the previous city. "cheaper" / "less expensive" without a number means
price below the cheapest listing shown (`shown`), else the cheapest first; "bigger" / "larger" likewise for square_feet. "any price" / "no budget" drop the
price, "anywhere" / "any city" drop city and state, "any number of bedrooms" drops bedrooms;
"start over" / "new search" / "reset" / "clear filters" drop everything previous. A question with
none of the above returns an empty query (`is_empty`): it is not a listing search, and the
caller keeps the previous query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

OPS = ("=", "<", "<=", ">", ">=", "in")
_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_ORDINALS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth".split(), 1)}
STATES = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca", "colorado": "co",
    "connecticut": "ct", "delaware": "de", "district of columbia": "dc", "florida": "fl", "georgia": "ga",
    "hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia", "kansas": "ks",
    "kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md", "massachusetts": "ma",
    "michigan": "mi", "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt",
    "nebraska": "ne", "nevada": "nv", "new hampshire": "nh", "new jersey": "nj", "new mexico": "nm",
    "new york": "ny", "north carolina": "nc", "north dakota": "nd", "ohio": "oh", "oklahoma": "ok",
    "oregon": "or", "pennsylvania": "pa", "rhode island": "ri", "south carolina": "sc", "south dakota": "sd",
    "tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
    "west virginia": "wv", "wisconsin": "wi", "wyoming": "wy", "puerto rico": "pr",
}
_CODES = frozenset(STATES.values())
_WORD_CODES = frozenset({"or", "in", "me", "hi", "ok", "de", "la", "pa", "ma", "id", "co", "al"})  # also English words
_PRICE_PERIOD = {"month": "/month", "night": "/night", "week": "/week"}


@dataclass(frozen=True)
class Constraint:
    """One condition on a canonical listing field. op: one of OPS; value: float for numbers,
    lower-case str for categories, bool for pet flags, tuple of lower-case str for "in"."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class SortKey:
    """Order of the results: by `field`, descending when `descending`."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class ListingQuery:
    """constraints: all must hold; sort: None = by relevance of free_text; ordinal: 1-based
    position in the listings shown last (-1 = last), None when not referring to one; free_text:
    the question without the parts that became constraints (for semantic ranking)."""

    constraints: tuple[Constraint, ...] = ()
    sort: SortKey | None = None
    ordinal: int | None = None
    free_text: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.constraints and self.sort is None and self.ordinal is None

    def on(self, field: str) -> tuple[Constraint, ...]:
        """The constraints on `field`."""
        return tuple(c for c in self.constraints if c.field == field)


# ---------------------------------------------------------------- lexical patterns
_NUM = r"(?P<cur>\$\s?)?(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?P<dec>\.\d+)?(?P<k>\s?k(?![a-z]))?"
_UNITS = (
    ("bedrooms", r"[\s-]?(?:bed(?:room)?s?|bdrms?|brs?|bds?)(?![a-z])"),
    ("bathrooms", r"[\s-]?(?:bath(?:room)?s?|ba)(?![a-z])"),
    ("square_feet", r"[\s-]?(?:sqft|sq\.? ?ft\.?|square[\s-]?f(?:ee|oo)t|sf|ft2|ft²)(?![a-z])"),
    ("minimum_nights", r"[\s-]?nights?(?![a-z])"),
    ("price", r"\s?(?:dollars|usd|bucks)(?![a-z])"),
)
_PERIOD = re.compile(r"^\s?(?:/\s?|a |per )(?:mo(?:nth)?|night|week)\b")
_PREFIX_OPS = (
    (r"(?:less|lower|cheaper|smaller|fewer) than|under|below|beneath", "<"),
    (r"at most|no more than|not more than|not over|not above|max(?:imum)?(?: of)?|up to|within|"
     r"budget(?: is| of)?(?: about| around)?|afford|pay|spend|for", "<="),
    (r"(?:more|greater|bigger|larger|higher) than|over|above|exceeding", ">"),
    (r"at least|no less than|not less than|no fewer than|min(?:imum)?(?: of)?", ">="),
    (r"exactly|precisely|just", "="),
    (r"around|(?<!what )(?<!how )about|approximately|roughly|~", "~"),
)
_SUFFIX_OPS = (
    (r"or (?:less|fewer|under|below|lower|cheaper)|max(?:imum)?|tops|at most|or smaller", "<="),
    (r"or (?:more|greater|larger|bigger|above|higher)|\+|plus|at least|minimum|or up", ">="),
)
_PRICE_WORDS = re.compile(r"(?:price|rent|budget|pay|afford|spend|cost|costs|priced|\$)\W*(?:\w+\W+){0,2}$")
_ROOM_TYPES = (
    (r"entire (?:home|house|place|apartment|apt|unit|flat|condo)s?|whole (?:place|home|house|apartment|unit)|"
     r"home/apt|entire homes?", "entire home/apt"),
    (r"private rooms?", "private room"),
    (r"shared rooms?|dorm(?:itory)? beds?", "shared room"),
)
_NEG = r"(?:no|not|without|allergic to|don'?t|doesn'?t|hate|never)\s+(?:\w+\s+)?"
_PETS = (
    ("cats_allowed", r"\b(?:cats?|kitt(?:y|ies|ens?)|felines?)\b"),
    ("dogs_allowed", r"\b(?:dogs?|pupp(?:y|ies)|pups?|canines?)\b"),
    ("pets_allowed", r"\bpet[\s-]friendly\b|\bpets? (?:are |is )?(?:allowed|ok|okay|welcome|accepted|permitted)\b|"
                     r"\b(?:allow|allows|allowing|accept|accepts|permit|permits|welcome|welcomes|takes?|with|have|"
                     r"has|own|bring)\s+(?:my\s+|a\s+|our\s+|two\s+|\d\s+)?pets?\b"),
)
_SORTS = (
    (r"cheapest|least expensive|lowest[\s-]price[ds]?|lowest rent|most affordable|lowest cost", "price", False),
    (r"most expensive|priciest|highest[\s-]price[ds]?|highest rent", "price", True),
    (r"largest|biggest|most spacious|most space", "square_feet", True),
    (r"smallest|tiniest", "square_feet", False),
    (r"newest|latest|most recent(?:ly listed)?|recently listed", "listed_date", True),
    (r"oldest", "listed_date", False),
    (r"most bedrooms", "bedrooms", True),
)
_ORDINAL = re.compile(
    r"\b(?:the\s+)?(?P<w>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|"
    r"(?P<d>\d{1,2})(?:st|nd|rd|th))\s+(?:one|listing|option|place|apartment|apt|home|unit|house|room|result|ad)s?\b"
    r"|(?:\bnumber|\bno\.|\boption|\blisting|#)\s?(?P<n>\d{1,2})\b|\bthe\s+(?P<w2>first|second|third|last)\s*[?.!]?$")
_RESET = re.compile(r"\b(?:start over|new search|reset|clear (?:the |my |all )?(?:filters|criteria|search)|"
                    r"forget (?:that|those|my|the) (?:criteria|filters|search))\b")
_CHEAPER = re.compile(r"\b(?:cheaper|less expensive|lower[\s-]priced|more affordable|for less)\b")
_BIGGER = re.compile(r"\b(?:bigger|larger|more space|more spacious)\b")
_DROP = (
    (re.compile(r"\b(?:any price|any budget|no budget|regardless of (?:the )?price|price doesn'?t matter|"
                r"(?:forget|ignore|drop) the (?:budget|price))\b"), ("price",)),
    (re.compile(r"\b(?:anywhere|any city|any location|any state|(?:forget|ignore|drop) the (?:city|location))\b"),
     ("city", "state")),
    (re.compile(r"\bany number of bedrooms\b"), ("bedrooms",)),
)
_CITY_LEAD = re.compile(r"(?:\bin|\bnear|\baround|\bat|\bfrom|\bto|\bor|\band|,)\s+$")


def _normalise(question: str) -> str:
    t = question.lower().replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    t = re.sub(r"\b(" + "|".join(_WORDS) + r")(?=[\s-](?:bed|bath|br\b|bd\b|night|or\b|to\b|and\b))",
               lambda m: _WORDS[m.group(1)], t)
    return t


def _number(m: re.Match) -> float:
    v = float(m["num"].replace(",", "") + (m["dec"] or ""))
    return v * 1000 if m["k"] else v


def _prefix_op(before: str) -> tuple[str | None, int]:
    """(op, start of the comparative in `before`) of a comparative ending `before`; (None, len)."""
    for pat, op in _PREFIX_OPS:
        m = re.search(r"(?<![a-z])(?:" + pat + r")\s*(?:of\s+|than\s+)?$", before)
        if m:
            return op, m.start()
    return None, len(before)


def _suffix_op(after: str) -> tuple[str | None, int]:
    for pat, op in _SUFFIX_OPS:
        m = re.match(r"\s*(?:" + pat + r")(?![a-z])", after)
        if m and not re.match(r"\s*(?:of\s+)?\$?\d", after[m.end():]):  # "2 beds at most $900": next quantity's
            return op, m.end()
    return None, 0


def _unit(after: str) -> tuple[str | None, int]:
    for field, pat in _UNITS:
        m = re.match(pat, after)
        if m:
            return field, m.end()
    m = _PERIOD.match(after)
    return ("price", m.end()) if m else (None, 0)


# ---------------------------------------------------------------- extraction
_NUM_RE = re.compile(r"(?<![\w.,])" + _NUM)
_PRICE_ONLY = re.compile(r"(?:budget|afford|pay|spend|for)\b[\w ]*$")
_RANGE_JOIN = re.compile(r"\s*(?:-|to|and|or)\s*")


@dataclass
class _Found:
    """Mutable scratch state of one parse (local to the call)."""

    constraints: list[Constraint]
    spans: list[tuple[int, int]]

    def add(self, span: tuple[int, int], *cs: Constraint) -> None:
        self.constraints.extend(cs)
        self.spans.append(span)

    def free(self, a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in self.spans)


def _field_for(m: re.Match, unit: str | None, before: str, op: str | None, value: float) -> str | None:
    if unit is not None:
        return unit
    if m["cur"] or m["k"] or _PRICE_WORDS.search(before):
        return "price"
    return "price" if op is not None and value >= 100 else None


def _single(t: str, m: re.Match, unit: str | None, ulen: int, found: _Found) -> None:
    before, value = t[:m.start()], _number(m)
    op, start = _prefix_op(before)
    sop, slen = _suffix_op(t[m.end() + ulen:])
    field = _field_for(m, unit, before, op or sop, value)
    if field is None:
        return
    if op is not None and field != "price" and op == "<=" and _PRICE_ONLY.search(before) and not re.search(
            r"(?:at most|no more than|not more than|max(?:imum)?(?: of)?|up to|within)\s*$", before):
        op = None  # "for 2 bedrooms", "budget" words bound prices only
    if field == "minimum_nights" and op in (">=", ">") and re.search(r"min(?:imum)?\s*(?:of\s*)?$", before):
        op = None  # "minimum 2 nights" names the field
    op = op or sop or {"price": "<=", "minimum_nights": "<="}.get(field, ">=")
    span = (start, m.end() + ulen + slen)
    if op == "~":
        if field in ("price", "square_feet"):
            found.add(span, Constraint(field, ">=", round(value * 0.9, 2)), Constraint(field, "<=", round(value * 1.1, 2)))
        else:
            found.add(span, Constraint(field, "=", value))
        return
    found.add(span, Constraint(field, op, value))


def _range(t: str, m: re.Match, m2: re.Match, unit: str | None, found: _Found) -> bool:
    """Adds a between-constraint for "m .. m2" when the two numbers form a range; False otherwise."""
    joiner = t[m.end():m2.start()]
    before = t[:m.start()]
    unit2, ulen2 = _unit(t[m2.end():])
    field = unit or unit2
    word = re.sub(r"[^a-z-]", "", joiner.split()[-1] if joiner.split() else joiner) or "-"
    if word == "and" and not re.search(r"between\s*$", before):
        return False
    if word == "or" and field not in ("bedrooms", "bathrooms"):
        return False
    lo, hi = _number(m), _number(m2)
    if m2["k"] and not m["k"] and lo < 100:
        lo *= 1000
    if field is None and (m["cur"] or m2["cur"] or m["k"] or m2["k"] or _PRICE_WORDS.search(before)
                          or (re.search(r"(?:between|from)\s*$", before) and lo >= 100)):
        field = "price"
    if field is None:
        return False
    lo, hi = min(lo, hi), max(lo, hi)
    lead = re.search(r"(?:between|from)\s*$", before)
    found.add((lead.start() if lead else m.start(), m2.end() + ulen2), Constraint(field, ">=", lo),
              Constraint(field, "<=", hi))
    return True


def _quantities(t: str, found: _Found) -> None:
    matches = list(_NUM_RE.finditer(t))
    skip_to = -1
    for i, m in enumerate(matches):
        if m.start() < skip_to:
            continue
        plus = t.startswith("+", m.end())
        unit, ulen = _unit(t[m.end() + plus:])
        if plus and unit is not None:
            found.add((m.start(), m.end() + 1 + ulen), Constraint(unit, ">=", _number(m)))  # "3+ bedrooms"
            continue
        if unit is None and re.match(r"[a-z]", t[m.end():]):
            continue  # "3rd", "2nd floor", "5pm"
        if i + 1 < len(matches):
            m2 = matches[i + 1]
            gap = t[m.end() + ulen:m2.start()]
            if _RANGE_JOIN.fullmatch(gap) and _range(t, m, m2, unit, found):
                skip_to = m2.end()
                continue
        _single(t, m, unit, ulen, found)


def _studio(t: str, found: _Found) -> None:
    m = re.search(r"\bstudios?\b(?!\s+city)", t)
    if not m:
        return
    beds = [c for c in found.constraints if c.field == "bedrooms"]
    if beds:
        top = max(float(c.value) for c in beds)
        found.constraints[:] = [c for c in found.constraints if c.field != "bedrooms"]
        found.add((m.start(), m.end()), Constraint("bedrooms", "<=", top))
    else:
        found.add((m.start(), m.end()), Constraint("bedrooms", "=", 0.0))


def _room_and_pets(t: str, found: _Found) -> None:
    for pat, value in _ROOM_TYPES:
        m = re.search(r"\b(?:" + pat + r")\b", t)
        if m and found.free(*m.span()):
            found.add(m.span(), Constraint("room_type", "=", value))
            break
    pets: dict[str, tuple[int, int]] = {}
    for field, pat in _PETS:
        for m in re.finditer(pat, t):
            if not re.search(r"\b" + _NEG + r"$", t[:m.start()]) and found.free(*m.span()):
                pets.setdefault(field, m.span())
    if "cats_allowed" in pets or "dogs_allowed" in pets:
        pets.pop("pets_allowed", None)
    for field, span in pets.items():
        found.add(span, Constraint(field, "=", True))


def _words(t: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z0-9]+", t)]


def _names(values: Iterable[str], parts: bool = False) -> dict[str, str]:
    """{space-joined lower-case words of a name: the stored (lower-case) value}; with `parts`,
    also each '/'-separated part of two or more words or 8+ letters ("near north/university":
    "university")."""
    out: dict[str, str] = {}
    for v in values:
        value = str(v).strip().lower()
        keys = [value] + ([p for p in value.split("/") if len(p.split()) > 1 or len(p.strip()) >= 8]
                          if parts and "/" in value else [])
        for k in keys:
            key = " ".join(re.findall(r"[a-z0-9]+", k))
            if key:
                out.setdefault(key, value)
    return out


def _ngram_matches(words: list[tuple[str, int, int]], names: Mapping[str, str], max_n: int = 5):
    """(start word, end word, value) of the longest name matches, left to right, non-overlapping."""
    i = 0
    while i < len(words):
        for n in range(min(max_n, len(words) - i), 0, -1):
            key = " ".join(w for w, _, _ in words[i:i + n])
            if key in names:
                yield i, i + n, names[key]
                i += n - 1
                break
        i += 1


def _places(question: str, t: str, found: _Found, known_cities: Iterable[str],
            known_neighbourhoods: Iterable[str]) -> None:
    words = _words(t)
    hoods: list[str] = []
    for a, b, value in _ngram_matches(words, _names(known_neighbourhoods, parts=True)):
        span = (words[a][1], words[b - 1][2])
        if found.free(*span):
            found.add(span)
            if value not in hoods:
                hoods.append(value)
    if hoods:
        found.constraints.append(_one_or_in("neighbourhood", hoods))
    cities: list[str] = []
    city_ends: set[int] = set()
    for a, b, value in _ngram_matches(words, _names(known_cities)):
        s, e = words[a][1], words[b - 1][2]
        code = re.match(r",?\s*([a-z]{2})\b", t[e:e + 6])
        coded = bool(code and code.group(1) in _CODES)
        if not found.free(s, e) or (" ".join(w for w, _, _ in words[a:b]) in STATES and not coded):
            continue  # "in Washington" is the state, "Washington, DC" the city
        if coded or _CITY_LEAD.search(t[:s]) or question[s:s + 1].isupper():
            found.add((s, e))
            if value not in cities:
                cities.append(value)
            city_ends.add(b)
    if cities:
        found.constraints.append(_one_or_in("city", cities))
    _states(question, t, words, found, city_ends)


def _states(question: str, t: str, words: list[tuple[str, int, int]], found: _Found, city_ends: set[int]) -> None:
    codes: list[str] = []
    for a, b, value in _ngram_matches(words, {k: v for k, v in STATES.items()}, max_n=3):
        span = (words[a][1], words[b - 1][2])
        if found.free(*span):
            found.add(span)
            codes.append(value)
    for i, (w, s, e) in enumerate(words):
        if w not in _CODES or not found.free(s, e) or w in codes:
            continue
        upper = question[s:e].isupper()
        after_city = i in city_ends and (upper or w not in _WORD_CODES or t[:s].rstrip().endswith(","))
        if after_city or (upper and re.search(r"(?:\bin|\bnear|,)\s*$", t[:s])):
            found.add((s, e))
            codes.append(w)
    if codes:
        found.constraints.append(_one_or_in("state", codes))


def _one_or_in(field: str, values: list[str]) -> Constraint:
    return Constraint(field, "=", values[0]) if len(values) == 1 else Constraint(field, "in", tuple(values))


def _sort(t: str, found: _Found) -> SortKey | None:
    best: tuple[int, SortKey, tuple[int, int]] | None = None
    for pat, field, desc in _SORTS:
        m = re.search(r"\b(?:" + pat + r")\b", t)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), SortKey(field, desc), m.span())
    if best is None:
        return None
    found.spans.append(best[2])
    return best[1]


def _ordinal(t: str, found: _Found) -> int | None:
    m = _ORDINAL.search(t)
    if not m:
        return None
    found.spans.append(m.span())
    word = m["w"] or m["w2"]
    if m["d"] or m["n"]:
        n = int(m["d"] or m["n"])
        return n if n >= 1 else None
    return -1 if word == "last" else _ORDINALS[word]


def _relative(t: str, found: _Found, shown: Sequence[Mapping[str, Any]]) -> SortKey | None:
    """"cheaper" / "bigger" without a number: a bound from the listings shown, else a sort.
    Returns the sort to use (or None)."""
    mentioned = {c.field for c in found.constraints}
    for pattern, field, op, pick in ((_CHEAPER, "price", "<", min), (_BIGGER, "square_feet", ">", max)):
        m = pattern.search(t)
        if not m or field in mentioned:
            continue
        found.spans.append(m.span())
        values = [float(v) for s in shown if isinstance(v := s.get(field), (int, float)) and not isinstance(v, bool)]
        if values:
            found.constraints.append(Constraint(field, op, pick(values)))
        else:
            return SortKey(field, op == ">")
    return None


def _merge(new: list[Constraint], previous: ListingQuery | None, dropped: set[str]) -> tuple[Constraint, ...]:
    fields = {c.field for c in new}
    if "city" in fields and "state" not in fields:
        dropped = dropped | {"state"}
    if "state" in fields and "city" not in fields:
        dropped = dropped | {"city"}
    kept = [c for c in (previous.constraints if previous else ()) if c.field not in fields and c.field not in dropped]
    out: list[Constraint] = []
    for c in kept + new:
        if c not in out:
            out.append(c)
    return tuple(out)


def _free_text(question: str, spans: list[tuple[int, int]]) -> str:
    chars = list(question)
    for s, e in spans:
        for i in range(max(0, s), min(len(chars), e)):
            chars[i] = " "
    return re.sub(r"\s+", " ", "".join(chars)).strip(" ,.;:!?-")


def parse(question: str, previous: ListingQuery | None = None, known_cities: Iterable[str] = (),
          known_neighbourhoods: Iterable[str] = (), shown: Sequence[Mapping[str, Any]] = ()) -> ListingQuery:
    """The ListingQuery of `question` given the conversation's `previous` query (grammar in the
    module docstring).

    known_cities / known_neighbourhoods: the values listings hold (any case), e.g. from the
    chunk store; a place not among them is not a constraint. shown: the typed fields (dicts as
    in metadata["fields"]) of the listings shown last, in order; used by "cheaper" / "bigger".
    Returns an empty query (`is_empty`) when the question states no constraint, sort, ordinal
    or refinement. Never raises for any string; raises TypeError when question is not a str.
    """
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, got {type(question).__name__}")
    t = _normalise(question)
    reset = bool(_RESET.search(t))
    if reset:
        previous = None
    found = _Found([], [])
    _quantities(t, found)
    _studio(t, found)
    _room_and_pets(t, found)
    _places(question, t, found, known_cities, known_neighbourhoods)
    sort = _sort(t, found)
    ordinal = _ordinal(t, found)
    relative_sort = _relative(t, found, shown)
    dropped = {f for pattern, fields in _DROP if pattern.search(t) for f in fields}
    if not (found.constraints or sort or relative_sort or ordinal is not None or dropped or reset):
        return ListingQuery(free_text=question.strip())
    constraints = _merge(found.constraints, previous, dropped)
    sort = sort or relative_sort or (previous.sort if previous else None)
    return ListingQuery(constraints, sort, ordinal, _free_text(question, found.spans))


# ---------------------------------------------------------------- describe
def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")


def _bounds(cs: Sequence[Constraint]) -> tuple[str, float | None, str, float | None, float | None]:
    lo_op, lo, hi_op, hi, eq = "", None, "", None, None
    for c in cs:
        if c.op in (">", ">="):
            lo_op, lo = c.op, float(c.value)
        elif c.op in ("<", "<="):
            hi_op, hi = c.op, float(c.value)
        elif c.op == "=":
            eq = float(c.value)
    return lo_op, lo, hi_op, hi, eq


def _describe_amount(cs: Sequence[Constraint], fmt, noun: str = "") -> str:
    lo_op, lo, hi_op, hi, eq = _bounds(cs)
    tail = f" {noun}" if noun else ""
    if eq is not None:
        return f"{fmt(eq)}{tail}"
    if lo is not None and hi is not None:
        return f"{fmt(lo)}-{fmt(hi)}{tail}"
    if hi is not None:
        return f"{'under' if hi_op == '<' else 'at most'} {fmt(hi)}{tail}"
    if lo is not None:
        return f"{'over' if lo_op == '>' else 'at least'} {fmt(lo)}{tail}"
    return ""


def _describe_rooms(cs: Sequence[Constraint], noun: str) -> str:
    lo_op, lo, hi_op, hi, eq = _bounds(cs)
    if noun == "bedroom" and (eq == 0 or (hi == 0 and lo is None)):
        return "studio"
    plural = lambda v: f"{_num(v)} {noun}{'' if v == 1 else 's'}"  # noqa: E731
    if eq is not None:
        return plural(eq)
    if lo is not None and hi is None and lo_op == ">=":
        return f"{_num(lo)}+ {noun}{'' if lo == 1 else 's'}"
    if noun == "bedroom" and lo is None and hi is not None and hi_op == "<=":
        return f"studio to {plural(hi)}"
    return _describe_amount(cs, _num, noun + "s")


def _title(value: Any) -> str:
    vals = value if isinstance(value, tuple) else (value,)
    return " or ".join(re.sub(r"\b([a-z])", lambda m: m.group(1).upper(), str(v)) for v in vals)


def describe(query: ListingQuery, price_period: str | None = "month") -> str:
    """The constraints and sort of `query` as one line for the reply, e.g. "2+ bedrooms, at most
    $1,400/month, Phoenix, AZ, cats allowed, cheapest first". price_period: "month", "night",
    "week" or None (no suffix). "" for a query with neither constraints nor sort."""
    suffix = _PRICE_PERIOD.get(price_period or "", "")
    parts: list[str] = []
    q = query
    if q.on("bedrooms"):
        parts.append(_describe_rooms(q.on("bedrooms"), "bedroom"))
    if q.on("bathrooms"):
        parts.append(_describe_rooms(q.on("bathrooms"), "bathroom"))
    if q.on("price"):
        amount = _describe_amount(q.on("price"), lambda v: f"${_num(v)}")
        parts.append(amount + suffix if amount else "")
    if q.on("square_feet"):
        parts.append(_describe_amount(q.on("square_feet"), _num, "sq ft"))
    if q.on("minimum_nights"):
        nights = _describe_amount(q.on("minimum_nights"), _num, "nights")
        parts.append("minimum stay " + re.sub(r"\b1 nights", "1 night", nights))
    place = [_title(c.value) for c in q.on("neighbourhood") + q.on("city")]
    place += [(" or ".join(c.value) if isinstance(c.value, tuple) else str(c.value)).upper() for c in q.on("state")]
    parts.extend(place)
    parts.extend(str(c.value) for c in q.on("room_type"))
    pets = [f[:-len("_allowed")] for f in ("cats_allowed", "dogs_allowed", "pets_allowed")
            if any(c.value is True for c in q.on(f))]
    if pets:
        parts.append(" and ".join(pets) + " allowed")
    known = {"bedrooms", "bathrooms", "price", "square_feet", "minimum_nights", "neighbourhood", "city", "state",
             "room_type", "cats_allowed", "dogs_allowed", "pets_allowed"}
    parts.extend(f"{c.field} {c.op} {c.value}" for c in q.constraints if c.field not in known)
    if q.sort is not None:
        parts.append(_SORT_WORDS.get((q.sort.field, q.sort.descending),
                                     f"by {q.sort.field}{' descending' if q.sort.descending else ''}"))
    return ", ".join(p for p in parts if p)


_SORT_WORDS = {("price", False): "cheapest first", ("price", True): "most expensive first",
               ("square_feet", True): "largest first", ("square_feet", False): "smallest first",
               ("listed_date", True): "newest first", ("listed_date", False): "oldest first",
               ("bedrooms", True): "most bedrooms first"}
