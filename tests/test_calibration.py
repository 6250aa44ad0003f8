"""ragbot.tune.calibration on synthetic recorded signals (no model): replay, fit, CV, storing."""

from __future__ import annotations

import json
import random

import pytest

from ragbot.tune.calibration import (
    SEARCHED,
    RecordedCase,
    calibrate,
    candidate_values,
    fit,
    folds_of,
    predict,
    recorded_from_mapping,
    score,
    store_gate,
)
from ragbot.config import BotConfig, GateConfig
from ragbot.errors import InputError
from ragbot.chat.gate import Candidate, GateSignals


def _gen(rng, top, g_lo=0.7, lp=(-1.0, -0.3)):
    return GateSignals(top_score=top, groundedness=rng.uniform(g_lo, 1.0), mean_logprob=rng.uniform(*lp),
                       min_logprob=-5.0, quote_score=rng.uniform(0.5, 0.8), generated=True, cited=True)


def synthetic(seed=0, n_answer=40, n_oos=15, n_intent=8, n_clarify=8):
    """Answerable cases retrieve well (top 0.45-0.8), out-of-scope ones poorly (0.05-0.35);
    intents and ambiguous cases as turn.py records them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_answer):
        rows.append(RecordedCase(f"a{i}", "answer", _gen(rng, rng.uniform(0.45, 0.8)), "", ""))
    for i in range(n_oos):
        rows.append(RecordedCase(f"o{i}", "handoff", _gen(rng, rng.uniform(0.05, 0.35), g_lo=0.3), "", ""))
    for i in range(n_intent):
        rows.append(RecordedCase(f"i{i}", "handoff", GateSignals(intents={"human": "a real person"}), "", ""))
    for i in range(n_clarify):
        c = (Candidate("Oak", "oak.pdf", 0.6, {"property": "oak"}), Candidate("Pine", "pine.pdf", 0.59, {"property": "pine"}))
        rows.append(RecordedCase(f"c{i}", "clarify", GateSignals(top_score=0.6, candidates=c, ambiguous=True), "", ""))
    return rows


BAD = GateConfig(min_retrieval_score=-0.5)  # answers every out-of-scope question (a dropped draft now falls back to quotes, so log-prob floors no longer hand off)


def test_fit_beats_bad_defaults_in_sample():
    rec = synthetic()
    before, fitted = score(rec, BAD), fit(rec, BAD)
    after = score(rec, fitted)
    assert after.accuracy > before.accuracy + 0.2
    assert after.handoff_recall >= 0.9
    # the retrieval floor landed between the out-of-scope and the answerable scores
    assert 0.3 < fitted.min_retrieval_score < 0.5
    # ... and the log-prob floor below every answerable case's
    assert all(r.signals.mean_logprob >= fitted.min_mean_logprob for r in rec if r.expected == "answer")


def test_cross_validated_held_out_accuracy_improves():
    rep = calibrate(synthetic(seed=1), BAD, folds=5, min_handoff_recall=0.9)
    assert rep.folds == 5 and sum(f["n"] for f in rep.fold_scores) == 71
    assert rep.cv_accuracy_after > rep.cv_accuracy_before + 0.2
    assert rep.cv_handoff_recall_after >= 0.9
    d = rep.to_dict()
    assert set(d["thresholds"]) == set(SEARCHED)
    assert d["thresholds"]["min_retrieval_score"]["before"] == -0.5
    json.dumps(d)  # JSON-serialisable for --json


def _overlap_set():
    """Two hard handoffs retrieve as well as answerable cases: the accuracy-best floor misses them."""
    rows = [RecordedCase(f"a{i}", "answer", GateSignals(top_score=0.5 + 0.015 * i, groundedness=1.0, mean_logprob=-0.3,
                                                         generated=True, cited=True), "", "") for i in range(20)]
    rows += [RecordedCase(f"h{i}", "handoff", GateSignals(top_score=0.1 + 0.02 * i, groundedness=1.0, mean_logprob=-0.3,
                                                          generated=True, cited=True), "", "") for i in range(10)]
    rows += [RecordedCase(f"x{i}", "handoff", GateSignals(top_score=t, groundedness=1.0, mean_logprob=-0.3,
                                                          generated=True, cited=True), "", "")
             for i, t in enumerate((0.55, 0.6))]
    return rows


def test_handoff_recall_floor_is_respected():
    rec = _overlap_set()
    start = GateConfig(min_retrieval_score=0.0, good_retrieval_score=0.95)
    loose, strict = fit(rec, start, min_handoff_recall=0.8), fit(rec, start, min_handoff_recall=1.0)
    s_loose, s_strict = score(rec, loose), score(rec, strict)
    assert s_loose.handoff_recall == pytest.approx(10 / 12)
    assert s_strict.handoff_recall == 1.0  # floor met ...
    assert s_strict.accuracy < s_loose.accuracy  # ... at the price of accuracy
    assert strict.min_retrieval_score > 0.6 > loose.min_retrieval_score


def test_unreachable_floor_maximises_recall():
    rec = _overlap_set()
    # only min_answer_confidence may move: it cannot separate the cases, yet recall must not drop
    start = GateConfig(min_retrieval_score=0.0, good_retrieval_score=0.95)
    fitted = fit(rec, start, min_handoff_recall=1.0, searched=("min_answer_confidence",))
    assert score(rec, fitted).handoff_recall == 1.0  # everything handed off: highest recall wins over accuracy


def test_replay_min_groundedness_drops_draft_to_quotes():
    """The gate keeps or drops the draft from its own config, so replay needs no copied rule."""
    s = GateSignals(top_score=0.7, groundedness=0.5, mean_logprob=-0.4, quote_score=0.2, generated=True, cited=True)
    rec = RecordedCase("q", "answer", s, "answer", "grounded_answer")
    assert predict([rec], GateConfig(min_groundedness=0.4)) == ["answer"]
    # the draft is dropped and the quote-only reply is judged by quote_score (0.2 < 0.3 -> handoff)
    assert predict([rec], GateConfig(min_groundedness=0.6)) == ["handoff"]
    bad = RecordedCase("n", "handoff", GateSignals(top_score=0.7, groundedness=0.9, unsupported_numbers=("$5",),
                                                    quote_score=0.5, generated=True, cited=True), "", "")
    from ragbot.chat.gate import decide
    assert not decide(bad.signals, GateConfig(min_groundedness=0.0)).keep_draft


def test_folds_are_stratified_and_deterministic():
    rec = synthetic()
    a, b = folds_of(rec, 5), folds_of(list(reversed(rec)), 5)
    assert a == list(reversed(b))  # by id, not by file order
    for d in ("answer", "handoff", "clarify"):
        counts = [sum(1 for r, f in zip(rec, a) if r.expected == d and f == k) for k in range(5)]
        assert max(counts) - min(counts) <= 1


def test_candidate_values_within_field_bounds():
    rec = synthetic()
    vals = candidate_values("min_mean_logprob", rec, GateConfig())
    assert vals == sorted(vals) and max(vals) <= 0.0 and GateConfig().min_mean_logprob in vals
    assert all(v < GateConfig().good_retrieval_score for v in candidate_values("min_retrieval_score", rec, GateConfig()))


def test_errors_and_mapping_input(tmp_path):
    with pytest.raises(InputError, match="at least one"):
        calibrate([], GateConfig())
    with pytest.raises(InputError, match="cannot search"):
        fit(synthetic(), GateConfig(), searched=("max_candidates",))
    with pytest.raises(InputError, match="row 0"):
        recorded_from_mapping([{"expected": "maybe"}])
    rows = recorded_from_mapping([{"id": "x", "expected": "clarify", "signals": {
        "top_score": 0.6, "ambiguous": True, "candidates": [
            {"label": "Oak", "source": "o.pdf", "score": 0.6, "scope": {"p": "o"}},
            {"label": "Pine", "source": "p.pdf", "score": 0.58, "scope": {"p": "p"}}]}}])
    assert predict(rows, GateConfig()) == ["clarify"]


def test_store_gate_keeps_other_settings(tmp_path):
    cfg = BotConfig()
    cfg.prompt.business_name = "Harborview"
    cfg.save(tmp_path)
    store_gate(tmp_path, GateConfig(min_retrieval_score=0.42))
    back = BotConfig.load(tmp_path)
    assert back.gate.min_retrieval_score == 0.42 and back.prompt.business_name == "Harborview"


def test_cli_calibrate_wiring(tmp_path, monkeypatch):
    """`ragbot calibrate --json`: records through the (faked) bot once, fits, stores config.json."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    import ragbot.bot
    import ragbot.tune.calibration
    from ragbot.cli import app

    cases = tmp_path / "eval.jsonl"
    cases.write_text("\n".join(json.dumps({"id": f"c{i}", "question": "q?", "expected_decision": "answer"})
                               for i in range(5)) + "\n")
    seen = {}

    def fake_open(kb, config=None, **kw):
        seen["config"] = config
        closer = SimpleNamespace(close=lambda: None)
        return SimpleNamespace(config=config, sessions=closer, kb=closer)

    monkeypatch.setattr(ragbot.bot.Bot, "open", staticmethod(fake_open))
    monkeypatch.setattr(ragbot.tune.calibration, "record_cases", lambda bot, cs, progress=None: synthetic(seed=2))
    BotConfig(gate=BAD).save(tmp_path / "kb")
    res = CliRunner().invoke(app, ["calibrate", str(cases), "--kb", str(tmp_path / "kb"), "--folds", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert seen["config"].gate == BAD  # recorded with the KB's own config: no recording flag, no copied rules
    assert out["folds"] == 3 and out["cv"]["accuracy_after"] > out["cv"]["accuracy_before"]
    saved = BotConfig.load(tmp_path / "kb").gate
    assert saved.min_retrieval_score == out["thresholds"]["min_retrieval_score"]["after"] != BAD.min_retrieval_score


def test_cli_calibrate_does_not_save_a_worse_fit(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from typer.testing import CliRunner

    import ragbot.bot
    import ragbot.tune.calibration
    from ragbot.tune.calibration import CalibrationReport, Score
    from ragbot.cli import app

    cases = tmp_path / "eval.jsonl"
    cases.write_text(json.dumps({"question": "q?", "expected_decision": "answer"}) + "\n")
    closer = SimpleNamespace(close=lambda: None)
    monkeypatch.setattr(ragbot.bot.Bot, "open", staticmethod(
        lambda kb, config=None, **kw: SimpleNamespace(config=config, sessions=closer, kb=closer)))
    monkeypatch.setattr(ragbot.tune.calibration, "record_cases", lambda bot, cs, progress=None: synthetic(seed=3))
    fitted = GateConfig(min_retrieval_score=0.11)
    worse = CalibrationReport(before=GateConfig(), after=fitted, folds=5, min_handoff_recall=0.9,
                              all_before=Score(0.8, 1.0, 10), all_after=Score(0.9, 1.0, 10),
                              cv_accuracy_before=0.8, cv_accuracy_after=0.7)
    monkeypatch.setattr(ragbot.tune.calibration, "calibrate", lambda *a, **k: worse)
    kb = tmp_path / "kb"
    kb.mkdir()
    res = CliRunner().invoke(app, ["calibrate", str(cases), "--kb", str(kb)])
    assert res.exit_code == 0, res.output
    assert "not saved: held-out accuracy of the fit (0.700)" in res.output
    assert not (kb / "config.json").exists()
    res = CliRunner().invoke(app, ["calibrate", str(cases), "--kb", str(kb), "--force"])
    assert res.exit_code == 0 and BotConfig.load(kb).gate.min_retrieval_score == 0.11


def _competing_case(rng, i, expected, gap, quote_score, groundedness):
    top = rng.uniform(0.5, 0.8)
    comps = (Candidate("Oak Street", "oak.pdf", top, {"property": "oak"}, "The deposit is $1,450.", quote_score),
             Candidate("Pine Avenue", "pine.pdf", top - gap, {"property": "pine"}, "The deposit is $2,000.", quote_score))
    s = GateSignals(top_score=top, competitors=comps, groundedness=groundedness, mean_logprob=-0.5, min_logprob=-3.0,
                    quote_score=quote_score, generated=True, cited=True)
    return RecordedCase(f"{expected[0]}{i}", expected, s, "answer", "grounded_answer")


def test_ambiguity_margin_and_clarify_quote_floor_are_fitted_from_competitors():
    """Recorded with an ambiguity window (no clarification while recording): questions whose
    properties differ by 0.08-0.2 should clarify, so the margin must widen; off-topic questions
    whose competitors' quotes barely relate (0.25-0.35) must not become "which property?"."""
    rng = random.Random(3)
    rows = [_competing_case(rng, i, "clarify", rng.uniform(0.08, 0.2), rng.uniform(0.55, 0.75), 0.9)
            for i in range(12)]
    rows += [_competing_case(rng, i, "handoff", rng.uniform(0.0, 0.1), rng.uniform(0.25, 0.35), 0.2)
             for i in range(12)]
    rows += synthetic(seed=4, n_answer=12, n_oos=0, n_intent=0, n_clarify=0)
    start = GateConfig(ambiguity_margin=0.05, min_clarify_quote_score=0.0)
    rep = calibrate(rows, start, folds=4, min_handoff_recall=0.5)  # the start already meets the floor
    assert rep.cv_accuracy_after > rep.cv_accuracy_before + 0.2, rep.to_dict()["cv"]
    assert rep.after.ambiguity_margin >= 0.2
    assert 0.35 <= rep.after.min_clarify_quote_score <= 0.55
    # replay is what turn.py would decide: no clarification beyond the recording window
    assert max(candidate_values("ambiguity_margin", rows, start)) <= 0.3


def test_cases_with_groups_are_cross_validated_leaving_one_group_out():
    rec = synthetic(n_answer=6, n_oos=3, n_intent=3, n_clarify=0)
    grouped = [RecordedCase(r.id, r.expected, r.signals, group=f"g{i % 3}") for i, r in enumerate(rec)]
    folds = folds_of(grouped, 5)
    assert sorted(set(folds)) == [0, 1, 2]  # one fold per document group, whatever k says
    assert all(f == int(r.group[1]) for f, r in zip(folds, grouped))
    assert calibrate(grouped, GateConfig(), folds=5).folds == 3
