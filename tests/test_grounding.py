"""Groundedness: numbers by value, names, citations, sentence support and the score."""

from __future__ import annotations

import pytest

from ragbot.chat.grounding import citations, extract_numbers, groundedness, strip_citations

LEASE = ("The security deposit is $1,000, payable before move-in. The tenant must give sixty (60) days "
         "written notice to end the tenancy. Rent of $1,450 is due on the 1st; a late fee of 5% applies after "
         "5:00 p.m. on the 5th. The landlord may enter between 8 a.m. and 8 p.m. after 24 hours notice.")
RULES = "Quiet hours at Oak Street Apartments run from 10 pm to 7 am. Contact Maria Lopez for parking permits."
PASSAGES = [LEASE, RULES]


@pytest.mark.parametrize("answer", [
    "The deposit is $1,000 [1].",
    "The deposit is 1000 dollars.",
    "The security deposit is $1,000.00.",
    "Rent is $1450 per month.",
    "You must give 60 days' written notice [1].",
    "You must give sixty days notice.",
    "The late fee is 5% [1].",
    "The late fee is five percent.",
    "Entry is allowed from 8:00 am to 8 pm.",
    "The landlord may enter until 20:00.",
    "Quiet hours end at 7 am [2].",
    "Late fees apply after 17:00.",
])
def test_supported_numbers_match_by_value(answer):
    assert groundedness(answer, PASSAGES).unsupported_numbers == ()


@pytest.mark.parametrize("answer,bad", [
    ("The deposit is $1 [1].", "$1"),          # DESIGN.md: "$1" for a $1,000 deposit
    ("You must give 30 days notice.", "30"),
    ("The late fee is $5.", "$5"),              # 5% is not $5
    ("The lease term is 12 months.", "12"),
    ("Rent is twelve hundred dollars.", "twelve hundred"),
    ("Entry is allowed until 9:30 pm.", "9:30 pm"),
])
def test_unsupported_numbers_are_reported_as_written(answer, bad):
    assert groundedness(answer, PASSAGES).unsupported_numbers == (bad,)


def test_citation_markers_and_page_refs_are_not_numbers():
    g = groundedness("The deposit is $1,000 [1][2], see p. 7 and [3, 4].", PASSAGES)
    assert g.unsupported_numbers == ()
    assert strip_citations("A [1] b (lease.pdf, p. 3) c [2].") == "A b (lease.pdf, ) c."


def test_one_as_a_pronoun_is_not_a_figure_but_one_year_is():
    assert groundedness("You can visit one of the offices.", PASSAGES).unsupported_numbers == ()
    assert groundedness("The lease runs for one year.", ["The lease term is two years."]).unsupported_numbers \
        == ("one",)


def test_names_must_appear_in_passages_question_or_known_names():
    g = groundedness("Please contact John Smith at Pine Avenue.", PASSAGES)
    assert g.unsupported_names == ("John Smith", "Pine Avenue")
    assert groundedness("Contact Maria Lopez at Oak Street Apartments.", PASSAGES).unsupported_names == ()
    assert groundedness("Welcome to Harborview.", PASSAGES, known_names=["Harborview"]).unsupported_names == ()
    assert groundedness("Yes, Pine Avenue has parking.", PASSAGES, question="Does Pine Avenue have parking?"
                        ).unsupported_names == ()


def test_question_does_not_license_numbers():
    g = groundedness("Yes, the deposit is $500.", PASSAGES, question="Is the deposit $500?")
    assert g.unsupported_numbers == ("$500",)


def test_score_orders_supported_above_unsupported():
    supported = groundedness("The tenant must give sixty days written notice [1].", PASSAGES)
    invented = groundedness("Pets are welcome and the gym opens at noon.", PASSAGES)
    assert supported.score == pytest.approx(1.0)
    assert invented.score < 0.3 < supported.score
    assert 0.0 <= invented.score <= 1.0


def test_sentence_support_and_best_passage():
    g = groundedness("The deposit is $1,000 [1]. Quiet hours run from 10 pm [2].", PASSAGES)
    assert [s.best_passage for s in g.sentence_support] == [0, 1]
    assert all(s.overlap == pytest.approx(1.0) for s in g.sentence_support)
    assert all(0.5 < s.partial_ratio <= 1.0 for s in g.sentence_support)
    one = groundedness("The late fee is 5% after the 5th.", PASSAGES)
    assert one.best_passage == 0 and one.best_passage_coverage == pytest.approx(1.0)


def test_empty_inputs():
    assert groundedness("", PASSAGES).score == 0.0
    assert groundedness("Yes [1].", PASSAGES).score == 0.0  # nothing verifiable
    g = groundedness("The deposit is $1,000.", [])
    assert g.score == 0.0 and g.unsupported_numbers == ("$1,000",) and g.best_passage == -1


def test_extract_numbers_and_citations():
    assert {"1000", "$1000", "60", "5", "5%", "17", "5:00"} <= extract_numbers(LEASE)
    assert citations("a [1] b [2, 3] c [4-6] d [1]") == (1, 2, 3, 4, 5, 6)
    assert citations("no markers") == ()
