"""Fit the confidence gate's thresholds (GateConfig) on a labelled eval set (`ragbot calibrate`).

Method
------
1. Record: every case runs ONCE through the turn's own steps (`record_signals`: understand ->
   retrieve -> disambiguate -> FAQ -> generate -> verify, chat/steps.py) without the gate
   stopping it: the model runs whenever anything was retrieved and no FAQ matched (so a lower
   min_retrieval_score or margin can be replayed), and every competing property/document within
   RECORD_WINDOW of the top hit is recorded with its quote (`GateSignals.competitors`). Nothing
   on the live Bot changes. Replay is `gate.decide` itself on those signals: the gate derives
   the clarify candidates (gate.clarify_candidates) and keeps or drops the draft
   (gate.draft_verdict) from its config, so live turns and replay decide by the same code.
2. Not searched: `max_candidates`, the intent lists, the weights and the block_* /
   require_citation switches.
3. Search: coordinate ascent over SEARCHED in this order (min_retrieval_score,
   min_clarify_quote_score before ambiguity_margin, which can only widen safely once off-topic
   competitors are filtered out, min_mean_logprob, min_token_logprob, min_answer_confidence,
   min_quote_score, min_groundedness: the draft's own checks before min_groundedness, which can
   switch the draft off altogether), replaying the pure `gate.decide` on the recorded signals:
   no model calls. Candidate values per threshold are midpoints between consecutive distinct
   recorded values of its signal (for ambiguity_margin: the gaps between the top score and each
   competitor's, plus the recording window; for min_clarify_quote_score: the competitors' quote
   scores; at most `max_values`, by quantiles), one value below and one above all of them, and
   the current value. Objective, lexicographic: (handoff recall >=
   min_handoff_recall, then decision accuracy; when no value reaches the floor, the highest
   handoff recall, then accuracy). A threshold moves only when that gains something; it then
   takes the midpoint of the widest run (in value) of adjacent equally good values: the widest
   margin to both sides, however densely the recorded values crowd one end. Passes repeat until one improves nothing (at most `max_passes`).
4. Cross-validation: leave one document group out when the cases carry groups (eval field
   "group"), else stratified k folds (by expected decision, deterministic); per fold, fit on
   the other folds and score the held-out fold with the starting and the fitted thresholds. The
   means of those held-out scores are what to trust; the thresholds stored are then fitted on
   all cases.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ragbot.config import BotConfig, GateConfig
from ragbot.errors import InputError
from ragbot.tune.evaluation import DECISIONS, EvalCase, gate_signals_from_dict
from ragbot.chat.gate import GateSignals, decide, precheck

RECORD_WINDOW = 0.3  # cosine window of competitors recorded for replaying ambiguity_margin (step 1)

SEARCHED = ("min_retrieval_score", "min_clarify_quote_score", "ambiguity_margin", "min_mean_logprob", "min_token_logprob", "min_answer_confidence", "min_quote_score",
            "min_groundedness", "offset_listing", "offset_lease", "offset_document")
_SIGNAL_OF = {"min_retrieval_score": "top_score", "min_quote_score": "quote_score",
              "min_groundedness": "groundedness", "min_mean_logprob": "mean_logprob",
              "min_token_logprob": "min_logprob"}
_OFFSET_TYPES = {"offset_listing": "listing", "offset_lease": "lease", "offset_document": "document"}


def _type_family(doc_type: str | None) -> str | None:
    return "document" if doc_type == "marketing" else doc_type


@dataclass(frozen=True)
class RecordedCase:
    """One labelled case and the gate signals its turn's steps produced. group: the document
    group of the case (eval field "group"; calibration cross-validates by group when present)."""

    id: str
    expected: str
    signals: GateSignals
    decision: str = ""
    rule: str = ""
    group: str = ""


def record_signals(bot, case: EvalCase, window: float = RECORD_WINDOW) -> GateSignals:
    """The gate signals of `case` from the turn's steps (module docstring, step 1)."""
    from ragbot.chat.steps import (TurnRequest, disambiguate, fast_path, gate_signals, generate, retrieve,
                                   summary, understand, verify)

    ctx = bot.turn_context()
    u = understand(ctx, TurnRequest(case.question, dict(case.scope), tuple(case.history)))
    r = retrieve(ctx, u)
    dis = disambiguate(ctx, u, r, window=window)
    fast = fast_path(ctx, u, r) or summary(ctx, u, r)
    pre = gate_signals(ctx, u, r, dis, fast)
    early = precheck(pre, ctx.config.gate)  # intents and urgency do not depend on thresholds
    if fast is not None or not r.hits or (early is not None and early.rule.startswith(("intent_", "urgency_"))):
        return pre
    d = generate(ctx, u, r)
    return gate_signals(ctx, u, r, dis, None, d, verify(ctx, u, d))


