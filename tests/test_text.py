"""ragbot.text.split_sentences on field-per-line passages (FAQ pairs, listing rows)."""

from __future__ import annotations

from ragbot.text import split_sentences

FAQ = ("Q: Who is the on-site superintendent?\n"
       "A: Luis Ortega is the on-site superintendent. His office is in Unit 1A and he is available Monday\n"
       "through Friday from 8 a.m. to 4 p.m. at 555-0120.")
LISTING = ("Tiny House Rainbow Bungalow\nPrice: $50.00\nBedrooms: 1\n"
           "House rules: 1. Love & Kindness 2. Check in after 3pm - checkout 11am 3. Non-smoking space. "
           "Outdoor smoking only please.\nNotes: The cleaning fee is $25. Dogs live on this property.")


def test_a_hard_wrapped_faq_answer_is_quoted_as_whole_sentences():
    assert split_sentences(FAQ, lines_are_units=True) == [
        "Q: Who is the on-site superintendent?", "A: Luis Ortega is the on-site superintendent.",
        "His office is in Unit 1A and he is available Monday through Friday from 8 a.m. to 4 p.m. at 555-0120."]


def test_listing_fields_stay_one_a_line_and_an_inline_numbered_list_is_one_unit():
    units = split_sentences(LISTING, lines_are_units=True)
    assert "Price: $50.00" in units and "Bedrooms: 1" in units
    assert "House rules: 1. Love & Kindness 2. Check in after 3pm - checkout 11am 3. Non-smoking space." in units
    # an amount ending a sentence is still a sentence end outside a numbered list
    assert "Notes: The cleaning fee is $25." in units and "Dogs live on this property." in units
