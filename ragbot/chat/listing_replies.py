"""The user-facing text of listing turns (chat/listings.py): search results, "nothing matches" with
the nearest relaxation, one listing's details, and the showing-request messages. Pure functions of
typed listing fields (dicts as in chunk metadata["fields"], ragbot.kb.ingest.fields); no model.

Citations: the i-th listing of a reply is cited as [i] (the turn's hits[i-1]).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ragbot.chat.constraints import ListingQuery, SortKey, describe

_SORT_NOUN = {("price", False): "cheapest", ("price", True): "most expensive", ("square_feet", True): "largest",
              ("square_feet", False): "smallest", ("listed_date", True): "newest", ("listed_date", False): "oldest",
              ("bedrooms", True): "with the most bedrooms"}
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh",
                  8: "eighth", 9: "ninth", 10: "tenth", -1: "last"}
_NIGHTLY_FIELDS = ("minimum_nights", "room_type")
_IN_KEY_FACTS = frozenset({"price", "bedrooms", "bathrooms", "square feet", "room type", "minimum nights"})


def price_period(fields: Mapping[str, Any]) -> str:
    """"night" for short-term rentals (a row with minimum_nights or room_type), else "month"."""
    return "night" if any(fields.get(f) is not None for f in _NIGHTLY_FIELDS) else "month"


def query_period(query: ListingQuery, listings: Sequence[Mapping[str, Any]] = ()) -> str:
    """The price period to restate a query with: "night" when it constrains nightly-only fields or
    every listing shown is nightly, else "month"."""
    if any(query.on(f) for f in _NIGHTLY_FIELDS + ("neighbourhood",)):
        return "night"
    if listings and all(price_period(f) == "night" for f in listings):
        return "night"
    return "month"


def restate(query: ListingQuery, period: str | None = "month") -> str:
    """The constraints and sort of `query` as one line (constraints.describe), with a listing
    property named as such ("at Oak Street Apartments")."""
    props = [str(c.value).title() for c in query.on("property")]
    rest = ListingQuery(tuple(c for c in query.constraints if c.field != "property"))
    order = describe(ListingQuery(sort=query.sort)) if query.sort else ""
    return ", ".join(p for p in [describe(rest, period)] + [f"at {p}" for p in props] + [order] if p)


def _num(v: float) -> str:
    v = float(v)
    return f"{v:,.0f}" if v.is_integer() else f"{v:,.1f}"


def _plural(n: float, noun: str) -> str:
    return f"{_num(n)} {noun}{'' if float(n) == 1 else 's'}"


def title(fields: Mapping[str, Any], text: str = "") -> str:
    """The listing's name: its title field, else the first line of its passage."""
    t = str(fields.get("title") or "").strip()
    return t or (text.strip().splitlines()[0][:80] if text.strip() else "this listing")


def key_facts(fields: Mapping[str, Any]) -> str:
    """One line of a listing's key facts: price with its period, rooms, size, place, room type,
    minimum stay, pets. Only fields the listing has are named."""
    f = fields
    parts = []
    if f.get("price") is not None:
        parts.append(f"${_num(f['price'])}/{price_period(f)}")
    if f.get("bedrooms") is not None:
        parts.append("studio" if float(f["bedrooms"]) == 0 else _plural(f["bedrooms"], "bedroom"))
    if f.get("bathrooms") is not None:
        parts.append(_plural(f["bathrooms"], "bathroom"))
    if f.get("square_feet") is not None:
        parts.append(f"{_num(f['square_feet'])} sq ft")
    if f.get("room_type"):
        parts.append(str(f["room_type"]))
    if f.get("minimum_nights") is not None:
        parts.append(f"minimum stay {_plural(f['minimum_nights'], 'night')}")
    place = [str(f[k]).title() for k in ("neighbourhood", "city") if f.get(k)]
    if f.get("state"):
        place.append(str(f["state"]).upper())
    if place:
        parts.append(", ".join(place))
    pets = [p for p in ("cats", "dogs") if f.get(f"{p}_allowed") is True]
    if pets:
        parts.append(" and ".join(pets) + " allowed")
    elif f.get("pets_allowed") is False:
        parts.append("no pets")
    return ", ".join(parts)


