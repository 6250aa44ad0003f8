"""Precision of the drafts the gate keeps, on hand-labelled real drafts (issue 9, deliverable 1).

    .venv/bin/python benchmarks/draft_precision.py [--labelled eval/drafts_labelled.jsonl] [--kb DIR]

Reads eval/drafts_labelled.jsonl (benchmarks/collect_drafts.py's records plus "label":
correct | incorrect | abstain and "label_reason"), replays `gate.decide(GateSignals, cfg)` on each
record's recorded signals with the gate config (default `BotConfig().gate`; `--kb DIR`: that KB's
config.json) and reports, overall and on the heldout split alone:

- drafts, kept drafts (`GateResult.keep_draft`: the reply would lead with the model's draft);
- precision of kept drafts = kept and labelled correct / kept (an abstaining draft that is kept
  counts against precision), with a 95% Wilson lower bound;
- recall of correct drafts = kept and correct / labelled correct;
- the kept-but-incorrect drafts with their label reasons (what the gate still lets through);
- why correct drafts were not kept: the `draft_verdict` rule (for draft_check, each
  `draft_problems` reason's kind), or the gate's decision rule when the verdict kept the draft but
  the turn did not answer.

`--recheck` first recomputes, with this tree's code, the two signals that come from the draft and
the quotes rather than from the model: `draft_problems` (chat/claims.check_draft of the trimmed
draft against the record's quotes) and `quote_answers` (chat/claims.quote_answers), so the
precision is that of the current gate, not of the one that recorded the drafts.

Writes benchmarks/results/draft_precision.md and .json (`--name` to change). No model runs.
Exit status 0, or 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

REPO = Path(__file__).resolve().parents[1]
LABELS = ("correct", "incorrect", "abstain")
DEFAULT_LABELLED = REPO / "eval" / "drafts_labelled.jsonl"


@dataclass(frozen=True)
class LabelledDraft:
    """One labelled draft (fields below)."""

    key: str  # "<file stem>:<case id>:t<temperature>", unique
    split: str  # "tune" | "heldout" | "" (files without a split)
    file: str  # the eval file the case came from
    question: str
    draft: str  # the trimmed draft a reply would lead with
    label: str  # one of LABELS
    reason: str  # the labeller's one line
    signals: dict  # GateSignals.to_dict() as recorded
    quotes: tuple[str, ...] = ()  # the quoted sentences, best first


@dataclass(frozen=True)
class Outcome:
    """The gate's replayed verdict on one draft: kept (the reply leads with the draft); rule: the
    gate's decision rule; drop: why the draft was not kept ("" when kept)."""

    draft: LabelledDraft
    kept: bool
    rule: str
    drop: str


@dataclass(frozen=True)
class Precision:
    """Counts and rates over a set of drafts. precision = kept_correct / kept (None when nothing
    is kept); precision_low95: Wilson 95% lower bound; recall = kept_correct / correct (None when
    nothing is correct)."""

    drafts: int
    correct: int
    incorrect: int
    abstain: int
    kept: int
    kept_correct: int
    precision: float | None
    precision_low95: float | None
    recall: float | None
    dropped_correct: dict = field(default_factory=dict)


def load_labelled(path: str | Path) -> list[LabelledDraft]:
    """Parse a labelled drafts file (JSON Lines, read by ragbot.util.iter_jsonl_objects). Raises
    InputError for a missing file or a line that is not a JSON object, and names the line and field
    when a record has no key, a label outside LABELS, an empty label_reason, no signals, or a
    duplicate key."""
    from ragbot.errors import InputError
    from ragbot.util import iter_jsonl_objects

    out, keys = [], set()
    for n, obj in iter_jsonl_objects(path, "labelled drafts file"):
        if obj.get("label") not in LABELS:
            raise InputError(f"{path}:{n}: label must be one of {LABELS}, got {obj.get('label')!r}")
        if not str(obj.get("label_reason") or "").strip():
            raise InputError(f"{path}:{n}: label_reason is empty; give one line saying why")
        if not obj.get("key") or obj["key"] in keys or not isinstance(obj.get("signals"), dict):
            raise InputError(f"{path}:{n}: needs a unique 'key' and a 'signals' object (collect_drafts.py records)")
        keys.add(obj["key"])
        out.append(LabelledDraft(key=obj["key"], split=str(obj.get("split") or ""), file=str(obj.get("file") or ""),
                                 question=str(obj.get("question") or ""), draft=str(obj.get("draft") or ""),
                                 label=obj["label"], reason=str(obj["label_reason"]).strip(), signals=obj["signals"],
                                 quotes=_quote_list(obj.get("quotes"))))
    if not out:
        raise InputError(f"{path}: no labelled drafts")
    return out


