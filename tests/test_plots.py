"""ragbot.tune.plots: PNGs written from a synthetic eval result, and the risk-coverage numbers."""

from __future__ import annotations

import random

import pytest

from ragbot.config import GateConfig
from ragbot.errors import InputError

pytest.importorskip("matplotlib")

from ragbot.tune.plots import latency_table, risk_coverage, write_eval_plots  # noqa: E402


def _case(i, expected, predicted, confidence, facts=(1, 1), signals=None, timings=None):
    timings = timings or {"retrieve": 20.0, "prefill": 900.0 + 10 * i, "decode": 400.0, "generate": 1300.0 + 10 * i,
                          "total": 1400.0 + 10 * i}
    return {"id": f"case-{i}", "expected": expected, "predicted": predicted, "correct": expected == predicted,
            "confidence": confidence, "rule": "x", "reason": "x", "text": "", "sources": [], "retrieval_hit": None,
            "facts_found": facts[0], "facts_total": facts[1], "violations": [], "latency_ms": timings["total"],
            "timings_ms": timings, "signals": signals or {}}


def synthetic_result(n=30, seed=0):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        exp = rng.choice(("answer", "answer", "clarify", "handoff"))
        pred = exp if rng.random() < 0.7 else rng.choice(("answer", "clarify", "handoff"))
        cases.append(_case(i, exp, pred, round(rng.random(), 3), facts=(rng.randint(0, 1), 1)))
    return {"metrics": {}, "cases": cases}


def test_write_eval_plots_writes_four_pngs(tmp_path):
    paths = write_eval_plots(synthetic_result(), tmp_path / "plots")
    assert [p.name for p in paths] == ["confusion.png", "confidence.png", "risk_coverage.png", "latency.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


def test_write_eval_plots_with_gate_config_and_many_cases(tmp_path):
    sig = {"top_score": 0.7, "groundedness": 0.9, "mean_logprob": -0.5, "quote_score": 0.6,
           "model_answer_kept": True, "cited": True}
    res = synthetic_result(n=90, seed=1)
    for c in res["cases"]:
        c["signals"] = sig
    paths = write_eval_plots(res, tmp_path, GateConfig())
    assert all(p.is_file() for p in paths)


def test_write_eval_plots_rejects_empty_result(tmp_path):
    with pytest.raises(InputError, match="no cases"):
        write_eval_plots({"metrics": {}, "cases": []}, tmp_path)
    with pytest.raises(InputError, match="predicted"):
        write_eval_plots({"cases": [{"expected": "answer", "confidence": 0.5}]}, tmp_path)


def test_risk_coverage_sweeps_answer_threshold():
    cases = [_case(0, "answer", "answer", 0.9), _case(1, "handoff", "answer", 0.8),
             _case(2, "answer", "answer", 0.7, facts=(0, 1)), _case(3, "answer", "handoff", 0.95),
             _case(4, "answer", "answer", 0.7)]
    rc = risk_coverage(cases)
    # thresholds: distinct answered scores, highest first; ties (0.7) enter together
    assert rc["threshold"].tolist() == [0.9, 0.8, 0.7]
    assert rc["coverage"].tolist() == pytest.approx([1 / 5, 2 / 5, 4 / 5])
    assert rc["risk"].tolist() == pytest.approx([0.0, 0.5, 0.25])
    assert rc["risk_facts"].tolist() == pytest.approx([0.0, 0.5, 0.5])


def test_risk_coverage_uses_gate_answer_score_when_config_given():
    high = {"top_score": 0.75, "groundedness": 1.0, "mean_logprob": 0.0, "model_answer_kept": True}
    low = {"top_score": 0.36, "groundedness": 0.6, "mean_logprob": -2.0, "model_answer_kept": True}
    # the confidences say the opposite order; the recomputed gate score must win
    cases = [_case(0, "answer", "answer", 0.1, signals=high), _case(1, "handoff", "answer", 0.9, signals=low)]
    rc = risk_coverage(cases, GateConfig())
    assert rc["threshold"][0] == pytest.approx(1.0)
    assert rc["risk"].tolist() == pytest.approx([0.0, 0.5])


def test_latency_table_other_is_remainder():
    t = latency_table([_case(0, "answer", "answer", 0.5,
                             timings={"retrieve": 100.0, "prefill": 500.0, "decode": 200.0, "total": 1000.0}),
                       _case(1, "handoff", "handoff", 0.9, timings={"total": 5.0})])
    assert t["other"].tolist() == pytest.approx([0.2, 0.005])
    assert t["prefill"].tolist() == pytest.approx([0.5, 0.0])
