"""The confidence gate, rule by rule on crafted signals, plus invariants over random signals."""

from __future__ import annotations

import math
import random

import pytest

from ragbot.config import GateConfig
from ragbot.errors import InputError
from ragbot.chat.gate import Candidate, GateSignals, answer_score, decide, precheck
from ragbot.types import Decision

CFG = GateConfig()
OAK = Candidate("Oak Street", "oak_lease.pdf", 0.62, {"property": "oak-street"})
PINE = Candidate("Pine Avenue", "pine_lease.pdf", 0.60, {"property": "pine-avenue"})


def good(**kw) -> GateSignals:
    """A generated answer every rule lets through."""
    base = dict(top_score=0.7, mean_logprob=-0.3, min_logprob=-2.5, groundedness=0.95, cited=True, generated=True)
    base.update(kw)
    return GateSignals(**base)


def test_good_generated_answer_is_answered_with_confidence_from_formula():
    res = decide(good(), CFG)
    assert res.decision == Decision.ANSWER and res.rule == "grounded_answer"
    r = (0.7 - CFG.min_retrieval_score) / (CFG.good_retrieval_score - CFG.min_retrieval_score)
    w = CFG.weight_retrieval, CFG.weight_groundedness, CFG.weight_logprob
    expected = (w[0] * r + w[1] * 0.95 + w[2] * math.exp(-0.3)) / sum(w)
    assert res.confidence == pytest.approx(expected)
    assert res.answer_score == pytest.approx(expected)
    assert "groundedness 0.95" in res.reason


@pytest.mark.parametrize("intent", ["human", "legal", "discrimination", "complaint", "injection"])
def test_handoff_intents_win_over_a_perfect_answer(intent):
    res = decide(good(intents={intent: "phrase"}), CFG)
    assert res.decision == Decision.HANDOFF and res.rule == f"intent_{intent}"
    assert res.urgency == "normal" and "'phrase'" in res.reason


def test_emergency_comes_first_with_emergency_urgency():
    res = decide(good(intents={"complaint": "unacceptable", "emergency": "water is pouring"}), CFG)
    assert res.decision == Decision.HANDOFF and res.urgency == "emergency" and res.rule == "intent_emergency"
    assert "complaint" in res.reason  # the other intents are named too


def test_intent_not_in_config_lists_is_ignored():
    res = decide(good(intents={"bot_check": "are you a bot"}), CFG)
    assert res.decision == Decision.ANSWER


@pytest.mark.parametrize("top", [None, 0.1, CFG.min_retrieval_score - 0.01])
def test_out_of_scope(top):
    res = decide(good(top_score=top), CFG)
    assert res.decision == Decision.HANDOFF and res.rule == "out_of_scope"
    assert 0.5 <= res.confidence <= 1.0
    assert (res.confidence == 1.0) == (top is None)


def test_out_of_scope_confidence_grows_as_score_falls():
    near = decide(good(top_score=CFG.min_retrieval_score - 0.01), CFG).confidence
    far = decide(good(top_score=0.0), CFG).confidence
    assert far > near


def test_ambiguous_without_scope_clarifies_naming_candidates_by_scope_key():
    res = decide(GateSignals(top_score=0.62, ambiguous=True, candidates=(PINE, OAK)), CFG)
    assert res.decision == Decision.CLARIFY and res.rule == "ambiguous"
    assert res.clarify_question == "Which property is this about: Oak Street or Pine Avenue?"
    assert "Oak Street" in res.reason and "Pine Avenue" in res.reason


def test_clarify_dedupes_labels_and_caps_options():
    cands = (OAK, Candidate("oak street", "oak2.pdf", 0.61), PINE, Candidate("Elm Road", "elm.pdf", 0.59),
             Candidate("Birch Lane", "birch.pdf", 0.58))
    res = decide(GateSignals(top_score=0.62, ambiguous=True, candidates=cands), GateConfig(max_candidates=3))
    assert res.clarify_question == "Which one is this about: Oak Street, Pine Avenue or Elm Road?"