def record_cases(bot, cases: Sequence[EvalCase], progress: Callable[[Iterable], Iterable] | None = None,
                 window: float = RECORD_WINDOW) -> list[RecordedCase]:
    """Record every case once (`record_signals`); the decision is the bot's gate on them.
    One model call per case at most."""
    out = []
    for case in (progress(cases) if progress else cases):
        s = record_signals(bot, case, window)
        res = decide(s, bot.config.gate)
        out.append(RecordedCase(id=case.id, expected=case.expected_decision, signals=s, decision=res.decision.value,
                                rule=res.rule, group=getattr(case, "group", "") or ""))
    return out


def predict(recorded: Sequence[RecordedCase], gate: GateConfig) -> list[str]:
    """Decisions ("answer" | "clarify" | "handoff") the gate takes on the recorded signals."""
    return [decide(r.signals, gate).decision.value for r in recorded]


@dataclass(frozen=True)
class Score:
    """accuracy: share of decisions equal to the expected one; handoff_recall: share of expected
    handoffs predicted handoff (None when no case expects a handoff); n: cases."""

    accuracy: float
    handoff_recall: float | None
    n: int

    def key(self, floor: float) -> tuple:
        rec = 1.0 if self.handoff_recall is None else self.handoff_recall
        ok = rec >= floor - 1e-12
        return (ok, self.accuracy if ok else rec, self.accuracy)


def score(recorded: Sequence[RecordedCase], gate: GateConfig) -> Score:
    pred = predict(recorded, gate)
    exp = [r.expected for r in recorded]
    n = len(exp)
    acc = sum(p == e for p, e in zip(pred, exp)) / n if n else 0.0
    hand = [p for p, e in zip(pred, exp) if e == "handoff"]
    return Score(accuracy=acc, handoff_recall=(sum(p == "handoff" for p in hand) / len(hand)) if hand else None, n=n)


def _field_bounds(name: str) -> tuple[float, float]:
    lo, hi = -math.inf, math.inf
    for m in GateConfig.model_fields[name].metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
    return lo, hi


def candidate_values(name: str, recorded: Sequence[RecordedCase], gate: GateConfig, max_values: int = 40) -> list[float]:
    """Sorted thresholds to try for GateConfig field `name` (module docstring, step 3)."""
    if name == "min_answer_confidence":
        vals = [decide(r.signals, gate).answer_score for r in recorded]
    elif name == "ambiguity_margin":
        recorded = [r for r in recorded if r.signals.top_score is not None]
        vals = [r.signals.top_score - c.score for r in recorded for c in r.signals.competitors[1:]]
    elif name == "min_clarify_quote_score":
        vals = [c.quote_score for r in recorded for c in r.signals.competitors]
    elif name in _OFFSET_TYPES:  # the offsets at which a case of that doc type crosses the floor
        vals = [gate.min_retrieval_score - r.signals.top_score for r in recorded if r.signals.top_score is not None
                and _OFFSET_TYPES[name] == _type_family(r.signals.top_doc_type)]
    else:
        vals = [getattr(r.signals, _SIGNAL_OF[name]) for r in recorded]
    vals = np.unique([float(v) for v in vals if v is not None and math.isfinite(v)])
    cands = [float(getattr(gate, name))]
    if vals.size:
        if vals.size > max_values:
            vals = np.unique(np.quantile(vals, np.linspace(0, 1, max_values)))
        cands += ((vals[1:] + vals[:-1]) / 2).tolist() + [float(vals[0]) - 0.01, float(vals[-1]) + 0.01]
    lo, hi = _field_bounds(name)
    if name == "ambiguity_margin":  # gt=0; beyond the recorded window nothing can be replayed
        lo, hi = 1e-3, min(hi, RECORD_WINDOW)
        cands.append(hi)
    out = sorted({round(min(max(v, lo), hi), 6) for v in cands})
    if name == "min_retrieval_score":
        out = [v for v in out if v < gate.good_retrieval_score]
    return out


def _pick(values: list[float], keys: list[tuple], current: float) -> tuple[float, tuple]:
    best = max(keys)
    if any(k == best and abs(v - current) < 1e-9 for v, k in zip(values, keys)):
        return current, best  # no move without a gain
    runs, cur = [], []
    for v, k in zip(values, keys):
        if k == best:
            cur.append(v)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    run = max(runs, key=lambda r: (r[-1] - r[0], len(r)))
    return round((run[0] + run[-1]) / 2, 6), best  # the middle of the range, not of the list


