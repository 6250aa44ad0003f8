"""The listing-constraint parser (ragbot.chat.constraints): 100+ phrasings, follow-ups, describe."""

from __future__ import annotations

import pytest

from ragbot.chat.constraints import Constraint, ListingQuery, SortKey, describe, parse

CITIES = ["Phoenix", "Tucson", "Austin", "Dallas", "Houston", "Washington", "New York", "Kansas City", "San Francisco",
          "Columbus", "St. Louis", "Los Angeles", "Seattle", "Denver", "Chicago"]
HOODS = ["German Village", "Near North/University", "Clintonville", "Downtown", "Near South", "Short North",
         "Eastmoor/Walnut Ridge"]

CHEAP, BIG = SortKey("price"), SortKey("square_feet", True)

# question | constraints "field op value", ";" between them, none when empty | optional "sort field [desc]".
# A row whose question cell is empty continues the row above; values are numbers, true/false, or lower-case text,
# and the value of "in" is a comma-separated list. "#" lines are section headers.
PHRASINGS = """
# prices
anything under $1,400?               | price < 1400
apartments below $900 a month        | price < 900
less than 1200 dollars               | price < 1200
no more than $1,250 per month        | price <= 1250
max $2000                            | price <= 2000
$1,500 max                           | price <= 1500
$1500 or less                        | price <= 1500
up to 1.5k                           | price <= 1500
my budget is $1,100                  | price <= 1100
budget of 950                        | price <= 950
I can afford 1300                    | price <= 1300
at most $800/mo                      | price <= 800
something for $1200                  | price <= 1200
rent 1000                            | price <= 1000
between $1,000 and $1,400            | price >= 1000; price <= 1400
from 900 to 1100 dollars             | price >= 900; price <= 1100
$900-$1,100 a month                  | price >= 900; price <= 1100
1-1.5k                               | price >= 1000; price <= 1500
over $3,000                          | price > 3000
at least $2,000 per month            | price >= 2000
more than 2500                       | price > 2500
around $1,000                        | price >= 900; price <= 1100
about 2k a month                     | price >= 1800; price <= 2200
under 2.5k                           | price < 2500
cheaper than $700                    | price < 700
not more than $1,800                 | price <= 1800
within a budget of $1600             | price <= 1600
$1,200 tops                          | price <= 1200
a place under $75 a night            | price < 75
$2,000+ apartments                   | price >= 2000
# bedrooms and bathrooms
a 2-bedroom                          | bedrooms >= 2
2 bedrooms please                    | bedrooms >= 2
at least 3 bedrooms                  | bedrooms >= 3
3 bedrooms or more                   | bedrooms >= 3
3+ bedrooms                          | bedrooms >= 3
exactly 2 bedrooms                   | bedrooms = 2
no more than 1 bedroom               | bedrooms <= 1
two bedroom apartment                | bedrooms >= 2
three-bedroom house                  | bedrooms >= 3
2br                                  | bedrooms >= 2
2bd/2ba                              | bedrooms >= 2; bathrooms >= 2
4 beds                               | bedrooms >= 4
1 or 2 bedrooms                      | bedrooms >= 1; bedrooms <= 2
2-3 bedrooms                         | bedrooms >= 2; bedrooms <= 3
between 2 and 4 bedrooms             | bedrooms >= 2; bedrooms <= 4
a studio                             | bedrooms = 0
studios in Austin                    | bedrooms = 0; city = austin
studio or 1 bedroom                  | bedrooms <= 1
at least 2 bathrooms                 | bathrooms >= 2
1.5 baths                            | bathrooms >= 1.5
two bathrooms                        | bathrooms >= 2
3 bed 2 bath                         | bedrooms >= 3; bathrooms >= 2
fewer than 3 bedrooms                | bedrooms < 3
more than 2 bedrooms                 | bedrooms > 2
# square feet
between 700 and 900 sq ft            | square_feet >= 700; square_feet <= 900
at least 1,000 square feet           | square_feet >= 1000
800 sqft or more                     | square_feet >= 800
under 600 sq. ft.                    | square_feet < 600
700-900 sf                           | square_feet >= 700; square_feet <= 900
over 1.2k sqft                       | square_feet > 1200
1200 square foot home                | square_feet >= 1200
# nights
for 3 nights                         | minimum_nights <= 3
staying 2 nights                     | minimum_nights <= 2
minimum stay of 5 nights or less     | minimum_nights <= 5
a one night stay                     | minimum_nights <= 1
# room types
an entire home                       | room_type = entire home/apt
the whole place to ourselves         | room_type = entire home/apt
a private room                       | room_type = private room
shared room is fine                  | room_type = shared room
entire apartment under $120 a night  | room_type = entire home/apt; price < 120
# pets
allows cats                          | cats_allowed = true
I have a dog                         | dogs_allowed = true
cat-friendly 1 bedroom               | cats_allowed = true; bedrooms >= 1
we have 2 cats and a puppy           | cats_allowed = true; dogs_allowed = true
pet friendly apartments              | pets_allowed = true
do you allow pets?                   | pets_allowed = true
pets allowed in Dallas               | pets_allowed = true; city = dallas
no dogs please, 2 bedrooms           | bedrooms >= 2
I'm allergic to cats; 1 bedroom      | bedrooms >= 1
# places
in Phoenix                           | city = phoenix
anything in phoenix?                 | city = phoenix
Phoenix, AZ                          | city = phoenix; state = az
austin tx under 1500                 | city = austin; state = tx; price < 1500
in Arizona                           | state = az
apartments in TX                     | state = tx
in Kansas City, MO                   | city = kansas city; state = mo
Washington, DC studio                | city = washington; state = dc; bedrooms = 0
in Washington state                  | state = wa
in new york                          | state = ny
New York, NY                         | city = new york; state = ny
Denver apartments                    | city = denver
in Austin or Dallas                  | city in austin, dallas
near St. Louis                       | city = st. louis
in San Francisco, California         | city = san francisco; state = ca
homes in German Village              | neighbourhood = german village
near the university                  | neighbourhood = near north/university
Clintonville or Downtown             | neighbourhood in clintonville, downtown
in Columbus, OH                      | city = columbus; state = oh
OK, what about Tucson?               | city = tucson
# sorting
what's your cheapest studio?         | bedrooms = 0                   | sort price
least expensive 2 bedroom            | bedrooms >= 2                  | sort price
most affordable place in Houston     | city = houston                 | sort price
most expensive listings              |                                | sort price desc
priciest in Seattle                  | city = seattle                 | sort price desc
largest apartment under $1,000       | price < 1000                   | sort square_feet desc
biggest 2 bedroom                    | bedrooms >= 2                  | sort square_feet desc
smallest studio                      | bedrooms = 0                   | sort square_feet
newest listings                      |                                | sort listed_date desc
most recent 1 bedroom in Denver      | bedrooms >= 1; city = denver   | sort listed_date desc
# combined
Do you have a 2-bedroom under $1,400 in Phoenix that allows cats? | bedrooms >= 2; price < 1400; city = phoenix
                                     | cats_allowed = true
3 bed 2 bath in Chicago between $2,000 and $2,500 with a dog | bedrooms >= 3; bathrooms >= 2; city = chicago
                                     | price >= 2000; price <= 2500; dogs_allowed = true
cheapest private room in Near South for 2 nights | room_type = private room; neighbourhood = near south
                                     | minimum_nights <= 2            | sort price
Looking for 1-2 beds, 800+ sq ft, max $1,700, Los Angeles | bedrooms >= 1; bedrooms <= 2; square_feet >= 800
                                     | price <= 1700; city = los angeles
# numbers that are not constraints
I need it on the 3rd of June         |
we are 2 people                      |
call me at 5pm                       |
"""


def _value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def _constraint(text):
    field, op, value = text.split(None, 2)
    return field, op, tuple(v.strip() for v in value.split(",")) if op == "in" else _value(value)


def _cases(table):
    """(question, expected constraints as (field, op, value), expected sort) for each row of `table`."""
    cases = []
    for line in table.strip().splitlines():
        if line.startswith("#"):
            continue
        question, constraints, *sort = (cell.strip() for cell in line.split("|"))
        if question:
            cases.append((question, set(), None))
        cases[-1][1].update(_constraint(c) for c in constraints.split(";") if c.strip())
        if sort and sort[0]:
            field, *desc = sort[0].removeprefix("sort ").split()
            cases[-1] = (*cases[-1][:2], SortKey(field, desc == ["desc"]))
    return cases


CASES = _cases(PHRASINGS)


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
