"""The eval harness behind `ragbot eval`: run labelled cases through a Bot and score them.

Eval file (JSONL, DESIGN.md): {"id", "question", "history"?, "scope"?, "expected_decision",
"expected_sources"?, "must_include"?, "must_not_include"?}; only question and
expected_decision are required. Metrics (all in [0, 1] unless noted):
  hit_at_k          cases with expected_sources whose top-k retrieval holds a matching source
  decision_accuracy share of cases whose decision equals expected_decision; `confusion`
                    counts [expected][predicted]
  fact_recall       on cases expected AND predicted "answer": share of must_include items
                    (each "a|b|c": one alternative must appear, case- and space-insensitive)
  violation_rate    share of cases whose reply contains a must_not_include item
  handoff_recall / handoff_precision   for decision "handoff"
  coverage          share of cases answered; accuracy_when_answered: share of those expected "answer"
  latency_ms        p50 / p95 of Reply.timings_ms["total"]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ragbot.errors import InputError
from ragbot.util import iter_jsonl_objects
from ragbot.types import Reply, Turn

DECISIONS = ("answer", "clarify", "handoff")


@dataclass(frozen=True)
class EvalCase:
    id: str
    question: str
    expected_decision: str
    history: tuple[Turn, ...] = ()
    scope: Mapping[str, str] = field(default_factory=dict)
    expected_sources: tuple[str, ...] = ()
    must_include: tuple[str, ...] = ()
    must_not_include: tuple[str, ...] = ()
    group: str = ""
    split: str = ""
    expected_urgency: str = ""


def load_cases(path: str | Path, split: str | None = None) -> list[EvalCase]:
    """Parse an eval JSONL file (optionally only the cases whose "split" is `split`); raises
    InputError naming the line and field on bad input."""
    path = Path(path)
    cases = []
    for n, obj in iter_jsonl_objects(path, "eval file"):
        for key in ("question", "expected_decision"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise InputError(f"{path}:{n}: field {key!r} is required and must be a non-empty string")
        if obj["expected_decision"] not in DECISIONS:
            raise InputError(f"{path}:{n}: expected_decision must be one of {DECISIONS}, got {obj['expected_decision']!r}")
        hist = []
        for t in obj.get("history") or []:
            if not isinstance(t, dict) or t.get("role") not in ("user", "assistant") or not isinstance(t.get("content"), str):
                raise InputError(f"{path}:{n}: history items need role user|assistant and content")
            hist.append(Turn(t["role"], t["content"]))
        cases.append(EvalCase(id=str(obj.get("id") or f"line{n}"), question=obj["question"],
                              expected_decision=obj["expected_decision"], history=tuple(hist),
                              scope=dict(obj.get("scope") or {}),
                              expected_sources=tuple(obj.get("expected_sources") or ()),
                              must_include=tuple(obj.get("must_include") or ()),
                              must_not_include=tuple(obj.get("must_not_include") or ()),
                              group=str(obj.get("group") or ""), split=str(obj.get("split") or ""),
                              expected_urgency=str(obj.get("expected_urgency") or "")))
    if split is not None:
        cases = [c for c in cases if c.split == split]
    if not cases:
        raise InputError(f"{path}: no cases" + (f" with split {split!r}" if split is not None else ""))
    return cases


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def item_present(item: str, text: str) -> bool:
    """One of the '|'-separated alternatives occurs in text (case- and space-insensitive)."""
    t = _norm(text)
    return any(_norm(alt) in t for alt in item.split("|") if alt.strip())


@dataclass
class CaseResult:
    id: str
    expected: str
    predicted: str
    correct: bool
    confidence: float
    rule: str
    reason: str
    text: str
    sources: list[str]
    retrieval_hit: bool | None
    facts_found: int
    facts_total: int
    violations: list[str]
    latency_ms: float
    timings_ms: dict[str, float]
    signals: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    expected_urgency: str = ""
    urgency: str = ""


def score_case(case: EvalCase, reply: Reply, retrieved_sources: Sequence[str] | None) -> CaseResult:
    predicted = reply.decision.value
    hit = None
    if case.expected_sources and retrieved_sources is not None:
        hit = any(e in s for s in retrieved_sources for e in case.expected_sources)
    found = sum(item_present(i, reply.text) for i in case.must_include) if predicted == "answer" else 0
    violations = [i for i in case.must_not_include if item_present(i, reply.text)]
    return CaseResult(id=case.id, expected=case.expected_decision, predicted=predicted,
                      correct=predicted == case.expected_decision, confidence=float(reply.confidence), rule=reply.rule,
                      reason=reply.reason, text=reply.text, sources=[s.source for s in reply.sources],
                      retrieval_hit=hit, facts_found=found, facts_total=len(case.must_include), violations=violations,
                      latency_ms=float(reply.timings_ms.get("total", 0.0)), timings_ms=dict(reply.timings_ms),
                      signals=reply.to_dict()["signals"], group=case.group, expected_urgency=case.expected_urgency,
                      urgency=reply.ticket.urgency if reply.ticket else "")


def run_eval(bot, cases: Sequence[EvalCase], k: int = 5, scope: Mapping[str, str] | None = None,
             progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, Any]:
    """Ask every case in a fresh session (its history replayed, its scope merged over `scope`)
    and return {"metrics": {...}, "cases": [CaseResult as dict, ...]}. Retrieval hit@k uses
    `bot.kb.search(question, k)` with the case's scope."""
    results = []
    it = progress(cases) if progress else cases
    for case in it:
        case_scope = {**(scope or {}), **case.scope}
        reply = bot.ask(case.question, scope=case_scope or None, history=case.history)
        retrieved = None
        if case.expected_sources:
            retrieved = [h.chunk.source for h in bot.kb.search(case.question, k=k, scope=case_scope or None,
                                                               include_unscoped=True)]
        results.append(score_case(case, reply, retrieved))
    out = {"metrics": metrics(results, k), "cases": [r.__dict__ for r in results]}
    groups = sorted({r.group for r in results if r.group})
    if groups:
        out["by_group"] = {g: metrics([r for r in results if r.group == g], k) for g in groups}
    return out


