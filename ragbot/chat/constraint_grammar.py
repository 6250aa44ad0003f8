"""The rules of ragbot.chat.constraints (grammar in that module's docstring): lexical patterns
and the extraction of quantities, categories, places, sorts, ordinals and refinements from one
question. Works on plain tuples, (field, op, value) and (field, descending); constraints.parse
turns them into Constraint / SortKey and merges them with the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

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

    constraints: list[tuple]
    spans: list[tuple[int, int]]

    def add(self, span: tuple[int, int], *cs: tuple) -> None:
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
            found.add(span, (field, ">=", round(value * 0.9, 2)), (field, "<=", round(value * 1.1, 2)))
        else:
            found.add(span, (field, "=", value))
        return
    found.add(span, (field, op, value))


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
    found.add((lead.start() if lead else m.start(), m2.end() + ulen2), (field, ">=", lo),
              (field, "<=", hi))
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
            found.add((m.start(), m.end() + 1 + ulen), (unit, ">=", _number(m)))  # "3+ bedrooms"
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
    beds = [c for c in found.constraints if c[0] == "bedrooms"]
    if beds:
        top = max(float(c[2]) for c in beds)
        found.constraints[:] = [c for c in found.constraints if c[0] != "bedrooms"]
        found.add((m.start(), m.end()), ("bedrooms", "<=", top))
    else:
        found.add((m.start(), m.end()), ("bedrooms", "=", 0.0))


def _room_and_pets(t: str, found: _Found) -> None:
    for pat, value in _ROOM_TYPES:
        m = re.search(r"\b(?:" + pat + r")\b", t)
        if m and found.free(*m.span()):
            found.add(m.span(), ("room_type", "=", value))
            break
    pets: dict[str, tuple[int, int]] = {}
    for field, pat in _PETS:
        for m in re.finditer(pat, t):
            if not re.search(r"\b" + _NEG + r"$", t[:m.start()]) and found.free(*m.span()):
                pets.setdefault(field, m.span())
    if "cats_allowed" in pets or "dogs_allowed" in pets:
        pets.pop("pets_allowed", None)
    for field, span in pets.items():
        found.add(span, (field, "=", True))


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


def _one_or_in(field: str, values: list[str]) -> tuple:
    return (field, "=", values[0]) if len(values) == 1 else (field, "in", tuple(values))


def _sort(t: str, found: _Found) -> tuple[str, bool] | None:
    best: tuple[int, tuple[str, bool], tuple[int, int]] | None = None
    for pat, field, desc in _SORTS:
        m = re.search(r"\b(?:" + pat + r")\b", t)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), (field, desc), m.span())
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


def _relative(t: str, found: _Found, shown: Sequence[Mapping[str, Any]]) -> tuple[str, bool] | None:
    """"cheaper" / "bigger" without a number: a bound from the listings shown, else a sort.
    Returns the sort to use (or None)."""
    mentioned = {c[0] for c in found.constraints}
    for pattern, field, op, pick in ((_CHEAPER, "price", "<", min), (_BIGGER, "square_feet", ">", max)):
        m = pattern.search(t)
        if not m or field in mentioned:
            continue
        found.spans.append(m.span())
        values = [float(v) for s in shown if isinstance(v := s.get(field), (int, float)) and not isinstance(v, bool)]
        if values:
            found.constraints.append((field, op, pick(values)))
        else:
            return (field, op == ">")
    return None


@dataclass(frozen=True)
class Extracted:
    """What one question states. constraints: (field, op, value); sort: (field, descending) from
    a sort word, relative_sort from "cheaper"/"bigger" with nothing shown; ordinal: 1-based, -1 =
    last; dropped: fields the question gives up ("any price"); reset: "start over"; spans:
    character ranges of the question that became any of these."""

    constraints: tuple[tuple[str, str, Any], ...]
    sort: tuple[str, bool] | None
    relative_sort: tuple[str, bool] | None
    ordinal: int | None
    dropped: frozenset[str]
    reset: bool
    spans: tuple[tuple[int, int], ...]


def extract(question: str, known_cities: Iterable[str] = (), known_neighbourhoods: Iterable[str] = (),
            shown: Sequence[Mapping[str, Any]] = ()) -> Extracted:
    """Everything `question` states, before merging with the conversation."""
    t = _normalise(question)
    found = _Found([], [])
    _quantities(t, found)
    _studio(t, found)
    _room_and_pets(t, found)
    _places(question, t, found, known_cities, known_neighbourhoods)
    sort = _sort(t, found)
    ordinal = _ordinal(t, found)
    relative_sort = _relative(t, found, shown)
    dropped = frozenset(f for pattern, fields in _DROP if pattern.search(t) for f in fields)
    return Extracted(tuple(found.constraints), sort, relative_sort, ordinal, dropped, bool(_RESET.search(t)),
                     tuple(found.spans))