def fit(recorded: Sequence[RecordedCase], start: GateConfig, min_handoff_recall: float = 0.9,
        searched: Sequence[str] = SEARCHED, max_passes: int = 4, max_values: int = 40) -> GateConfig:
    """Coordinate ascent from `start` (module docstring, step 3); returns the fitted GateConfig
    (the other fields as in `start`). Raises InputError for no cases or an unknown field."""
    if not recorded:
        raise InputError("calibration needs at least one recorded case")
    unknown = [n for n in searched if n not in SEARCHED]
    if unknown:
        raise InputError(f"cannot search {unknown}; searchable thresholds: {SEARCHED}")
    gate = start
    best = score(recorded, gate).key(min_handoff_recall)
    for _ in range(max_passes):
        improved = False
        for name in searched:
            values = candidate_values(name, recorded, gate, max_values)
            configs = [gate.model_copy(update={name: v}) for v in values]
            keys = [score(recorded, c).key(min_handoff_recall) for c in configs]
            value, key = _pick(values, keys, float(getattr(gate, name)))
            improved |= key > best
            best = max(best, key)
            gate = gate.model_copy(update={name: value})
        if not improved:
            break
    return GateConfig.model_validate(gate.model_dump())


def folds_of(recorded: Sequence[RecordedCase], k: int) -> list[int]:
    """Fold index per case. When every case has a document group (eval field "group") and there
    are two or more, leave-one-group-out: a case's fold is its group, so thresholds are always
    scored on documents they were not fitted on. Otherwise stratified by expected decision, ordered
    by a hash of the id (deterministic, independent of file order), dealt round-robin into k."""
    groups = sorted({r.group for r in recorded})
    if len(groups) >= 2 and all(r.group for r in recorded):
        return [groups.index(r.group) for r in recorded]
    fold = [0] * len(recorded)
    i = 0
    for d in DECISIONS:
        idx = [j for j, r in enumerate(recorded) if r.expected == d]
        idx.sort(key=lambda j: hashlib.sha256(recorded[j].id.encode()).hexdigest())
        for j in idx:
            fold[j] = i % k
            i += 1
    return fold


@dataclass
class CalibrationReport:
    """before / after: GateConfig; cv_*: means over folds of held-out scores (None without CV);
    all_*: scores on all cases; fold_scores: per fold {"n", "before": Score, "after": Score}."""

    before: GateConfig
    after: GateConfig
    folds: int
    min_handoff_recall: float
    all_before: Score
    all_after: Score
    cv_accuracy_before: float | None = None
    cv_accuracy_after: float | None = None
    cv_handoff_recall_before: float | None = None
    cv_handoff_recall_after: float | None = None
    fold_scores: list[dict[str, Any]] = field(default_factory=list)
    searched: tuple[str, ...] = SEARCHED

    def changes(self) -> dict[str, tuple[float, float]]:
        """{field: (before, after)} for the searched thresholds."""
        return {n: (getattr(self.before, n), getattr(self.after, n)) for n in self.searched}

    def to_dict(self) -> dict[str, Any]:
        def sd(s: Score) -> dict:
            return {"accuracy": s.accuracy, "handoff_recall": s.handoff_recall, "n": s.n}
        return {"cases": self.all_before.n, "folds": self.folds, "min_handoff_recall": self.min_handoff_recall,
                "searched": list(self.searched),
                "thresholds": {n: {"before": b, "after": a} for n, (b, a) in self.changes().items()},
                "cv": {"accuracy_before": self.cv_accuracy_before, "accuracy_after": self.cv_accuracy_after,
                       "handoff_recall_before": self.cv_handoff_recall_before,
                       "handoff_recall_after": self.cv_handoff_recall_after,
                       "folds": [{"n": f["n"], "before": sd(f["before"]), "after": sd(f["after"])}
                                 for f in self.fold_scores]},
                "all": {"before": sd(self.all_before), "after": sd(self.all_after)}}


