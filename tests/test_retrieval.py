"""Retrieval helpers: query rewriting, named documents, ambiguity groups, FAQ fast path, quotes."""

from __future__ import annotations

import pytest

from ragbot.kb.embedders import HashingEmbedder
from ragbot.chat.retrieval import (asks_field, field_words, naming_aliases, strip_names, ambiguity, competing, facts_differ, faq_match, group_for, group_of, humanize, named_groups, rewrite_query,
                              select_quotes, completed_quote, value_bonus, asked_value_kind, asked_actor, acting_party)
from ragbot.types import Chunk, Hit, Turn


def _hit(text, source, score, doc_type="lease", scope=None, metadata=None, rank=0):
    return Hit(Chunk(chunk_id=f"{source}-{score}", text=text, source=source, doc_type=doc_type, page=1,
                     metadata=metadata or {}, scope=scope or {}), score, rank)


def test_humanize():
    assert humanize("oak-street") == "Oak Street"
    assert humanize("ontario_residential_tenancy_agreement.pdf") == "Ontario Residential Tenancy Agreement"
    assert humanize("sample_apartment_lease_1p.pdf") == "Sample Apartment Lease"
    assert humanize("listings.csv#123") == "Listings"


def test_rewrite_query_follow_ups():
    hist = [Turn("user", "What is the deposit at the Oak Street lease?"), Turn("assistant", "It is $1,450 [1].")]
    assert rewrite_query("and pets?", hist).startswith("What is the deposit at the Oak Street lease?")
    long_q = "Under the Ontario residential tenancy agreement how much notice must a tenant give to end it now"
    assert rewrite_query(long_q.replace(" it", ""), hist) == long_q.replace(" it", "")
    assert rewrite_query("and pets?", []) == "and pets?"


def test_named_groups_finds_documents_by_distinctive_words():
    groups = [group_for(s, "lease", {}, {}) for s in (
        "ontario_residential_tenancy_agreement.pdf", "barbados_embassy_residence_lease_2002.pdf",
        "emeryville_commercial_office_lease_2006.pdf", "sample_apartment_lease_1p.pdf")]
    groups.append(group_for("oak", "faq", {"property": "oak-street"}, {}))
    groups.append(group_for("pine", "faq", {"property": "pine-avenue"}, {}))
    groups.append(group_for("l.csv#7", "listing", {}, {"name": "Short North - Italianate Cottage"}))

    def names(text):
        return [g.label for g in named_groups(text, groups)]

    assert names("Under the Ontario agreement, may the landlord charge a fee?") == ["Ontario Residential Tenancy Agreement"]
    assert names("In the one-page sample apartment lease, what late fee is charged?") == ["Sample Apartment Lease"]
    assert names("Can I keep a cat at Pine Avenue?") == ["Pine Avenue"]
    assert names("What is the nightly price of the Short North - Italianate Cottage listing?") == [
        "Short North - Italianate Cottage"]
    assert names("How much is the security deposit?") == []
    assert names("How much notice do I need to give before moving out?") == []


def test_ambiguity_groups_close_hits_from_different_scopes():
    hits = [_hit("Deposit is $1,450.", "oak.pdf", 0.70, scope={"property": "oak-street"}),
            _hit("Deposit is $2,000.", "pine.pdf", 0.68, scope={"property": "pine-avenue"}),
            _hit("Deposit rules.", "oak_faq.md", 0.66, "faq", scope={"property": "oak-street"}),
            _hit("Far away.", "elm.pdf", 0.40, scope={"property": "elm"})]
    cands = ambiguity(hits, margin=0.05)
    assert [g.label for g, _ in cands] == ["Oak Street", "Pine Avenue"]
    assert len(ambiguity(hits, margin=0.01)) == 1
    company = [_hit("Q: Deposit?\nA: It depends on your property.", "faq.csv", 0.72, "faq")] + hits
    assert [g.label for g, _ in ambiguity(company, margin=0.05)] == ["Oak Street", "Pine Avenue"], \
        "company-wide FAQ hits never compete, but do not hide the properties that do"
    assert len(ambiguity(company, margin=0.03)) == 1


