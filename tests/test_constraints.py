"""The listing-constraint parser (ragbot.chat.constraints): 100+ phrasings, follow-ups, describe."""

from __future__ import annotations

import pytest

from ragbot.chat.constraints import Constraint, ListingQuery, SortKey, describe, parse

CITIES = ["Phoenix", "Tucson", "Austin", "Dallas", "Houston", "Washington", "New York", "Kansas City", "San Francisco",
          "Columbus", "St. Louis", "Los Angeles", "Seattle", "Denver", "Chicago"]
HOODS = ["German Village", "Near North/University", "Clintonville", "Downtown", "Near South", "Short North",
         "Eastmoor/Walnut Ridge"]

P, B, BA, SF, N = "price", "bedrooms", "bathrooms", "square_feet", "minimum_nights"
CHEAP, DEAR, BIG, SMALL, NEW = (SortKey("price"), SortKey("price", True), SortKey("square_feet", True),
                                SortKey("square_feet"), SortKey("listed_date", True))

# (question, expected constraints as (field, op, value), expected sort)
CASES = [
    # prices
    ("anything under $1,400?", {(P, "<", 1400)}, None),
    ("apartments below $900 a month", {(P, "<", 900)}, None),
    ("less than 1200 dollars", {(P, "<", 1200)}, None),
    ("no more than $1,250 per month", {(P, "<=", 1250)}, None),
    ("max $2000", {(P, "<=", 2000)}, None),
    ("$1,500 max", {(P, "<=", 1500)}, None),
    ("$1500 or less", {(P, "<=", 1500)}, None),
    ("up to 1.5k", {(P, "<=", 1500)}, None),
    ("my budget is $1,100", {(P, "<=", 1100)}, None),
    ("budget of 950", {(P, "<=", 950)}, None),
    ("I can afford 1300", {(P, "<=", 1300)}, None),
    ("at most $800/mo", {(P, "<=", 800)}, None),
    ("something for $1200", {(P, "<=", 1200)}, None),
    ("rent 1000", {(P, "<=", 1000)}, None),
    ("between $1,000 and $1,400", {(P, ">=", 1000), (P, "<=", 1400)}, None),
    ("from 900 to 1100 dollars", {(P, ">=", 900), (P, "<=", 1100)}, None),
    ("$900-$1,100 a month", {(P, ">=", 900), (P, "<=", 1100)}, None),
    ("1-1.5k", {(P, ">=", 1000), (P, "<=", 1500)}, None),
    ("over $3,000", {(P, ">", 3000)}, None),
    ("at least $2,000 per month", {(P, ">=", 2000)}, None),
    ("more than 2500", {(P, ">", 2500)}, None),
    ("around $1,000", {(P, ">=", 900), (P, "<=", 1100)}, None),
    ("about 2k a month", {(P, ">=", 1800), (P, "<=", 2200)}, None),
    ("under 2.5k", {(P, "<", 2500)}, None),
    ("cheaper than $700", {(P, "<", 700)}, None),
    ("not more than $1,800", {(P, "<=", 1800)}, None),
    ("within a budget of $1600", {(P, "<=", 1600)}, None),
    ("$1,200 tops", {(P, "<=", 1200)}, None),
    ("a place under $75 a night", {(P, "<", 75)}, None),
    ("$2,000+ apartments", {(P, ">=", 2000)}, None),
    # bedrooms and bathrooms
    ("a 2-bedroom", {(B, ">=", 2)}, None),
    ("2 bedrooms please", {(B, ">=", 2)}, None),
    ("at least 3 bedrooms", {(B, ">=", 3)}, None),
    ("3 bedrooms or more", {(B, ">=", 3)}, None),
    ("3+ bedrooms", {(B, ">=", 3)}, None),
    ("exactly 2 bedrooms", {(B, "=", 2)}, None),
    ("no more than 1 bedroom", {(B, "<=", 1)}, None),
    ("two bedroom apartment", {(B, ">=", 2)}, None),
    ("three-bedroom house", {(B, ">=", 3)}, None),
    ("2br", {(B, ">=", 2)}, None),
    ("2bd/2ba", {(B, ">=", 2), (BA, ">=", 2)}, None),
    ("4 beds", {(B, ">=", 4)}, None),
    ("1 or 2 bedrooms", {(B, ">=", 1), (B, "<=", 2)}, None),
    ("2-3 bedrooms", {(B, ">=", 2), (B, "<=", 3)}, None),
    ("between 2 and 4 bedrooms", {(B, ">=", 2), (B, "<=", 4)}, None),
    ("a studio", {(B, "=", 0)}, None),
    ("studios in Austin", {(B, "=", 0), ("city", "=", "austin")}, None),
    ("studio or 1 bedroom", {(B, "<=", 1)}, None),
    ("at least 2 bathrooms", {(BA, ">=", 2)}, None),
    ("1.5 baths", {(BA, ">=", 1.5)}, None),
    ("two bathrooms", {(BA, ">=", 2)}, None),
    ("3 bed 2 bath", {(B, ">=", 3), (BA, ">=", 2)}, None),
    ("fewer than 3 bedrooms", {(B, "<", 3)}, None),
    ("more than 2 bedrooms", {(B, ">", 2)}, None),
    # square feet
    ("between 700 and 900 sq ft", {(SF, ">=", 700), (SF, "<=", 900)}, None),
    ("at least 1,000 square feet", {(SF, ">=", 1000)}, None),
    ("800 sqft or more", {(SF, ">=", 800)}, None),
    ("under 600 sq. ft.", {(SF, "<", 600)}, None),
    ("700-900 sf", {(SF, ">=", 700), (SF, "<=", 900)}, None),
    ("over 1.2k sqft", {(SF, ">", 1200)}, None),
    ("1200 square foot home", {(SF, ">=", 1200)}, None),
    # nights
    ("for 3 nights", {(N, "<=", 3)}, None),
    ("staying 2 nights", {(N, "<=", 2)}, None),
    ("minimum stay of 5 nights or less", {(N, "<=", 5)}, None),
    ("a one night stay", {(N, "<=", 1)}, None),
    # room types
    ("an entire home", {("room_type", "=", "entire home/apt")}, None),
    ("the whole place to ourselves", {("room_type", "=", "entire home/apt")}, None),
    ("a private room", {("room_type", "=", "private room")}, None),
    ("shared room is fine", {("room_type", "=", "shared room")}, None),
    ("entire apartment under $120 a night", {("room_type", "=", "entire home/apt"), (P, "<", 120)}, None),
    # pets
    ("allows cats", {("cats_allowed", "=", True)}, None),
    ("I have a dog", {("dogs_allowed", "=", True)}, None),
    ("cat-friendly 1 bedroom", {("cats_allowed", "=", True), (B, ">=", 1)}, None),
    ("we have 2 cats and a puppy", {("cats_allowed", "=", True), ("dogs_allowed", "=", True)}, None),
    ("pet friendly apartments", {("pets_allowed", "=", True)}, None),
    ("do you allow pets?", {("pets_allowed", "=", True)}, None),
    ("pets allowed in Dallas", {("pets_allowed", "=", True), ("city", "=", "dallas")}, None),
    ("no dogs please, 2 bedrooms", {(B, ">=", 2)}, None),
    ("I'm allergic to cats; 1 bedroom", {(B, ">=", 1)}, None),
    # places
    ("in Phoenix", {("city", "=", "phoenix")}, None),
    ("anything in phoenix?", {("city", "=", "phoenix")}, None),
    ("Phoenix, AZ", {("city", "=", "phoenix"), ("state", "=", "az")}, None),
    ("austin tx under 1500", {("city", "=", "austin"), ("state", "=", "tx"), (P, "<", 1500)}, None),
    ("in Arizona", {("state", "=", "az")}, None),
    ("apartments in TX", {("state", "=", "tx")}, None),
    ("in Kansas City, MO", {("city", "=", "kansas city"), ("state", "=", "mo")}, None),
    ("Washington, DC studio", {("city", "=", "washington"), ("state", "=", "dc"), (B, "=", 0)}, None),
    ("in Washington state", {("state", "=", "wa")}, None),
    ("in new york", {("state", "=", "ny")}, None),
    ("New York, NY", {("city", "=", "new york"), ("state", "=", "ny")}, None),
    ("Denver apartments", {("city", "=", "denver")}, None),
    ("in Austin or Dallas", {("city", "in", ("austin", "dallas"))}, None),
    ("near St. Louis", {("city", "=", "st. louis")}, None),
    ("in San Francisco, California", {("city", "=", "san francisco"), ("state", "=", "ca")}, None),
    ("homes in German Village", {("neighbourhood", "=", "german village")}, None),
    ("near the university", {("neighbourhood", "=", "near north/university")}, None),
    ("Clintonville or Downtown", {("neighbourhood", "in", ("clintonville", "downtown"))}, None),
    ("in Columbus, OH", {("city", "=", "columbus"), ("state", "=", "oh")}, None),
    ("OK, what about Tucson?", {("city", "=", "tucson")}, None),
    # sorting
    ("what's your cheapest studio?", {(B, "=", 0)}, CHEAP),
    ("least expensive 2 bedroom", {(B, ">=", 2)}, CHEAP),
    ("most affordable place in Houston", {("city", "=", "houston")}, CHEAP),
    ("most expensive listings", set(), DEAR),
    ("priciest in Seattle", {("city", "=", "seattle")}, DEAR),
    ("largest apartment under $1,000", {(P, "<", 1000)}, BIG),
    ("biggest 2 bedroom", {(B, ">=", 2)}, BIG),
    ("smallest studio", {(B, "=", 0)}, SMALL),
    ("newest listings", set(), NEW),
    ("most recent 1 bedroom in Denver", {(B, ">=", 1), ("city", "=", "denver")}, NEW),
    # combined
    ("Do you have a 2-bedroom under $1,400 in Phoenix that allows cats?",
     {(B, ">=", 2), (P, "<", 1400), ("city", "=", "phoenix"), ("cats_allowed", "=", True)}, None),
    ("3 bed 2 bath in Chicago between $2,000 and $2,500 with a dog",
     {(B, ">=", 3), (BA, ">=", 2), ("city", "=", "chicago"), (P, ">=", 2000), (P, "<=", 2500),
      ("dogs_allowed", "=", True)}, None),
    ("cheapest private room in Near South for 2 nights",
     {("room_type", "=", "private room"), ("neighbourhood", "=", "near south"), (N, "<=", 2)}, CHEAP),
    ("Looking for 1-2 beds, 800+ sq ft, max $1,700, Los Angeles",
     {(B, ">=", 1), (B, "<=", 2), (SF, ">=", 800), (P, "<=", 1700), ("city", "=", "los angeles")}, None),
    # numbers that are not constraints
    ("I need it on the 3rd of June", set(), None),
    ("we are 2 people", set(), None),
    ("call me at 5pm", set(), None),
]


