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
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ragbot.chat.constraint_grammar import extract

OPS = ("=", "<", "<=", ">", ">=", "in")
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
    x = extract(question, known_cities, known_neighbourhoods, shown)
    if x.reset:
        previous = None
    new = [Constraint(*c) for c in x.constraints]
    if not (new or x.sort or x.relative_sort or x.ordinal is not None or x.dropped or x.reset):
        return ListingQuery(free_text=question.strip())
    constraints = _merge(new, previous, set(x.dropped))
    sort = SortKey(*x.sort) if x.sort else SortKey(*x.relative_sort) if x.relative_sort else None
    sort = sort or (previous.sort if previous else None)
    return ListingQuery(constraints, sort, x.ordinal, _free_text(question, list(x.spans)))


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
    place += [" or ".join(v.upper() for v in (c.value if isinstance(c.value, tuple) else (str(c.value),)))
              for c in q.on("state")]
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