def test_facts_differ():
    assert facts_differ(["The deposit is $1,450.", "The deposit is $2,000 flat."])
    assert not facts_differ(["Deposits are returned within 21 days.", "We return the deposit within 21 days."])
    assert facts_differ(["Only cats are allowed.", "Cats and dogs under forty pounds are welcome here."])
    # day names are facts: near-identical wording must not hide them
    assert facts_differ(["Trash is collected every Tuesday morning.", "Trash is collected every Monday and Thursday."])
    assert not facts_differ(["Trash goes out on Tuesdays.", "Trash is collected on Tuesday."])


def test_competing_needs_close_relevant_and_different_candidates():
    from ragbot.chat.gate import Candidate

    oak = Candidate("Oak Street", "oak.pdf", 0.70, quote="The deposit is $1,450.", quote_score=0.7)
    pine = Candidate("Pine Avenue", "pine.pdf", 0.66, quote="The deposit is $2,000.", quote_score=0.6)
    same = Candidate("Elm Court", "elm.pdf", 0.69, quote="The deposit is $1,450.", quote_score=0.7)
    off = Candidate("Pine Avenue", "pine.pdf", 0.66, quote="The deposit is $2,000.", quote_score=0.2)
    assert competing([oak, pine], 0.70, margin=0.05) == (oak, pine)
    assert competing([oak, pine], 0.70, margin=0.03) == ()  # not close enough
    assert competing([oak, same], 0.70, margin=0.05) == ()  # same fact: nothing to ask
    assert competing([oak, off], 0.70, margin=0.05, min_quote_score=0.45) == ()  # quote does not answer


def test_faq_match_needs_both_similarity_and_wording():
    emb = HashingEmbedder(256)
    hit = _hit("Q: What are your office hours?\nA: 9 to 5.", "faq.csv", 0.5, "faq",
               metadata={"question": "What are your office hours?", "answer": "9 to 5."})
    other = _hit("Lease text.", "a.pdf", 0.6)
    assert faq_match("what are your office hours", [other, hit], emb, 0.8, 70) is hit
    assert faq_match("Do you allow pets in the office?", [hit], emb, 0.8, 70) is None
    assert faq_match("what are your office hours", [_hit("x", "a.pdf", 0.95)], emb, 0.8, 70) is None
    assert faq_match("what are your office hours", [other, other, other, hit], emb, 0.8, 70) is None


def test_select_quotes_prefers_the_sentence_with_the_fact():
    text = ("This lease is made between the parties. The tenant shall pay a security deposit of $1,450 on signing. "
            "Quiet hours are from 10 pm to 7 am.")
    hits = [_hit(text, "oak.pdf", 0.7), _hit("Unrelated text about parking spaces and permits.", "x.pdf", 0.5)]
    quotes = select_quotes("How much is the security deposit?", hits, HashingEmbedder(256), n=1)
    assert len(quotes) == 1 and "$1,450" in quotes[0].text and quotes[0].hit == 0
    assert group_of(hits[0]).label == "Oak"


def test_named_groups_ignores_common_listing_title_words_and_plural_generic_aliases():
    groups = [group_for("l.csv#7", "listing", {}, {"name": "Short North Cozy, Clean Studio- Parking Included"}),
              group_for("oak", "lease", {"property": "oak-street"},
                        {"aliases": ["Oak Street Apartments Residential Lease Agreement"]}),
              group_for("s.pdf", "lease", {}, {"aliases": ["one-page"]})]
    named = [g.label for g in named_groups("Is a parking space included with the one-page apartment lease?", groups)]
    assert named == [groups[2].label], named


def test_a_street_word_alone_does_not_name_a_property():
    """'"Heart of High Street"' shares only "street" with Oak Street's alias: not a naming."""
    groups = [group_for("l.csv#1", "listing", {}, {"name": "Heart of High Street"}),
              group_for("oak", "lease", {"property": "oak-street"}, {"aliases": ["oak street lease"]})]
    named = [g.label for g in named_groups('minimum nights for the listing "Heart of High Street"?', groups)]
    assert named == ["Heart of High Street"], named
    assert [g.label for g in named_groups("the oak street lease", groups)] == [groups[1].label]


