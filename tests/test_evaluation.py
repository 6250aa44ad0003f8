"""ragbot.tune.evaluation: eval-file parsing errors, metrics on synthetic CaseResults, fact matching."""

from __future__ import annotations

import json

import pytest

from ragbot.errors import InputError
from ragbot.tune.evaluation import (
    CaseResult,
    gate_signals_from_dict,
    item_present,
    load_cases,
    metrics,
)
from ragbot.chat.gate import Candidate, GateSignals


def _write(tmp_path, lines):
    p = tmp_path / "eval.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


GOOD = json.dumps({"id": "a", "question": "How much is rent?", "expected_decision": "answer",
                   "history": [{"role": "user", "content": "hi"}], "scope": {"property": "oak"},
                   "expected_sources": ["lease"], "must_include": ["$1,000|1000"], "must_not_include": ["$5"]})


def test_load_cases_parses_all_fields(tmp_path):
    cases = load_cases(_write(tmp_path, [GOOD, "", json.dumps({"question": "q?", "expected_decision": "handoff"})]))
    assert [c.id for c in cases] == ["a", "line3"]  # missing id: named after its line (blank lines count)
    a = cases[0]
    assert a.history[0].role == "user" and dict(a.scope) == {"property": "oak"}
    assert a.expected_sources == ("lease",) and a.must_include == ("$1,000|1000",) and a.must_not_include == ("$5",)


@pytest.mark.parametrize("bad, match", [
    ("{not json", r"eval.jsonl:2: not valid JSON"),
    (json.dumps({"expected_decision": "answer"}), r"eval.jsonl:2: field 'question'"),
    (json.dumps({"question": "q", "expected_decision": ""}), r"eval.jsonl:2: field 'expected_decision'"),
    (json.dumps({"question": "q", "expected_decision": "maybe"}), r"eval.jsonl:2: expected_decision must be one of"),
    (json.dumps({"question": "q", "expected_decision": "answer", "history": [{"role": "bot", "content": "x"}]}),
     r"eval.jsonl:2: history items"),
])
def test_load_cases_errors_name_the_line(tmp_path, bad, match):
    with pytest.raises(InputError, match=match):
        load_cases(_write(tmp_path, [GOOD, bad]))


def test_load_cases_missing_and_empty_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_cases(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="no cases"):
        load_cases(_write(tmp_path, ["", "  "]))


@pytest.mark.parametrize("item, text, present", [
    ("60 days|sixty days", "Give SIXTY   days notice.", True),
    ("60 days|sixty days", "Give 60\ndays notice.", True),
    ("60 days|sixty days", "Give 30 days notice.", False),
    ("6,700|6700", "The rent is $6,700 per month.", True),
    ("a||", "nothing", False),  # empty alternatives never match everything
    ("  |B", "abc", True),
])
def test_item_present_alternatives(item, text, present):
    assert item_present(item, text) is present


def _r(expected, predicted, facts=(0, 0), hit=None, violations=(), latency=100.0):
    return CaseResult(id=f"{expected}-{predicted}", expected=expected, predicted=predicted,
                      correct=expected == predicted, confidence=0.5, rule="r", reason="", text="", sources=[],
                      retrieval_hit=hit, facts_found=facts[0], facts_total=facts[1], violations=list(violations),
                      latency_ms=latency, timings_ms={"total": latency})


