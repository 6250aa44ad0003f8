"""PII scrubbing: typed placeholders, checksum validation, and measured quality on presidio's set."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ragbot.tune.data.pii import PII_TYPES, evaluate_pii, find_pii, iban_valid, luhn_valid, scrub
from ragbot.errors import IngestError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PRESIDIO = SHARED / "corpus" / "safety" / "presidio_synth_pii_v2.json"


@pytest.mark.parametrize("text, expected", [
    ("Write to jane.doe@example.org today", "Write to <EMAIL> today"),
    ("Call me at (415) 555-0132 tomorrow", "Call me at <PHONE> tomorrow"),
    ("Call +44 20 7946 0958 now", "Call <PHONE> now"),
    ("My card is 4111 1111 1111 1111.", "My card is <CARD>."),
    ("Amex 3400 000000 00009 ok", "Amex <CARD> ok"),
    ("card 5500000000000004 expired", "card <CARD> expired"),
    ("My SSN is 123-45-6789.", "My SSN is <SSN>."),
    ("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN <IBAN> please"),
    ("pay to de89370400440532013000 now", "pay to <IBAN> now"),
    ("I live at 742 Evergreen Terrace, Springfield, IL 62704.", "I live at <ADDRESS>."),
    ("Send it to 12 Oak Street Apt 4B", "Send it to <ADDRESS>"),
    ("The flat is at Vesterskovvej 79, 2100 Copenhagen", "The flat is at <ADDRESS>"),
    ("Mail: PSC 1234, Box 5678\nAPO AE 09876", "Mail: <ADDRESS>"),
    ("My name is Jane Smith and I need help", "My name is <PERSON> and I need help"),
    ("Please ask Mr. Jones to call me", "Please ask Mr. <PERSON> to call me"),
    ("Dear Maria,\nthe heating is broken", "Dear <PERSON>,\nthe heating is broken"),
    ("Thanks for your help.\n\nRegards,\nTom Baker", "Thanks for your help.\n\nRegards,\n<PERSON>"),
])
def test_typed_placeholders(text, expected):
    out, spans = scrub(text)
    assert out == expected
    assert spans and all(text[s.start:s.end] == s.value for s in spans)


def test_other_occurrences_of_a_detected_name_are_replaced():
    out, spans = scrub("My name is Ana Lopes. Lopes is on the lease too.")
    assert out == "My name is <PERSON>. <PERSON> is on the lease too."
    assert [s.type for s in spans] == ["PERSON", "PERSON"]


@pytest.mark.parametrize("text", [
    "The meeting is on 2024-05-01 at 10:30, version 2.3.4, costs $1,299.99",
    "Where is my order #123456789012? It was placed 3 days ago.",
    "We have 3 different ways to pay and 24/7 support",
    "Hi there, I'm looking for a two-bedroom flat.",
    "what is 13 times 57",
    "Server 192.168.10.254 is down since 2023-11-02 14:05:33",
])
def test_no_pii_in_plain_text(text):
    assert scrub(text) == (text, [])


def _luhn_reference(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    return total % 10 == 0


def test_card_needs_luhn_on_random_digit_strings():
    rng = random.Random(7)
    valid = 0
    for _ in range(300):
        digits = "".join(rng.choice("0123456789") for _ in range(16))
        expected = _luhn_reference(digits)
        assert luhn_valid(digits) == expected
        found = [s.type for s in find_pii(f"card {digits} please", types=("CARD",))]
        assert found == (["CARD"] if expected else [])
        valid += expected
    assert 10 <= valid <= 60  # about one in ten random strings passes Luhn


def test_iban_mod97_rejects_every_single_character_change():
    iban = "GB82WEST12345698765432"
    assert iban_valid(iban)
    for i in range(4, len(iban)):  # each digit/letter after the country code
        for repl in "0123456789":
            if repl != iban[i]:
                changed = iban[:i] + repl + iban[i + 1:]
                assert not iban_valid(changed)
                assert find_pii(f"send to {changed} today", types=("IBAN",)) == []


def test_iban_random_strings_are_rejected():
    rng = random.Random(3)
    passed = sum(iban_valid("GB" + "".join(rng.choice("0123456789") for _ in range(20))) for _ in range(500))
    assert passed <= 15  # mod-97 lets about 1 in 97 through


def test_unknown_type_is_an_error():
    with pytest.raises(ValueError, match="unknown PII type"):
        find_pii("x", types=("EMAIL", "PASSPORT"))


def test_evaluate_rejects_a_file_that_is_not_the_presidio_format(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(IngestError, match="x.json"):
        evaluate_pii(bad)


def test_evaluate_counts_on_a_tiny_hand_made_set(tmp_path):
    import json

    text = "Call 415-555-0132 or mail bob@example.com, Mr. Ray Doe"
    rec = {"full_text": text, "spans": [
        {"entity_type": "PHONE_NUMBER", "start_position": 5, "end_position": 17},
        {"entity_type": "EMAIL_ADDRESS", "start_position": 26, "end_position": 41},
        {"entity_type": "PERSON", "start_position": 47, "end_position": 54},
        {"entity_type": "US_SSN", "start_position": 0, "end_position": 4}]}  # a gold span we cannot find
    path = tmp_path / "set.json"
    path.write_text(json.dumps([rec, rec]), encoding="utf-8")
    r = evaluate_pii(path, half="dev")  # record 0 only
    assert r["PHONE"] == {"precision": 1.0, "recall": 1.0, "support": 1, "predicted": 1, "char_recall": 1.0}
    assert r["EMAIL"]["recall"] == 1.0 and r["PERSON"]["recall"] == 1.0
    assert r["SSN"]["recall"] == 0.0 and r["SSN"]["precision"] is None
    assert evaluate_pii(path, half="all")["PHONE"]["support"] == 2


# Measured on the held-out half (odd record indices; patterns were tuned on the even half):
# EMAIL 1.00/1.00 (22), PHONE 0.90/0.96 (28), CARD 0.99/1.00 (70), SSN 1.00/1.00 (10),
# IBAN 1.00/1.00 (9), ADDRESS 1.00/0.91 (298), PERSON 1.00/0.48 (426)  [precision/recall (support)].
FLOORS = {"EMAIL": (0.95, 0.95), "PHONE": (0.85, 0.90), "CARD": (0.95, 0.97), "SSN": (0.95, 0.95),
          "IBAN": (0.95, 0.95), "ADDRESS": (0.95, 0.86), "PERSON": (0.95, 0.44)}


def test_quality_floors_on_presidio_held_out_half():
    if not PRESIDIO.is_file():
        pytest.skip("../shared/corpus/safety/presidio_synth_pii_v2.json is not present")
    result = evaluate_pii(PRESIDIO, half="test")
    assert set(result) == set(PII_TYPES)
    for typ, (p_floor, r_floor) in FLOORS.items():
        r = result[typ]
        assert r["support"] > 0, typ
        assert r["precision"] >= p_floor, (typ, r)
        assert r["recall"] >= r_floor, (typ, r)