def test_clarify_confidence_is_higher_for_closer_candidates():
    close = decide(GateSignals(top_score=0.6, ambiguous=True, candidates=(OAK, PINE)), CFG).confidence
    apart = decide(GateSignals(top_score=0.6, ambiguous=True,
                               candidates=(OAK, Candidate("Pine Avenue", "p.pdf", 0.52))), CFG).confidence
    assert close > apart >= 0.5


@pytest.mark.parametrize("kw", [dict(scope_given=True), dict(candidates=(OAK,)), dict(ambiguous=False)])
def test_no_clarify_when_scope_given_or_single_candidate_or_not_ambiguous(kw):
    base = dict(ambiguous=True, candidates=(OAK, PINE))
    base.update(kw)
    res = decide(good(**base), CFG)
    assert res.decision == Decision.ANSWER


def _competitors(*answers):
    return tuple(Candidate(label, f"{label}.md", score, quote=quote, quote_score=0.6, answers=a)
                 for (label, score, quote), a in zip((("Oak Street", 0.70, "The pet deposit is $300."),
                                                      ("Pine Avenue", 0.62, "The pet deposit is $500.")), answers))


def test_competitors_within_the_margin_whose_quotes_answer_and_differ_clarify():
    res = decide(good(top_score=0.70, competitors=_competitors(True, True)), GateConfig(ambiguity_margin=0.15))
    assert res.decision == Decision.CLARIFY and [c.label for c in res.candidates] == ["Oak Street", "Pine Avenue"]
    assert decide(good(top_score=0.70, competitors=_competitors(True, True)),
                  GateConfig(ambiguity_margin=0.05)).decision == Decision.ANSWER  # 0.08 apart


def test_a_competitor_whose_quote_does_not_answer_is_not_offered():
    res = decide(good(top_score=0.70, competitors=_competitors(True, False)), GateConfig(ambiguity_margin=0.15))
    assert res.decision == Decision.ANSWER


@pytest.mark.parametrize("company,clarifies", [(0.69, False), (0.60, True), (None, True)])
def test_a_company_wide_faq_answer_near_the_top_holds_for_every_property(company, clarifies):
    s = good(top_score=0.70, competitors=_competitors(True, True), company_faq_score=company)
    res = decide(s, GateConfig(ambiguity_margin=0.15, company_faq_margin=0.02))
    assert (res.decision == Decision.CLARIFY) is clarifies


def test_listing_choice_asks_which_listing():
    opts = (Candidate("Listing 1 ($900/month)", "l.csv#1", 1.0), Candidate("Listing 2 ($950/month)", "l.csv#2", 1.0))
    res = precheck(GateSignals(listing_choice="2 listings fit 1 bedroom, Mesa, AZ", candidates=opts), CFG)
    assert res.decision == Decision.CLARIFY and res.rule == "listing_choice"
    assert res.clarify_question == "Which listing is this about: Listing 1 ($900/month) or Listing 2 ($950/month)?"
    assert precheck(GateSignals(listing_choice="x", candidates=opts, intents={"human": "a person"}),
                    CFG).rule == "intent_human"


def test_faq_fast_path_answers_without_generation():
    res = decide(GateSignals(top_score=0.8, faq_match=True), CFG)
    assert res.decision == Decision.ANSWER and res.rule == "faq"
    assert res.confidence == pytest.approx(1.0)


def test_precheck_returns_none_when_generation_is_needed():
    assert precheck(GateSignals(top_score=0.7), CFG) is None
    assert precheck(GateSignals(top_score=0.7, intents={"legal": "court"}), CFG).rule == "intent_legal"


def test_nothing_generated_is_handed_off():
    res = decide(GateSignals(top_score=0.7), CFG)
    assert res.decision == Decision.HANDOFF and res.rule == "no_generation"


def test_dont_know():
    assert decide(good(dont_know=True), CFG).rule == "dont_know"


def test_unsupported_numbers_hand_off_and_are_named():
    res = decide(good(unsupported_numbers=("$1",)), CFG)
    assert res.decision == Decision.HANDOFF and res.rule == "unsupported_numbers" and "'$1'" in res.reason
    assert decide(good(unsupported_numbers=("$1",)), GateConfig(block_unsupported_numbers=False)).decision \
        == Decision.ANSWER