def test_metrics_on_synthetic_results():
    results = [
        _r("answer", "answer", facts=(1, 2), hit=True, latency=100),
        _r("answer", "answer", facts=(2, 2), hit=True, latency=200),
        _r("answer", "handoff", facts=(0, 3), hit=False, latency=300),   # not answered: facts ignored
        _r("handoff", "answer", facts=(0, 0), violations=["x"], latency=400),
        _r("handoff", "handoff", latency=500),
        _r("clarify", "clarify", latency=600),
        _r("clarify", "handoff", latency=700),
    ]
    m = metrics(results, k=3)
    assert m["cases"] == 7
    assert m["confusion"]["answer"] == {"answer": 2, "clarify": 0, "handoff": 1}
    assert m["confusion"]["handoff"] == {"answer": 1, "clarify": 0, "handoff": 1}
    assert m["confusion"]["clarify"] == {"answer": 0, "clarify": 1, "handoff": 1}
    assert m["decision_accuracy"] == pytest.approx(4 / 7)
    assert m["hit_at_3"] == pytest.approx(2 / 3)
    assert m["fact_recall"] == pytest.approx(3 / 4)  # only the two expected-and-answered cases
    assert m["violation_rate"] == pytest.approx(1 / 7)
    assert m["handoff_recall"] == pytest.approx(1 / 2)
    assert m["handoff_precision"] == pytest.approx(1 / 3)
    assert m["coverage"] == pytest.approx(3 / 7)
    assert m["accuracy_when_answered"] == pytest.approx(2 / 3)
    assert m["latency_ms"]["p50"] == pytest.approx(400.0)
    assert 600 < m["latency_ms"]["p95"] <= 700


def test_metrics_without_optional_labels():
    m = metrics([_r("clarify", "clarify")])
    assert m["hit_at_5"] is None and m["fact_recall"] is None and m["handoff_recall"] is None
    assert m["handoff_precision"] is None and m["accuracy_when_answered"] is None and m["decision_accuracy"] == 1.0


def test_gate_signals_from_dict_json_and_live_forms():
    live = GateSignals(top_score=0.6, candidates=(Candidate("Oak", "o.pdf", 0.6, {"p": "o"}),), ambiguous=True,
                       unsupported_numbers=("5",), intents={"human": "person"}, mean_logprob=-0.5)
    d = live.to_dict()
    assert gate_signals_from_dict(d) == live  # JSON form: lists and dicts back to tuples and Candidates
    fields = {k: getattr(live, k) for k in live.__dataclass_fields__}
    assert gate_signals_from_dict({**fields, "extra": 1}) == live
    assert gate_signals_from_dict({}) == GateSignals()
    with pytest.raises(InputError, match="groundedness"):
        gate_signals_from_dict({"groundedness": 2.0})


def test_groups_splits_and_emergency_recall(tmp_path):
    import json as _json

    from ragbot.tune.evaluation import CaseResult, load_cases, metrics

    f = tmp_path / "e.jsonl"
    rows = [{"id": "a", "question": "q1?", "expected_decision": "answer", "group": "lease:x", "split": "tune"},
            {"id": "b", "question": "q2?", "expected_decision": "handoff", "group": "general", "split": "heldout",
             "expected_urgency": "emergency"}]
    f.write_text("\n".join(_json.dumps(r) for r in rows) + "\n")
    held = load_cases(f, split="heldout")
    assert [c.id for c in held] == ["b"] and held[0].group == "general" and held[0].expected_urgency == "emergency"
    with pytest.raises(InputError, match="split 'nope'"):
        load_cases(f, split="nope")

    def res(urgency):
        return CaseResult("b", "handoff", "handoff", True, 0.9, "r", "r", "t", [], None, 0, 0, [], 1.0, {},
                          expected_urgency="emergency", urgency=urgency)
    assert metrics([res("emergency"), res("normal")])["emergency_recall"] == 0.5


def test_shipped_trust_sets_load_and_keep_every_group_in_one_split():
    """eval/trust_qa.jsonl and eval/trust_qa_tune_extra.jsonl parse, ids are unique across both,
    a group never straddles the split, and the extra cases are all on tune groups."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "eval"
    rows = {name: [json.loads(line) for line in (root / name).read_text().splitlines() if line.strip()]
            for name in ("trust_qa.jsonl", "trust_qa_tune_extra.jsonl")}
    for name in rows:
        assert load_cases(root / name)
    ids = [r["id"] for rs in rows.values() for r in rs]
    assert len(ids) == len(set(ids))
    split_of = {}
    for r in (r for rs in rows.values() for r in rs):
        assert split_of.setdefault(r["group"], r["split"]) == r["split"], r["id"]
    assert {r["split"] for r in rows["trust_qa_tune_extra.jsonl"]} == {"tune"}
    assert len(rows["trust_qa_tune_extra.jsonl"]) >= 60