def metrics(results: Sequence[CaseResult], k: int = 5) -> dict[str, Any]:
    n = len(results)
    conf = {e: {p: 0 for p in DECISIONS} for e in DECISIONS}
    for r in results:
        conf[r.expected][r.predicted] += 1
    hits = [r.retrieval_hit for r in results if r.retrieval_hit is not None]
    answered_ok = [r for r in results if r.expected == "answer" and r.predicted == "answer"]
    facts_total = sum(r.facts_total for r in answered_ok)
    facts_found = sum(r.facts_found for r in answered_ok)
    pred_h = [r for r in results if r.predicted == "handoff"]
    exp_h = [r for r in results if r.expected == "handoff"]
    answered = [r for r in results if r.predicted == "answer"]
    lat = np.array([r.latency_ms for r in results]) if results else np.zeros(1)
    return {
        "cases": n,
        f"hit_at_{k}": (sum(hits) / len(hits)) if hits else None,
        "decision_accuracy": sum(r.correct for r in results) / n if n else None,
        "confusion": conf,
        "fact_recall": facts_found / facts_total if facts_total else None,
        "violation_rate": sum(bool(r.violations) for r in results) / n if n else None,
        "handoff_recall": sum(r.predicted == "handoff" for r in exp_h) / len(exp_h) if exp_h else None,
        "handoff_precision": sum(r.expected == "handoff" for r in pred_h) / len(pred_h) if pred_h else None,
        "coverage": len(answered) / n if n else None,
        "accuracy_when_answered": sum(r.expected == "answer" for r in answered) / len(answered) if answered else None,
        "latency_ms": {"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95))},
        "emergency_recall": _emergency_recall(results),
    }


def _emergency_recall(results: Sequence[CaseResult]) -> float | None:
    """Share of cases labelled expected_urgency "emergency" handed off with urgency emergency."""
    em = [r for r in results if r.expected_urgency == "emergency"]
    return sum(r.urgency == "emergency" for r in em) / len(em) if em else None


def gate_signals_from_dict(signals: Mapping[str, Any]):
    """Rebuild a `gate.GateSignals` from a recorded signals mapping: `Reply.signals` (values as
    the gate saw them, candidates as `Candidate`) or its JSON form (`Reply.to_dict()["signals"]`,
    `CaseResult.signals`: candidates as dicts, tuples as lists, -inf as None). Unknown keys are
    ignored; an empty mapping (a turn in a session already handed off) gives empty signals.
    Raises InputError when a value is not what GateSignals accepts."""
    from ragbot.chat.gate import Candidate, GateSignals

    fields = GateSignals.__dataclass_fields__
    d = {k: v for k, v in signals.items() if k in fields}
    for key in ("candidates", "competitors"):
        cands = []
        for c in d.get(key) or ():
            if isinstance(c, Candidate):
                cands.append(c)
            elif isinstance(c, Mapping):
                cands.append(Candidate(label=str(c.get("label", "")), source=str(c.get("source", "")),
                                       score=float(c.get("score", 0.0)), scope=dict(c.get("scope") or {}),
                                       quote=str(c.get("quote") or ""),
                                       quote_score=None if c.get("quote_score") is None else float(c["quote_score"]),
                                       answers=c.get("answers")))
            else:
                raise InputError(f"recorded signal {key}: expected a mapping, got {c!r}")
        d[key] = tuple(cands)
    for key in ("unsupported_numbers", "unsupported_names"):
        d[key] = tuple(d.get(key) or ())
    d["intents"] = dict(d.get("intents") or {})
    return GateSignals(**d)