def _lines(listings: Sequence[tuple[Mapping[str, Any], str]]) -> list[str]:
    return [f"{i}. {title(f, t)}: {key_facts(f)} [{i}]" for i, (f, t) in enumerate(listings, 1)]


def order_words(sort: SortKey | None, ranked: bool, sort_applied: bool = True) -> str:
    """How the shown listings were picked: "cheapest", "closest to what you asked", ..."""
    if sort is not None and sort_applied:
        return _SORT_NOUN.get((sort.field, sort.descending), f"first by {sort.field}")
    return "closest to what you described" if ranked else "first"


def _homes(n: int) -> str:
    return f"{n:,} home{'' if n == 1 else 's'}"


def results_text(query: ListingQuery, total: int, listings: Sequence[tuple[Mapping[str, Any], str]],
                 order: str, intro: str = "") -> str:
    """"{intro}Searching for: 2+ bedrooms, at most $1,400/month, Phoenix, AZ, cats allowed.
    12 homes match; the 3 cheapest are:" and one numbered line per listing with its [n]."""
    period = query_period(query, [f for f, _ in listings])
    head = f"{intro}Searching for: {restate(query, period) or 'any home'}."
    n = len(listings)
    if total <= n:
        count = f"{_homes(total)} {'matches' if total == 1 else 'match'}:"
    else:
        count = f"{_homes(total)} match; the {n} {order} {'is' if n == 1 else 'are'}:"
    tail = 'Tell me if I got a condition wrong, or ask about one ("tell me more about the second one").'
    return "\n".join([head, count] + _lines(listings) + [tail])


def no_match_text(query: ListingQuery, label: str | None, relaxed: ListingQuery | None, relaxed_total: int,
                  listings: Sequence[tuple[Mapping[str, Any], str]], intro: str = "") -> str:
    """No listing matches: say so, and offer the nearest relaxation labelled as such (its listings
    are not presented as matches)."""
    period = query_period(query, [f for f, _ in listings])
    head = f"{intro}No home matches {restate(query, period) or 'that'}."
    if relaxed is None or not listings:
        return head + " Nothing comes close either; try fewer conditions."
    lines = [head, f"Nearest, if you relax that ({label}): {_homes(relaxed_total)} "
                   f"({restate(relaxed, period)}). {'It does' if len(listings) == 1 else 'These do'} not "
                   f"meet everything you asked for:"]
    return "\n".join(lines + _lines(listings))


def detail_text(position: int, fields: Mapping[str, Any], text: str) -> str:
    """One listing in full: which one it is, its key facts, and its passage, cited [1]."""
    which = _ORDINAL_WORDS.get(position, f"number {position}")
    lines = [ln.strip() for ln in text.splitlines()[1:] if ln.strip()] if "\n" in text else [text.strip()]
    body = "; ".join(ln for ln in lines if ln.split(":")[0].strip().lower() not in _IN_KEY_FACTS)
    return (f"The {which} one is {title(fields, text)} [1]: {key_facts(fields)}.\n{body} [1]\n"
            "Would you like to see it? Tell me a day and time.")


def out_of_range_text(position: int, shown: int) -> str:
    which = _ORDINAL_WORDS.get(position, f"number {position}")
    return (f"I showed {shown} home{'' if shown == 1 else 's'} last time, so there is no {which} one; "
            f"which of 1 to {shown} do you mean?")


def which_to_see_text(shown: Sequence[Mapping[str, Any]]) -> str:
    names = "; ".join(f"{i}. {title(s.get('fields') or {}, s.get('title') or '')}" for i, s in enumerate(shown, 1))
    return f"Which one would you like to see? {names}"


def ask_contact_text(listing_title: str, availability: str | None) -> str:
    when = f" {availability}" if availability else ""
    return (f"I can ask our leasing team to show you {listing_title}{when}. Which phone number or email should "
            "they use to confirm the time?")


def showing_confirmed_text(listing_title: str, availability: str | None, channel: str) -> str:
    when = f" {availability}" if availability else " (they will ask which day and time suit you)"
    return (f"Thank you. I've asked our leasing team to arrange a showing of {listing_title}{when}; they will "
            f"confirm with you at the {channel} you gave.")


def forgot_text(had: Sequence[str]) -> str:
    if not had:
        return "I had no saved preferences for you, so there was nothing to forget."
    return f"Done: I've forgotten your saved preferences ({', '.join(had)}). I won't use them from now on."