@pytest.mark.parametrize("question,expected,sort", CASES, ids=[c[0][:40] for c in CASES])
def test_phrasings(question, expected, sort):
    q = parse(question, known_cities=CITIES, known_neighbourhoods=HOODS)
    got = {(c.field, c.op, c.value) for c in q.constraints}
    assert got == {(f, op, v if isinstance(v, (str, bool, tuple)) else float(v)) for f, op, v in expected}
    assert q.sort == sort


def test_at_least_100_phrasings():
    assert len(CASES) + len(ORDINALS) + len(NOT_LISTING) >= 100


ORDINALS = [("tell me more about the second one", 2), ("the first listing", 1), ("what about the 3rd one?", 3),
            ("more on number 2", 2), ("is #4 still available?", 4), ("the last one", -1),
            ("details on option 1", 1), ("can I see the third apartment", 3), ("the second", 2)]


@pytest.mark.parametrize("question,ordinal", ORDINALS)
def test_ordinal_keeps_previous_constraints(question, ordinal):
    prev = parse("2 bedrooms under $1,400 in Phoenix", known_cities=CITIES)
    q = parse(question, prev, known_cities=CITIES)
    assert q.ordinal == ordinal
    assert set(q.constraints) == set(prev.constraints)


NOT_LISTING = ["What is the pet policy?", "How much is the security deposit?", "Can I pay rent online?",
               "When is rent due?", "Who do I call about a leak?", "hello"]


