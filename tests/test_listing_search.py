"""Structured listing search (ragbot.kb.listing_search) end to end: question -> constraints.parse ->
SQL over a HashingEmbedder KB of both ../shared/corpus/listings files, checked against ground
truth computed from the CSVs by an independent helper (csv module, own parsing)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from ragbot.chat.constraints import Constraint, ListingQuery, SortKey, describe, parse
from ragbot.kb import listing_search as ls

UCI = "uci_apartments_for_rent_10k.csv"
AIRBNB = "insideairbnb_columbus_oh_2018-07_listings.csv"
N = 5


def _num(s: str) -> float | None:
    s = (s or "").strip().replace("$", "").replace(",", "")
    try:
        v = float(s)
    except ValueError:
        return None
    return None if math.isnan(v) else v


def _cat(s: str) -> str | None:
    s = " ".join((s or "").split()).lower()
    return None if s in ("", "null") else s


def truth_rows(folder: Path) -> dict[str, dict]:
    """{source: row} with plain typed values, computed from the CSVs without ragbot."""
    out: dict[str, dict] = {}
    with open(folder / UCI, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            pets = r["pets_allowed"]
            known = pets not in ("null", "")
            out[f"{UCI}#{r['id']}"] = {
                "price": _num(r["price"]), "bedrooms": _num(r["bedrooms"]), "bathrooms": _num(r["bathrooms"]),
                "square_feet": _num(r["square_feet"]), "city": _cat(r["cityname"]), "state": _cat(r["state"]),
                "cats": ("Cats" in pets) if known else None, "dogs": ("Dogs" in pets) if known else None}
    with open(folder / AIRBNB, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[f"{AIRBNB}#{r['id']}"] = {
                "price": _num(r["price"]), "bedrooms": _num(r["bedrooms"]), "bathrooms": _num(r["bathrooms"]),
                "square_feet": _num(r["square_feet"]), "city": _cat(r["city"]), "state": _cat(r["state"]),
                "room_type": _cat(r["room_type"]), "neighbourhood": _cat(r["neighbourhood_cleansed"]),
                "minimum_nights": _num(r["minimum_nights"]), "cats": None, "dogs": None}
    return out


@pytest.fixture(scope="module")
def store(corpus, tmp_path_factory):
    """(sqlite3 connection of the KB's chunk store, truth rows, known cities, known neighbourhoods)."""
    from ragbot.kb import KnowledgeBase
    from ragbot.kb.embedders import HashingEmbedder

    kb = KnowledgeBase.open(tmp_path_factory.mktemp("listings") / "kb", embedder=HashingEmbedder(64), create=True)
    report = kb.ingest([corpus / "listings" / UCI, corpus / "listings" / AIRBNB])
    assert report.added == 2 and not report.skipped
    conn = kb.store.conn
    yield conn, truth_rows(corpus / "listings"), ls.distinct_values(conn, "city"), ls.distinct_values(conn, "neighbourhood")
    kb.close()


def _v(row, key):
    return row.get(key)


def _lt(key, x):
    return lambda r: _v(r, key) is not None and _v(r, key) < x


def _le(key, x):
    return lambda r: _v(r, key) is not None and _v(r, key) <= x


def _ge(key, x):
    return lambda r: _v(r, key) is not None and _v(r, key) >= x


def _eq(key, x):
    return lambda r: _v(r, key) == x


def _in(key, *xs):
    return lambda r: _v(r, key) in xs


def _all(*preds):
    return lambda r: all(p(r) for p in preds)


PETS = lambda r: bool(r["cats"] or r["dogs"])  # noqa: E731
ENTIRE, PRIVATE, SHARED = (_eq("room_type", "entire home/apt"), _eq("room_type", "private room"),
                           _eq("room_type", "shared room"))

# (question, ground-truth predicate, sort (field, descending) or None)
CASES = [
    ("Do you have a 2-bedroom under $1,400 in Phoenix that allows cats?",
     _all(_ge("bedrooms", 2), _lt("price", 1400), _eq("city", "phoenix"), _eq("cats", True)), None),
    ("What's your cheapest studio in Austin?", _all(_eq("bedrooms", 0), _eq("city", "austin")), ("price", False)),
    ("at least 3 bedrooms under $1,000 in Houston", _all(_ge("bedrooms", 3), _lt("price", 1000), _eq("city", "houston")), None),
    ("between 700 and 900 sq ft in Dallas", _all(_ge("square_feet", 700), _le("square_feet", 900), _eq("city", "dallas")), None),
    ("largest apartment under $1,500 in Seattle", _all(_lt("price", 1500), _eq("city", "seattle")), ("square_feet", True)),
    ("most expensive place in San Francisco", _eq("city", "san francisco"), ("price", True)),
    ("2 bed 2 bath in Denver, CO under 2000",
     _all(_ge("bedrooms", 2), _ge("bathrooms", 2), _eq("city", "denver"), _eq("state", "co"), _lt("price", 2000)), None),
    ("dog friendly 1 bedroom in Chicago", _all(_eq("dogs", True), _ge("bedrooms", 1), _eq("city", "chicago")), None),
    ("apartments in TX under $600", _all(_eq("state", "tx"), _lt("price", 600)), None),
    ("studio in Washington, DC under $1,500",
     _all(_eq("bedrooms", 0), _eq("city", "washington"), _eq("state", "dc"), _lt("price", 1500)), None),
    ("3+ bedrooms in Arizona with dogs", _all(_ge("bedrooms", 3), _eq("state", "az"), _eq("dogs", True)), None),
    ("between $1,000 and $1,200 in Kansas City", _all(_ge("price", 1000), _le("price", 1200), _eq("city", "kansas city")), None),
    ("1-2 bedrooms under $800 in Ohio", _all(_ge("bedrooms", 1), _le("bedrooms", 2), _lt("price", 800), _eq("state", "oh")), None),
    ("at least 2 bathrooms and 1500 sq ft or more in Raleigh",
     _all(_ge("bathrooms", 2), _ge("square_feet", 1500), _eq("city", "raleigh")), None),
    ("exactly 4 bedrooms in Austin or Dallas", _all(_eq("bedrooms", 4), _in("city", "austin", "dallas")), None),
    ("pet friendly apartments in Houston under 900", _all(PETS, _eq("city", "houston"), _lt("price", 900)), None),
    ("anything over $5,000 a month?", _all(lambda r: r["price"] is not None and r["price"] > 5000), None),
    ("cheapest 3 bedroom in Texas", _all(_ge("bedrooms", 3), _eq("state", "tx")), ("price", False)),
    ("biggest place under $1,000", _lt("price", 1000), ("square_feet", True)),
    ("studio under $500", _all(_eq("bedrooms", 0), _lt("price", 500)), None),
    ("under 500 sq ft in Los Angeles", _all(_lt("square_feet", 500), _eq("city", "los angeles")), None),
    ("2 bedrooms between $900 and $1,100 in San Antonio",
     _all(_ge("bedrooms", 2), _ge("price", 900), _le("price", 1100), _eq("city", "san antonio")), None),
    ("smallest 1 bedroom in Madison", _all(_ge("bedrooms", 1), _eq("city", "madison")), ("square_feet", False)),
    ("no more than 1 bedroom, cats ok, in Portland",
     _all(_le("bedrooms", 1), _eq("cats", True), _eq("city", "portland")), None),
    ("3 bedrooms around $2,000 in Colorado Springs",
     _all(_ge("bedrooms", 3), _ge("price", 1800), _le("price", 2200), _eq("city", "colorado springs")), None),
    # Columbus Airbnb: price per night, minimum nights, room type, neighbourhood
    ("entire home under $100 a night", _all(ENTIRE, _lt("price", 100)), None),
    ("a private room in Clintonville", _all(PRIVATE, _eq("neighbourhood", "clintonville")), None),
    ("any shared rooms?", SHARED, None),
    ("entire home in Near South for 2 nights", _all(ENTIRE, _eq("neighbourhood", "near south"), _le("minimum_nights", 2)), None),
    ("cheapest private room near the university", _all(PRIVATE, _eq("neighbourhood", "near north/university")), ("price", False)),
    ("most expensive entire home downtown", _all(ENTIRE, _eq("neighbourhood", "downtown")), ("price", True)),
    ("private room under $40 for 1 night", _all(PRIVATE, _lt("price", 40), _le("minimum_nights", 1)), None),
    ("3 bedroom entire home under $250 a night", _all(ENTIRE, _ge("bedrooms", 3), _lt("price", 250)), None),
    ("entire home in Clintonville or Downtown", _all(ENTIRE, _in("neighbourhood", "clintonville", "downtown")), None),
    ("between $50 and $80 a night for a private room", _all(PRIVATE, _ge("price", 50), _le("price", 80)), None),
    ("entire home in Near East, staying 7 nights", _all(ENTIRE, _eq("neighbourhood", "near east"), _le("minimum_nights", 7)), None),
    ("at least 2 bathrooms, entire home in West Olentangy",
     _all(ENTIRE, _ge("bathrooms", 2), _eq("neighbourhood", "west olentangy")), None),
    ("cheapest shared room", SHARED, ("price", False)),
    ("1 bedroom private room in Columbus under $45",
     _all(PRIVATE, _ge("bedrooms", 1), _eq("city", "columbus"), _lt("price", 45)), None),
    ("private room in Franklinton", _all(PRIVATE, _eq("neighbourhood", "franklinton")), None),
    ("largest entire home", ENTIRE, ("square_feet", True)),
    ("entire home with a minimum stay of 3 nights or less under $150 in Near North/University",
     _all(ENTIRE, _le("minimum_nights", 3), _lt("price", 150), _eq("neighbourhood", "near north/university")), None),
    # nothing matches: the relaxation is offered, never presented as a match
    ("2 bedrooms under $300 in Phoenix that allows cats",
     _all(_ge("bedrooms", 2), _lt("price", 300), _eq("city", "phoenix"), _eq("cats", True)), None),
    ("entire home in Hilltop under $20 a night", _all(ENTIRE, _eq("neighbourhood", "hilltop"), _lt("price", 20)), None),
]


def _sort_values(rows: list[dict], field: str, desc: bool, n: int) -> list:
    present = sorted((r[field] for r in rows if r.get(field) is not None), reverse=desc)
    return (present + [None] * (len(rows) - len(present)))[:n]


_TRUTH_KEY = {"cats_allowed": "cats", "dogs_allowed": "dogs"}


def holds(c: Constraint, row: dict) -> bool:
    """Independent evaluation of one constraint on a truth row (for relaxed queries)."""
    if c.field == "pets_allowed":
        return PETS(row)
    v = row.get(_TRUTH_KEY.get(c.field, c.field))
    if v is None:
        return False
    ops = {"=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "in": lambda a, b: a in b}
    return ops[c.op](v, c.value)


def test_at_least_40_questions():
    assert len(CASES) >= 40


@pytest.mark.parametrize("question,pred,sort", CASES, ids=[c[0][:50] for c in CASES])
def test_search_matches_ground_truth(store, question, pred, sort):
    conn, truth, cities, hoods = store
    query = parse(question, known_cities=cities, known_neighbourhoods=hoods)
    assert query.constraints, f"no constraints parsed from {question!r}"
    if sort is not None:
        assert query.sort == SortKey(*sort)
    result = ls.search(conn, query, limit=N)
    expected = [r for r in truth.values() if pred(r)]
    assert result.total == len(expected), describe(query)
    if result.total == 0:
        relax = result.relaxation
        assert relax is not None and relax.total > 0 and relax.label.startswith("nothing matches")
        assert set(relax.removed) <= set(query.constraints)
        relaxed = [s for s, r in truth.items() if all(holds(c, r) for c in relax.query.constraints)]
        assert relax.total == len(relaxed)
        assert result.listings and all(m.source in relaxed for m in result.listings)
        assert not any(pred(truth[m.source]) for m in result.listings)
        return
    assert len(result.listings) == min(N, len(expected))
    for m in result.listings:  # every listing presented as a match satisfies every constraint
        assert pred(truth[m.source]), (m.source, truth[m.source])
        assert all(holds(c, truth[m.source]) for c in query.constraints)
    if sort is not None:
        got = [truth[m.source].get(sort[0]) for m in result.listings]
        assert got == _sort_values(expected, sort[0], sort[1], N)


def test_conversation_refines_the_search(store):
    conn, truth, cities, hoods = store
    first = parse("Your most expensive 2-bedroom under $1,400 in Phoenix that allows cats?", known_cities=cities)
    r1 = ls.search(conn, first, limit=3)
    assert r1.total > 3
    shown = [m.fields for m in r1.listings]
    cheaper = parse("anything cheaper?", first, known_cities=cities, shown=shown)
    r2 = ls.search(conn, cheaper, limit=3)
    floor = min(f["price"] for f in shown)
    expected = [r for r in truth.values() if r["price"] is not None and r["price"] < floor and r["bedrooms"] is not None
                and r["bedrooms"] >= 2 and r["city"] == "phoenix" and r["cats"]]
    assert r2.total == len(expected) > 0
    assert all(truth[m.source]["price"] < floor for m in r2.listings)
    three = parse("what about 3 bedrooms?", first, known_cities=cities)
    r3 = ls.search(conn, three, limit=3)
    assert r3.total > 0 and describe(three).startswith("3+ bedrooms, under $1,400/month, Phoenix, cats allowed")
    assert all(truth[m.source]["bedrooms"] >= 3 and truth[m.source]["price"] < 1400 for m in r3.listings)
    pick = parse("tell me more about the second one", three, known_cities=cities)
    assert pick.ordinal == 2 and set(pick.constraints) == set(three.constraints)


def test_cheaper_than_the_cheapest_offers_a_relaxation_not_a_match(store):
    conn, truth, cities, _ = store
    first = parse("cheapest 2-bedroom under $1,400 in Phoenix that allows cats", known_cities=cities)
    shown = [m.fields for m in ls.search(conn, first, limit=3).listings]
    result = ls.search(conn, parse("anything cheaper?", first, known_cities=cities, shown=shown), limit=3)
    assert result.total == 0 and result.relaxation is not None
    assert all(truth[m.source]["price"] >= shown[0]["price"] for m in result.listings)


def test_relaxation_loosens_a_price_bound_to_the_nearest_price(store):
    conn, truth, cities, _ = store
    q = parse("2 bedrooms under $300 in Phoenix that allows cats", known_cities=cities)
    result = ls.search(conn, q, limit=3)
    relax = result.relaxation
    assert result.total == 0 and relax.removed == (Constraint("price", "<", 300.0),)
    others = [r for r in truth.values() if r["bedrooms"] is not None and r["bedrooms"] >= 2 and r["city"] == "phoenix"
              and r["cats"] and r["price"] is not None]
    cheapest = min(r["price"] for r in others)
    assert relax.added == (Constraint("price", "<=", cheapest),)
    assert truth[result.listings[0].source]["price"] == cheapest
    assert f"${cheapest:,.0f}" in relax.label and "under $300" in relax.label


def test_sort_on_a_missing_field_is_reported(store):
    conn, _, _, _ = store
    result = ls.search(conn, ListingQuery((Constraint("room_type", "=", "shared room"),), SortKey("listed_date", True)))
    assert result.total > 0 and result.sort_applied is False


def test_rank_orders_unsorted_matches(store):
    conn, truth, _, _ = store
    q = ListingQuery((Constraint("room_type", "=", "shared room"),))
    seen: list[int] = []

    def rank(ids, k):
        seen.extend(ids)
        return sorted(ids, reverse=True)[:k]

    result = ls.search(conn, q, limit=3, rank=rank)
    assert len(seen) == result.total and [m.id for m in result.listings] == sorted(seen, reverse=True)[:3]


@pytest.mark.parametrize("bad", [Constraint("price; DROP TABLE chunks", "<", 1.0), Constraint("price", "~", 1.0),
                                 Constraint("cats_allowed", "<", True), Constraint("price", "<", None)])
def test_malformed_constraints_raise_input_error(store, bad):
    from ragbot.errors import InputError

    with pytest.raises(InputError):
        ls.search(store[0], ListingQuery((bad,)))


def test_limit_must_be_positive(store):
    from ragbot.errors import InputError

    with pytest.raises(InputError):
        ls.search(store[0], ListingQuery(), limit=0)


def test_postgres_dialect_spells_jsonb():
    where, args = ls.where_clause([Constraint("price", "<=", 1400.0), Constraint("cats_allowed", "=", True),
                                   Constraint("city", "in", ("austin", "dallas"))], ls.POSTGRES)
    assert "(metadata::jsonb -> 'fields' ->> 'price')::double precision" in where and "%s" in where and "?" not in where
    assert args == ["listing", 1400.0, True, "austin", "dallas"]


def test_index_statements_are_used_by_the_search(tmp_path):
    import sqlite3

    conn = sqlite3.connect(tmp_path / "c.sqlite")
    conn.executescript("CREATE TABLE chunks (id INTEGER PRIMARY KEY, chunk_id TEXT, text TEXT, source TEXT, "
                       "doc_type TEXT, page INTEGER, metadata TEXT, scope TEXT);")
    for stmt in ls.index_statements():
        conn.execute(stmt)
    where, args = ls.where_clause([Constraint("city", "=", "phoenix"), Constraint("price", "<", 1400.0)])
    plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM chunks WHERE " + where, args))
    assert "USING INDEX chunks_listing_" in plan
    assert all("((" in s for s in ls.index_statements(ls.POSTGRES))