def _quote_list(value) -> tuple[str, ...]:
    """The record's quotes: a list, or the str() of one (collect_drafts.py wrote them that way)."""
    import ast

    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            value = [value]
    return tuple(str(q) for q in value or ())


def recheck(d: LabelledDraft, signals, known_names: Sequence[str] = ()):
    """`signals` with draft_problems and quote_answers recomputed by this tree's chat/claims.py."""
    from dataclasses import replace

    from ragbot.chat.answer_types import classify_question
    from ragbot.chat.claims import check_draft, quote_answers

    if not d.quotes:
        return signals
    kind = classify_question(d.question)
    problems = () if signals.dont_know else tuple(
        check_draft(d.question, d.draft, list(d.quotes), kind, known_names=tuple(known_names)).reasons)
    return replace(signals, draft_problems=problems, quote_answers=quote_answers(d.question, kind, list(d.quotes)))


def gate_config(kb_dir: str | Path | None = None):
    """The gate config: `BotConfig().gate`, or the one in `kb_dir`'s config.json."""
    from ragbot.config import BotConfig

    return (BotConfig.load(kb_dir) if kb_dir else BotConfig()).gate


RUBRIC = """\
How the drafts were labelled (by a person reading the question, the trimmed draft `v.draft` that a
reply would lead with, the best quote and the passages; never by a rule or by the gate's output):

- **correct**: every claim the draft makes is true according to the documents, and it answers the
  question asked (the right fact of the right property or document);
- **incorrect**: any false or unsupported claim; a true sentence answering a different question; a
  value from a neighbouring clause; a flat answer to an unscoped question whose answer differs
  between documents; or degenerate text as issue 9 defines it (repetition, a "The answer is:"
  preamble, copied passage headers, list numbering), even when its value is right (the reason then
  says what was right);
- **abstain**: the draft says it does not know or needs more information.

Collected with `benchmarks/collect_drafts.py` (temperature 0 over eval/trust_qa.jsonl,
knowledge/eval.jsonl and ../shared/eval/dev_qa.jsonl; a second pass at temperature 0.7, seed 7, over
knowledge/eval.jsonl and the heldout split of trust_qa; a draft identical to one already recorded
for the same case is dropped).
"""

_PROBLEM_KIND = re.compile(r"^[a-z_ ]+?(?=[:(,'\"]|$)")


def replay(drafts: Sequence[LabelledDraft], cfg, recheck_names: Sequence[str] | None = None) -> list[Outcome]:
    """`gate.decide` on every draft's recorded signals with `cfg` (a GateConfig); with
    `recheck_names` (the business names a draft may state), after `recheck`."""
    from ragbot.chat.gate import decide, draft_verdict
    from ragbot.tune.evaluation import gate_signals_from_dict

    out = []
    for d in drafts:
        s = gate_signals_from_dict(d.signals)
        if recheck_names is not None:
            s = recheck(d, s, recheck_names)
        res = decide(s, cfg)
        keep, rule, _ = draft_verdict(s, cfg)
        if res.keep_draft:
            drop = ""
        elif not keep and rule == "draft_check":
            kinds = sorted({(_PROBLEM_KIND.match(p.strip().lower()) or [p])[0].strip() for p in s.draft_problems})
            drop = "draft_check: " + ", ".join(kinds)
        elif not keep:
            drop = rule
        else:
            drop = f"decision {res.rule}"
        out.append(Outcome(d, res.keep_draft, res.rule, drop))
    return out