def test_titled_groups_are_the_rows_whose_title_holds_the_asked_name():
    from ragbot.chat.steps import titled_groups

    groups = [group_for("h.csv#C8", "listing", {}, {"name": "Three-bedroom townhome - Cedar Court Townhomes"}),
              group_for("h.csv#C5", "listing", {}, {"name": "Updated two-bedroom townhome - Cedar Court Townhomes"}),
              group_for("h.csv#O1", "listing", {}, {"name": "Classic one-bedroom - Oak Street Apartments"})]
    assert [g.source for g in titled_groups("Do the Cedar Court Townhomes have central air?", groups)] == \
        ["h.csv#C8", "h.csv#C5"]  # "Do" is not part of the name
    assert titled_groups("What is the late fee?", groups) == []
    assert titled_groups("Is parking free at Maple Grove?", groups) == []


def test_an_untitled_listing_is_named_by_its_id_and_place():
    g = group_for("uci.csv#5668626895", "listing", {}, {"id": "5668626895", "cityname": "Washington", "state": "DC"})
    assert g.label == "Listing 5668626895 in Washington, DC"


@pytest.mark.parametrize("question,line,asked", [
    ("What's the monthly rent of the two-bedroom in Mesa, AZ?", "Price: $870", True),
    ("What's the monthly rent of the two-bedroom in Mesa, AZ?", "Bedrooms: 2", False),  # locates, not asked
    ("How many bedrooms does the listing in Oak Park, IL have?", "Bedrooms: 3", True),
    ("What's the square footage of the apartment listed in Billings, MT?", "Square feet: 490", True),
    ("Does the apartment allow dogs?", "Pets allowed: Cats,Dogs", True),
    ("Does the apartment allow dogs?", "Location: Wenatchee, WA", False),
    ("What is the late fee?", "The late fee is $50.", False),  # no "Label:" line
])
def test_asks_field(question, line, asked):
    assert asks_field(line, field_words(question)) is asked


def test_a_narrowed_search_drops_company_wide_hits_about_another_scope():
    from ragbot.chat.steps import own_scope

    oak = group_for("oak", "faq", {"property": "oak-street"}, {})
    pine = group_for("pine", "faq", {"property": "pine-avenue"}, {})
    hits = [_hit("Oak pets: cats only.", "oak_faq.md", 0.7, "faq", {"property": "oak-street"}),
            _hit("Pine Avenue Lofts: $500 pet deposit.", "pine_avenue_lofts.html", 0.69, "marketing"),
            _hit("Loft", "listings.csv#P1", 0.68, "listing", metadata={"name": "Loft with patio - Pine Avenue Lofts"}),
            _hit("Q: How do I pay rent online?", "harborview_faq.csv", 0.6, "faq")]
    kept = own_scope(hits, {"property": "oak-street"}, [oak, pine])
    assert [h.chunk.source for h in kept] == ["oak_faq.md", "harborview_faq.csv"]
    assert own_scope(hits, {}, [oak, pine]) == tuple(hits)
    # a scope the question names is not another one: the conversation's scope does not hide it
    named = own_scope(hits, {"property": "oak-street"}, [oak, pine], "Is there a pet deposit at Pine Avenue?")
    assert [h.chunk.source for h in named] == [h.chunk.source for h in hits]


def test_naming_aliases_are_the_parties_a_question_uses_never_generic_words():
    g = group_for("b.pdf", "lease", {"property": "barbados"},
                  {"aliases": ["LEASE AGREEMENT", "GEORGE YEARWOOD", "THE UNITED STATES OF AMERICA", "8-page", "embassy"]})
    q = "What monthly rent does George Yearwood charge for the residence he leases to the United States?"
    assert naming_aliases(q, [g]) == ["george yearwood", "united states america"]
    assert naming_aliases("What does the landlord charge for a late lease payment?", [g]) == []
    # the party's name (possessive included) leaves the query; the asked thing stays
    assert strip_names("When does George Yearwood's lease end?", naming_aliases(q, [g])) == "When does lease end?"