def test_unsupported_names():
    res = decide(good(unsupported_names=("John Smith",)), CFG)
    assert res.rule == "unsupported_names"
    assert decide(good(unsupported_names=("X",)), GateConfig(block_unsupported_names=False)).decision \
        == Decision.ANSWER


@pytest.mark.parametrize("kw,rule", [
    (dict(groundedness=0.3), "low_groundedness"),
    (dict(mean_logprob=-2.5), "low_mean_logprob"),
    (dict(min_logprob=-12.0), "low_min_logprob"),
    (dict(min_logprob=-math.inf), "low_min_logprob"),
    (dict(cited=False), "not_cited"),
])
def test_generation_rules(kw, rule):
    res = decide(good(**kw), CFG)
    assert res.decision == Decision.HANDOFF and res.rule == rule
    assert res.confidence >= 0.5 and res.reason.startswith(f"rule {rule}:")


def test_citation_can_be_optional():
    assert decide(good(cited=False), GateConfig(require_citation=False)).decision == Decision.ANSWER


def test_low_combined_confidence():
    cfg = GateConfig(min_answer_confidence=0.9)
    res = decide(good(top_score=0.4, groundedness=0.7, mean_logprob=-1.0), cfg)
    assert res.rule == "low_confidence" and res.answer_score < 0.9


def test_quote_only_reply_ignores_the_dropped_draft_but_needs_a_good_quote():
    dropped = good(groundedness=0.1, unsupported_numbers=("$1",), mean_logprob=-3.0)
    ok = decide(GateSignals(**{**dropped.__dict__, "quote_score": 0.7}), CFG)
    assert ok.decision == Decision.ANSWER and not ok.keep_draft and "draft dropped" in ok.reason
    low = decide(GateSignals(**{**dropped.__dict__, "quote_score": 0.1}), CFG)
    assert low.rule == "low_quote_score"
    # no quote to fall back on: the reason the draft was dropped hands off
    assert decide(GateSignals(**{**dropped.__dict__, "quote_score": None}), CFG).rule == "unsupported_numbers"
    # a quote without a value of the expected type never answers on its own
    assert decide(GateSignals(**{**dropped.__dict__, "quote_score": 0.7, "quote_answers": False}),
                  CFG).rule == "no_answering_sentence"


def test_a_kept_draft_without_an_answering_sentence_hands_off():
    assert decide(good(quote_score=0.7), CFG).keep_draft
    res = decide(good(quote_score=0.7, quote_answers=False), CFG)
    assert res.decision == Decision.HANDOFF and res.rule == "no_answering_sentence", res.reason


def test_draft_is_kept_only_when_every_check_passes():
    assert decide(good(quote_score=0.7), CFG).keep_draft
    for bad in (dict(dont_know=True), dict(draft_problems=("no_value",)), dict(groundedness=0.1),
                dict(unsupported_names=("Bob",)), dict(mean_logprob=-9.0)):
        res = decide(good(quote_score=0.7, **bad), CFG)
        assert res.decision == Decision.ANSWER and not res.keep_draft, bad


def test_missing_logprobs_are_said_and_skipped():
    res = decide(good(quote_score=0.7, mean_logprob=-9.0, min_logprob=-20.0, logprobs_available=False), CFG)
    assert res.keep_draft and "log-probabilities unavailable" in res.reason


def test_urgency_classifier_emergency_hands_off_urgently():
    res = decide(good(urgency="emergency", urgency_score=0.93), CFG)
    assert res.rule == "urgency_emergency" and res.urgency == "emergency"


def test_named_document_is_never_out_of_scope_on_cosine_alone():
    assert decide(good(top_score=0.1, named_document=True, quote_score=0.7), CFG).decision == Decision.ANSWER
    assert decide(good(top_score=0.1, quote_score=0.7), CFG).rule == "out_of_scope"


def test_weights_change_the_score():
    s = good(groundedness=0.5)
    a = answer_score(s, GateConfig(weight_retrieval=1, weight_groundedness=0, weight_logprob=0))
    b = answer_score(s, GateConfig(weight_retrieval=0, weight_groundedness=1, weight_logprob=0))
    assert b == pytest.approx(0.5) and a != pytest.approx(b)