def wilson_low(k: int, n: int, z: float = 1.96) -> float | None:
    """Wilson score interval lower bound for k successes out of n (None when n == 0)."""
    if n == 0:
        return None
    p = k / n
    den = 1 + z * z / n
    centre = p + z * z / (2 * n)
    return (centre - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / den


def precision(outcomes: Sequence[Outcome]) -> Precision:
    """Precision of kept drafts and recall of correct drafts over `outcomes` (Precision)."""
    labels = Counter(o.draft.label for o in outcomes)
    kept = [o for o in outcomes if o.kept]
    kept_ok = sum(o.draft.label == "correct" for o in kept)
    dropped = Counter(o.drop for o in outcomes if o.draft.label == "correct" and not o.kept)
    return Precision(drafts=len(outcomes), correct=labels["correct"], incorrect=labels["incorrect"],
                     abstain=labels["abstain"], kept=len(kept), kept_correct=kept_ok,
                     precision=kept_ok / len(kept) if kept else None, precision_low95=wilson_low(kept_ok, len(kept)),
                     recall=kept_ok / labels["correct"] if labels["correct"] else None,
                     dropped_correct=dict(dropped.most_common()))


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def report(outcomes: Sequence[Outcome], cfg_name: str) -> tuple[str, dict]:
    """(markdown, json-able dict) of the whole set, the heldout split and each file."""
    parts = {"all": list(outcomes), "heldout": [o for o in outcomes if o.draft.split == "heldout"],
             "tune": [o for o in outcomes if o.draft.split == "tune"]}
    for f in sorted({o.draft.file for o in outcomes}):
        parts[f] = [o for o in outcomes if o.draft.file == f]
    stats = {name: precision(os) for name, os in parts.items()}
    bad = [o for o in outcomes if o.kept and o.draft.label != "correct"]
    lines = [f"# Precision of kept drafts ({cfg_name})", "",
             "Hand-labelled real drafts (eval/drafts_labelled.jsonl, collected by benchmarks/collect_drafts.py);",
             "`gate.decide` replayed on each draft's recorded signals. Written by benchmarks/draft_precision.py.", "",
             RUBRIC,
             "| set | drafts | correct | incorrect | abstain | kept | kept correct | precision (95% low) | recall |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, p in stats.items():
        lines.append(f"| {name} | {p.drafts} | {p.correct} | {p.incorrect} | {p.abstain} | {p.kept} | {p.kept_correct} "
                     f"| {_fmt(p.precision)} ({_fmt(p.precision_low95)}) | {_fmt(p.recall)} |")
    lines += ["", f"## Kept but not correct ({len(bad)})", ""]
    lines += [f"- `{o.draft.key}` ({o.draft.label}): {o.draft.question} -> \"{o.draft.draft}\" — {o.draft.reason}"
              for o in bad] or ["(none)"]
    lines += ["", "## Why correct drafts were not kept (all drafts)", "", "| rule | correct drafts |", "|---|---|"]
    lines += [f"| {rule} | {n} |" for rule, n in stats["all"].dropped_correct.items()] or ["| (none) | 0 |"]
    data = {"gate_config": cfg_name, "sets": {k: asdict(v) for k, v in stats.items()},
            "kept_not_correct": [{"key": o.draft.key, "label": o.draft.label, "question": o.draft.question,
                                  "draft": o.draft.draft, "reason": o.draft.reason} for o in bad]}
    return "\n".join(lines) + "\n", data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labelled", type=Path, default=DEFAULT_LABELLED)
    ap.add_argument("--kb", type=Path, default=None, help="use this KB's config.json gate (default BotConfig().gate)")
    ap.add_argument("--name", default="draft_precision", help="result file name under benchmarks/results")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--recheck", action="store_true",
                    help="recompute draft_problems and quote_answers with this tree's chat/claims.py")
    args = ap.parse_args(argv)
    from ragbot.errors import RagbotError

    try:
        drafts = load_labelled(args.labelled)
        cfg = gate_config(args.kb)
    except (RagbotError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    names = ("Harborview Property Management",) if args.recheck else None  # the business name of every eval KB
    name = f"gate config of {args.kb}" if args.kb else "BotConfig().gate defaults"
    md, data = report(replay(drafts, cfg, names), name + (", signals rechecked by this tree" if args.recheck else ""))
    print(md)
    if not args.no_write:
        results = REPO / "benchmarks" / "results"
        results.mkdir(parents=True, exist_ok=True)
        (results / f"{args.name}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
        (results / f"{args.name}.md").write_text(md, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