def test_a_quote_that_introduces_what_follows_gets_it():
    text = ("Sign a new lease by May 1 to get one of these specials:\n\n"
            "Elm Court: $250 off your first month.\n\nBirch Row: half off your first month.")
    chunk = _hit(text, "special.txt", 0.7, doc_type="text").chunk
    q = completed_quote(asked_value_kind("What is in the spring special?"),
                        "Sign a new lease by May 1 to get one of these specials:", chunk)
    assert q == ("Sign a new lease by May 1 to get one of these specials: Elm Court: $250 off your first month. "
                 "Birch Row: half off your first month.")
    assert completed_quote(None, q[:200], chunk, max_chars=60) == q[:200]


def test_a_value_question_gets_the_next_sentence_when_only_it_states_the_value():
    text = ("The owner may come into the unit to make repairs after giving written notice. "
            "Visits happen between 9 a.m. and 6 p.m. on weekdays. Keys are kept at the office.")
    hits = [_hit(text, "elm.pdf", 0.7)]
    q = completed_quote(asked_value_kind("At what times may the owner come into the unit?"),
                        "The owner may come into the unit to make repairs after giving written notice.", hits[0].chunk)
    assert q.endswith("Visits happen between 9 a.m. and 6 p.m. on weekdays.")
    # a sentence that states the asked kind of value already stays as it is
    done = "Visits happen between 9 a.m. and 6 p.m. on weekdays."
    assert completed_quote(asked_value_kind("At what times may the owner visit?"), done, hits[0].chunk) == done


def test_value_bonus_counts_the_asked_kind_of_value():
    kind = asked_value_kind("When did Elm Court join the company?")
    assert kind == "date"
    assert value_bonus(kind, "Elm Court joined in March 2025 and is leasing now.") > 0
    assert value_bonus(kind, "Updated two-bedroom townhome - Elm Court") == 0.0
    assert asked_value_kind("Is there a gym?") is None and value_bonus(None, "The gym is open 24 hours.") == 0.0


def test_the_acting_party_of_a_question_and_of_a_clause():
    assert asked_actor("How much notice does the landlord need to end the lease?") == "landlord"
    assert asked_actor("How much notice is needed?") is None
    assert acting_party("The tenant must give 60 days notice in writing.") == "tenant"
    assert acting_party("If the landlord ends the tenancy, notice is 30 days.") is None
    hits = [_hit("The tenant must give 60 days notice in writing to end the lease. "
                 "The landlord must give 90 days notice to end the lease.", "x.pdf", 0.7)]
    q = select_quotes("How much notice does the landlord have to give to end the lease?", hits, HashingEmbedder(256), n=1)
    assert q[0].text.startswith("The landlord must give 90 days")


def test_a_listing_title_line_is_not_the_quote_for_a_question_naming_it():
    listing = _hit("Garden studio - Elm Court\nPrice: $900\nAvailable: since June 2026", "l.csv#1", 0.8, doc_type="listing")
    q = select_quotes("When is the Garden studio at Elm Court available?", [listing], HashingEmbedder(256), n=1)
    assert q[0].text == "Available: since June 2026"


@pytest.mark.parametrize("question,broad", [
    ("Tell me about Harborview Property Management.", True),
    ("tell me about the Urban Castle", True),
    ("Tell me about the pet policy", False),
    ("What about parking?", False),
    ("What is the pet policy at Oak Street?", False),
])
def test_a_request_about_a_whole_named_thing_skips_the_faq_shortcut(question, broad):
    from ragbot.chat.steps import _BROAD, names_only

    assert (bool(_BROAD.match(question)) and names_only(question)) is broad


def test_a_second_quote_that_repeats_the_first_is_skipped():
    hits = [_hit("A: Parking is not included in the rent.", "faq.md", 0.8, doc_type="faq"),
            _hit("PARKING Parking is not included in the rent. Assigned spaces cost $40 per month.", "lease.pdf", 0.7)]
    quotes = select_quotes("Is parking included in the rent?", hits, HashingEmbedder(256), n=2)
    texts = [q.text for q in quotes]
    assert len(texts) == 2 and sum("not included" in t for t in texts) == 1, texts
