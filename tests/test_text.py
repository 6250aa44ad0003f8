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


NOTICE = ("All notices must be in writing. If the owner ends the rental, the owner must allow the\n"
          "following notice periods:\n"
          "• 10 days for unpaid rent, 5 days for a weekly rental\n"
          "• 3 months for the owner's own use\n"
          "• 30 days for damage\n"
          "If the renter moves out early, the\n"
          "renter owes rent until a new renter moves in.")


def test_a_bullet_list_is_quoted_with_the_sentence_that_introduces_it():
    units = split_sentences(NOTICE)
    assert units[0] == "All notices must be in writing."
    assert units[1] == ("If the owner ends the rental, the owner must allow the following notice periods: "
                        "• 10 days for unpaid rent, 5 days for a weekly rental • 3 months for the owner's own use "
                        "• 30 days for damage")
    # the last item ends at the capitalised line after it, which is prose again
    assert units[2] == "If the renter moves out early, the renter owes rent until a new renter moves in."


def test_items_of_a_long_list_or_a_list_without_a_lead_are_units_of_their_own():
    items = "\n".join(f"• item number {i} of a long list of things the renter must not keep, store or do" for i in range(9))
    units = split_sentences("The renter must not keep:\n" + items)
    assert units[0] == "The renter must not keep:" and len(units) == 10
    assert units[1].startswith("• item number 0") and not units[1].endswith(".")
    assert split_sentences("• a wrapped item that goes on\nacross a line break") == [
        "• a wrapped item that goes on across a line break"]


def test_a_sentence_continued_after_a_page_number_is_a_fragment():
    page = ("- 2 -\nwithin twenty-one days of the receipt of such notice, the charge takes effect.\n"
            "ARTICLE FIVE: PAYMENT\nThe tenant shall pay the rent quarterly in advance.")
    assert split_sentences(page) == ["ARTICLE FIVE: PAYMENT The tenant shall pay the rent quarterly in advance."]
    assert split_sentences("- 3 - The next page starts with a whole sentence here.") == [
        "- 3 - The next page starts with a whole sentence here."]


def test_stray_letters_after_the_last_sentence_of_a_chunk_are_dropped():
    text = "1.07 Allowance(s): None.\n\n1.08 “Security Deposit”: $20,000.00, as more fully described in Section 6.\nth"
    assert split_sentences(text)[-1] == "1.08 “Security Deposit”: $20,000.00, as more fully described in Section 6."
    assert split_sentences("The tenant pays rent monthly. The landlord is going to") == ["The tenant pays rent monthly."]