@pytest.mark.parametrize("question", NOT_LISTING)
def test_questions_without_constraints_give_an_empty_query(question):
    q = parse(question, parse("2 bedrooms in Phoenix", known_cities=CITIES), known_cities=CITIES)
    assert q.is_empty and q.free_text == question


# ---------------------------------------------------------------- follow-ups
def _q(question, prev=None, shown=()):
    return parse(question, prev, known_cities=CITIES, known_neighbourhoods=HOODS, shown=shown)


def test_what_about_replaces_only_that_field():
    first = _q("Do you have a 2-bedroom under $1,400 in Phoenix that allows cats?")
    second = _q("What about 3 bedrooms?", first)
    assert second.on("bedrooms") == (Constraint("bedrooms", ">=", 3.0),)
    assert set(second.constraints) - set(second.on("bedrooms")) == set(first.constraints) - set(first.on("bedrooms"))


def test_anything_cheaper_uses_the_cheapest_listing_shown():
    first = _q("2 bedrooms in Phoenix")
    shown = [{"price": 1250.0}, {"price": 990.0}, {"price": 1310.0}]
    second = _q("anything cheaper?", first, shown)
    assert second.on("price") == (Constraint("price", "<", 990.0),)
    assert second.on("bedrooms") == first.on("bedrooms") and second.on("city") == first.on("city")
    assert _q("anything cheaper?", first).sort == SortKey("price")  # nothing shown: cheapest first