def test_bad_signals_and_config_are_rejected():
    with pytest.raises(InputError, match="groundedness"):
        GateSignals(groundedness=1.5)
    with pytest.raises(InputError, match="mean_logprob"):
        GateSignals(mean_logprob=0.5)
    with pytest.raises(InputError, match="top_score"):
        GateSignals(top_score=float("nan"))
    with pytest.raises(ValueError, match="good_retrieval_score"):
        GateConfig(min_retrieval_score=0.5, good_retrieval_score=0.4)


def test_result_serialises_to_json():
    import json

    d = decide(good(min_logprob=-math.inf, candidates=(OAK,)), CFG).to_dict()
    text = json.dumps(d)
    assert d["decision"] == "handoff" and d["signals"]["min_logprob"] is None and "Oak Street" in text


def _random_signals(rng: random.Random) -> GateSignals:
    def maybe(x):
        return None if rng.random() < 0.25 else x

    names = ["human", "legal", "emergency", "complaint", "injection", "discrimination", "bot_check"]
    cands = tuple(Candidate(rng.choice(["Oak", "Pine", "Elm", ""]), f"s{i}", rng.uniform(-1, 1),
                            rng.choice([{}, {"property": str(i)}])) for i in range(rng.randint(0, 4)))
    return GateSignals(
        top_score=maybe(rng.uniform(-1, 1)), second_score=maybe(rng.uniform(-1, 1)), candidates=cands,
        ambiguous=rng.random() < 0.3, mean_logprob=maybe(-rng.expovariate(1.0)),
        min_logprob=maybe(rng.choice([-math.inf, -rng.expovariate(0.2)])), groundedness=maybe(rng.random()),
        unsupported_numbers=tuple(rng.sample(["1", "$5"], rng.randint(0, 1))),
        unsupported_names=tuple(rng.sample(["Bob"], rng.randint(0, 1))),
        intents={n: "x" for n in names if rng.random() < 0.05}, faq_match=rng.random() < 0.2,
        cited=rng.random() < 0.7, scope_given=rng.random() < 0.3, dont_know=rng.random() < 0.1,
        quote_score=maybe(rng.uniform(-1, 1)), generated=rng.random() < 0.8,
        quote_answers=rng.choice([None, True, False]), draft_problems=rng.choice([(), ("no_value",)]))


def test_invariants_over_random_signals():
    rng = random.Random(1234)
    configs = [CFG, GateConfig(weight_retrieval=0, weight_groundedness=0, weight_logprob=0, weight_quote=1),
               GateConfig(min_retrieval_score=-1.0, good_retrieval_score=1.0, require_citation=False)]
    seen = set()
    for i in range(3000):
        s = _random_signals(rng)
        res = decide(s, configs[i % len(configs)])
        assert 0.0 <= res.confidence <= 1.0
        assert res.answer_score is None or 0.0 <= res.answer_score <= 1.0
        assert res.reason.strip() and res.rule and res.signals is s
        assert (res.urgency is not None) == (res.decision == Decision.HANDOFF)
        assert (res.clarify_question is not None) == (res.decision == Decision.CLARIFY)
        if res.decision == Decision.ANSWER:
            assert not set(s.intents) & {"human", "legal", "emergency", "complaint", "injection", "discrimination"}
        assert decide(s, configs[i % len(configs)]) == res  # deterministic
        seen.add(res.rule)
    assert len(seen) >= 12  # the random walk reaches most rules


def test_doc_type_offsets_normalise_the_retrieval_floor():
    listing = good(top_score=0.30, top_doc_type="listing", quote_score=0.7)
    assert decide(listing, CFG).rule == "out_of_scope"  # 0.30 < the 0.35 floor
    shifted = CFG.model_copy(update={"offset_listing": 0.1})
    assert decide(listing, shifted).decision == Decision.ANSWER  # listings judged on their own scale
    faq = good(top_score=0.30, top_doc_type="faq", quote_score=0.7)
    assert decide(faq, shifted).rule == "out_of_scope"  # other doc types keep the floor


def test_urgent_maintenance_report_hands_off_with_urgency_urgent():
    res = decide(good(urgency="urgent", urgency_score=0.7), CFG)
    assert res.rule == "urgency_urgent" and res.urgency == "urgent" and res.decision == Decision.HANDOFF