def _mean(xs: list[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def calibrate(recorded: Sequence[RecordedCase], start: GateConfig, folds: int = 5, min_handoff_recall: float = 0.9,
              searched: Sequence[str] = SEARCHED) -> CalibrationReport:
    """Cross-validate `fit` with `folds` stratified folds (skipped when folds < 2 or there are
    fewer cases than folds), then fit on all cases. Raises InputError for no cases or a floor
    outside [0, 1]."""
    if not recorded:
        raise InputError("calibration needs at least one recorded case; check the eval file")
    if not 0.0 <= min_handoff_recall <= 1.0:
        raise InputError(f"min_handoff_recall must be in [0, 1], got {min_handoff_recall}")
    report_folds = []
    if folds >= 2 and len(recorded) >= folds:
        assign = folds_of(recorded, folds)
        for f in range(max(assign) + 1):
            train = [r for r, a in zip(recorded, assign) if a != f]
            test = [r for r, a in zip(recorded, assign) if a == f]
            if not test or not train:
                continue
            fitted = fit(train, start, min_handoff_recall, searched)
            report_folds.append({"n": len(test), "before": score(test, start), "after": score(test, fitted)})
    after = fit(recorded, start, min_handoff_recall, searched)
    cv = bool(report_folds)
    return CalibrationReport(
        before=start, after=after, folds=len(report_folds), min_handoff_recall=min_handoff_recall,
        all_before=score(recorded, start), all_after=score(recorded, after),
        cv_accuracy_before=_mean([f["before"].accuracy for f in report_folds]) if cv else None,
        cv_accuracy_after=_mean([f["after"].accuracy for f in report_folds]) if cv else None,
        cv_handoff_recall_before=_mean([f["before"].handoff_recall for f in report_folds]) if cv else None,
        cv_handoff_recall_after=_mean([f["after"].handoff_recall for f in report_folds]) if cv else None,
        fold_scores=report_folds, searched=tuple(searched))


def store_gate(kb_dir, gate: GateConfig, config_file=None) -> Path:
    """Write `gate` into the KB's config (BotConfig.load -> replace gate -> save; `config_file`
    as in config.config_path); the other settings in the file are kept. Returns the file's path."""
    config = BotConfig.load(kb_dir, config_file)
    config.gate = gate
    return config.save(kb_dir, config_file)


def _expected_ok(recorded: Sequence[RecordedCase]) -> None:
    bad = [r.id for r in recorded if r.expected not in DECISIONS]
    if bad:
        raise InputError(f"cases {bad[:5]} have an expected decision outside {DECISIONS}")


def recorded_from_mapping(rows: Iterable[Mapping[str, Any]]) -> list[RecordedCase]:
    """RecordedCase list from dicts {id, expected, signals, decision?, rule?, group?}
    (e.g. saved eval cases, or synthetic ones in tests)."""
    out = []
    for i, row in enumerate(rows):
        if row.get("expected") not in DECISIONS:
            raise InputError(f"row {i}: expected must be one of {DECISIONS}, got {row.get('expected')!r}")
        out.append(RecordedCase(id=str(row.get("id", i)), expected=row["expected"],
                                signals=gate_signals_from_dict(row.get("signals") or {}),
                                decision=str(row.get("decision") or row.get("predicted") or ""),
                                rule=str(row.get("rule", "")), group=str(row.get("group", "") or "")))
    return out


def calibrate_kb(kb_dir, cases: Sequence[EvalCase], folds: int = 5, min_handoff_recall: float = 0.9,
                 save: bool = True, force: bool = False, progress=None, config_file=None) -> dict[str, Any]:
    """`ragbot calibrate`: record the cases on the KB's bot (no sessions or tickets written to
    the KB), fit, cross-validate, and store the fit in the KB's config (config.json, or
    `config_file`) unless its held-out accuracy is below the current thresholds' (or `force`).
    Returns the report dict plus saved / not_saved_reason."""
    from ragbot.bot import Bot
    from ragbot.chat.conversation import SessionStore

    config = BotConfig.load(kb_dir, config_file)
    bot = Bot.open(kb_dir, config=config, handlers=[], sessions=SessionStore(":memory:"))
    try:
        recorded = record_cases(bot, cases, progress=progress)
    finally:
        bot.sessions.close()
        bot.kb.close()
    report = calibrate(recorded, config.gate, folds=folds, min_handoff_recall=min_handoff_recall)
    saved, why_not = None, None
    worse = report.folds and report.cv_accuracy_after < report.cv_accuracy_before - 1e-9
    if not save:
        why_not = "--no-save"
    elif worse and not force:
        why_not = (f"held-out accuracy of the fit ({report.cv_accuracy_after:.3f}) is below the current thresholds' "
                   f"({report.cv_accuracy_before:.3f}): the set is too small or unrepresentative; add cases, or --force")
    else:
        saved = str(store_gate(kb_dir, report.after, config_file))
    return {**report.to_dict(), "saved": saved, "not_saved_reason": why_not, "_report": report}