def test_bigger_uses_the_largest_listing_shown():
    first = _q("studio in Austin")
    second = _q("anything bigger?", first, [{"square_feet": 420.0}, {"square_feet": 510.0}])
    assert second.on("square_feet") == (Constraint("square_feet", ">", 510.0),)


def test_only_ones_that_allow_cats_adds_a_constraint():
    first = _q("2 bedrooms under $1,400 in Phoenix")
    second = _q("only ones that allow cats", first)
    assert set(second.constraints) == set(first.constraints) | {Constraint("cats_allowed", "=", True)}


def test_new_price_replaces_old_price_bounds():
    first = _q("between $1,000 and $1,400 in Tucson")
    second = _q("what about under $1,600?", first)
    assert second.on("price") == (Constraint("price", "<", 1600.0),) and second.on("city") == first.on("city")


def test_new_city_drops_old_state_and_keeps_the_rest():
    first = _q("Phoenix, AZ, 2 bedrooms")
    second = _q("how about Dallas?", first)
    assert second.on("city") == (Constraint("city", "=", "dallas"),) and not second.on("state")
    assert second.on("bedrooms") == first.on("bedrooms")


def test_sort_is_kept_until_replaced():
    first = _q("cheapest 2 bedroom in Phoenix")
    assert _q("what about 3 bedrooms?", first).sort == CHEAP
    assert _q("show me the largest ones", first).sort == BIG


def test_drop_and_reset():
    first = _q("2 bedrooms under $1,400 in Phoenix, AZ")
    assert not _q("any price is fine", first).on("price")
    anywhere = _q("anywhere is fine", first)
    assert not anywhere.on("city") and not anywhere.on("state") and anywhere.on("bedrooms")
    fresh = _q("start over: a studio in Austin", first)
    assert set(fresh.constraints) == {Constraint("bedrooms", "=", 0.0), Constraint("city", "=", "austin")}


def test_free_text_keeps_what_is_not_a_constraint():
    q = _q("quiet 2-bedroom with a balcony under $1,400 in Phoenix")
    assert "quiet" in q.free_text and "balcony" in q.free_text
    assert "1,400" not in q.free_text and "Phoenix" not in q.free_text and "under" not in q.free_text


def test_unknown_city_is_no_constraint():
    assert not _q("apartments in Springfield").on("city")


def test_parse_rejects_non_strings():
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- describe
@pytest.mark.parametrize("question,text", [
    ("Do you have a 2-bedroom at most $1,400 in Phoenix, AZ that allows cats?",
     "2+ bedrooms, at most $1,400/month, Phoenix, AZ, cats allowed"),
    ("cheapest studio in Austin", "studio, Austin, cheapest first"),
    ("exactly 1 bedroom between 700 and 900 sq ft", "1 bedroom, 700-900 sq ft"),
    ("under $1,000, 2 baths, dogs allowed", "2+ bathrooms, under $1,000/month, dogs allowed"),
    ("studio or 1 bedroom in Austin or Dallas", "studio to 1 bedroom, Austin or Dallas"),
    ("private room in German Village for 2 nights", "minimum stay at most 2 nights, German Village, private room"),
    ("apartments in Texas or California over $3,000", "over $3,000/month, TX or CA"),
])
def test_describe(question, text):
    assert describe(_q(question)) == text


def test_describe_price_period_and_empty():
    q = ListingQuery((Constraint("price", "<=", 95.0),))
    assert describe(q, price_period="night") == "at most $95/night"
    assert describe(q, price_period=None) == "at most $95"
    assert describe(ListingQuery()) == ""
