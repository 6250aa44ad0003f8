"""`ragbot feedback export --out DIR`: feedback turned into eval cases and training examples.

Per rated reply (all its feedback taken together, the latest correction winning):
- any down vote with reason should_handoff -> an eval case expecting "handoff";
- else a correction -> an eval case expecting "answer" with must_include = the facts of the
  correction (amounts, numbers with their unit, times, days and months; `correction_facts`),
  and a training example whose assistant turn is the correction;
- else more up than down votes on an answer -> an eval case expecting "answer" with the reply's
  sources as expected_sources, and a training example whose assistant turn is the reply.
Other rated replies (down without a correction) are counted as `unlabelled`.

Eval cases follow DESIGN.md's eval format (`eval.jsonl`, loadable by
`ragbot.tune.evaluation.load_cases`, runnable with `ragbot eval`). Training examples are the
chat messages `ragbot.chat.prompts.build_prompt` builds for the question and the passages
retrieved for it from the KB (the reply's cited chunks first, so its [n] citations still point
at the right passages), plus the assistant turn; they are written as train/validation/test.jsonl
records of `ragbot data prepare` (messages, intent, conversation_id, source), split by
`ragbot.tune.data.clean.split` (grouped by session), so `ragbot finetune OUT_DIR` trains on them,
and the files can be concatenated with `data prepare` output. Without a KB no training example
is written. The conversation text (questions, replies, corrections) is PII-scrubbed; the KB
passages in the prompts are kept as the model sees them at inference. Duplicates are removed
with `clean.dedup_exact` (eval cases and examples) and `clean.dedup_near` (examples, on question
+ answer). report.json holds the counts.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ragbot.state.turnlog import TurnRecord, scrub_text
from ragbot.tune.data.io import Example

_FACT = re.compile(
    r"\$\s?\d[\d,]*(?:\.\d+)?|\b\d{1,2}(?::\d{2})?\s?(?:[ap]\.?m\.?)(?![a-z])|"
    r"\b\d[\d,.]*\s?(?:%|percent|days?|weeks?|months?|years?|hours?|minutes?|lbs?|pounds?|feet|ft|"
    r"dollars?|bedrooms?|spots?|cars?)\b|\b\d[\d,.]*(?:st|nd|rd|th)\b|"
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|"
    r"july|august|september|october|november|december)\b|\b\d[\d,.]*\b", re.I)
_PLACEHOLDER = re.compile(r"<[A-Z]+>")


@dataclass(frozen=True)
class ExportReport:
    """Counts of one export. out_dir: where eval.jsonl, train/validation/test.jsonl and
    report.json were written; counts: rated replies, eval cases per expected decision, examples
    per intent, duplicates dropped, unlabelled replies, PII placeholders in the written text."""

    out_dir: str
    counts: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": self.out_dir, "counts": dict(self.counts), "seconds": round(self.seconds, 3)}


def correction_facts(text: str, max_facts: int = 5) -> tuple[str, ...]:
    """The checkable facts of a correction, in order, distinct: dollar amounts, times, numbers
    with their unit, ordinals, day and month names, other numbers; without any of those, its
    two longest content words (>= 6 letters). PII placeholders never."""
    text = _PLACEHOLDER.sub(" ", text)
    out: list[str] = []
    for m in _FACT.finditer(text):
        fact = " ".join(m.group(0).split()).rstrip(".,")
        if fact and not any(fact.lower() in f.lower() for f in out):
            out.append(fact)
    if not out:
        words = dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z]{6,}", text))
        out = sorted(words, key=lambda w: -len(w))[:2]
    return tuple(out[:max_facts])


def _labels(pairs) -> dict[str, tuple[TurnRecord, str, str | None]]:
    """message_id -> (turn, label, correction) with label handoff | correction | up."""
    by_msg: dict[str, list] = defaultdict(list)
    turns: dict[str, TurnRecord] = {}
    for fb, turn in pairs:
        by_msg[fb.message_id].append(fb)
        turns[fb.message_id] = turn
    out = {}
    for mid, fbs in by_msg.items():
        turn = turns[mid]
        corrections = [f.correction for f in fbs if f.correction]
        ups, downs = sum(f.rating == "up" for f in fbs), sum(f.rating == "down" for f in fbs)
        if any(f.rating == "down" and f.reason == "should_handoff" for f in fbs):
            out[mid] = (turn, "handoff", None)
        elif corrections:
            out[mid] = (turn, "correction", scrub_text(corrections[-1]))
        elif ups > downs and turn.decision == "answer":
            out[mid] = (turn, "up", None)
        else:
            out[mid] = (turn, "unlabelled", None)
    return out


def _case(turn: TurnRecord, label: str, correction: str | None) -> dict:
    case: dict[str, Any] = {"id": f"fb-{turn.message_id}", "question": scrub_text(turn.question)}
    if turn.scope:
        case["scope"] = dict(turn.scope)
    if label == "handoff":
        case["expected_decision"] = "handoff"
    else:
        case["expected_decision"] = "answer"
        if label == "correction":
            facts = correction_facts(correction or "")
            if facts:
                case["must_include"] = list(facts)
        else:
            case["expected_sources"] = list(dict.fromkeys(s["source"] for s in turn.sources if s.get("source")))
    return case


def _as_example(obj: dict, conv: str, source: str, intent: str | None = None) -> Example:
    return Example(conv, ({"role": "user", "content": obj["question"]},
                          {"role": "assistant", "content": json.dumps(obj, sort_keys=True)}), intent, source)


def _passages(kb, turn: TurnRecord, k: int) -> list:
    """The reply's cited chunks (in citation order) then the best other hits, k at most."""
    hits = kb.search(turn.question, k=max(4 * k, 12), scope=dict(turn.scope) or None, include_unscoped=True)
    by_id = {h.chunk.chunk_id: h.chunk for h in hits}
    cited = [by_id[s["chunk_id"]] for s in turn.sources if s.get("chunk_id") in by_id]
    rest = [h.chunk for h in hits if h.chunk not in cited]
    return (cited + rest)[:max(k, len(cited))]


def _examples(labels, kb, prompt_config, count_tokens, k: int) -> list[tuple[dict, Example]]:
    from ragbot.chat import prompts

    out = []
    for mid, (turn, label, correction) in sorted(labels.items()):
        if label not in ("correction", "up"):
            continue
        question = scrub_text(turn.question)
        answer = correction if label == "correction" else scrub_text(turn.reply)
        prompt = prompts.build_prompt(question, _passages(kb, turn, k), [], prompt_config, count_tokens)
        msgs = [dict(m) for m in prompt.messages]  # the question is scrubbed; passages stay as the model sees them
        intent = "feedback_correction" if label == "correction" else "feedback_up"
        rec = {"messages": msgs + [{"role": "assistant", "content": answer}], "intent": intent,
               "conversation_id": f"fb:{turn.session_id}", "source": f"feedback:{mid}"}
        key = Example(rec["conversation_id"], ({"role": "user", "content": question},
                                               {"role": "assistant", "content": answer}), intent, rec["source"])
        out.append((rec, key))
    return out


def _write_jsonl(path: Path, rows) -> None:
    from ragbot.util import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def export_feedback(turnlog, feedback, out_dir: str | Path, kb=None, prompt_config=None,
                    count_tokens: Callable[[str], int] | None = None, k: int = 3, since: float | None = None,
                    near_dup_ratio: float | None = 95.0, seed: int = 13) -> ExportReport:
    """Write eval.jsonl, train/validation/test.jsonl and report.json to `out_dir` (see the
    module docstring). kb: the KnowledgeBase for training prompts (None: no training examples);
    prompt_config: the bot's PromptConfig (default PromptConfig()); count_tokens: the
    generator's token counter (default: the bundled GGUF's tokenizer); k: passages per prompt
    (RetrievalConfig.k_prompt). Returns an ExportReport; raises InputError for bad arguments."""
    from ragbot.tune.data.clean import dedup_exact, dedup_near, split

    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = _labels(feedback.with_turns(since=since))
    cases = [_case(t, lab, corr) for _, (t, lab, corr) in sorted(labels.items()) if lab != "unlabelled"]
    kept, case_dups = dedup_exact([_as_example({k: v for k, v in c.items() if k != "id"}, c["id"], c["id"])
                                   for c in cases])
    keep_ids = {e.source for e in kept}
    cases = [c for c in cases if c["id"] in keep_ids]
    _write_jsonl(out / "eval.jsonl", cases)
    counts: dict[str, Any] = {"rated_replies": len(labels), "eval_cases": len(cases), "eval_duplicates": case_dups,
                              "unlabelled": sum(lab == "unlabelled" for _, lab, _ in labels.values())}
    for c in cases:
        counts[f"eval_{c['expected_decision']}"] = counts.get(f"eval_{c['expected_decision']}", 0) + 1
    examples = []
    if kb is not None:
        examples, counts["example_duplicates"] = _dedup(_examples(labels, kb, _prompt_config(prompt_config),
                                                                   count_tokens or _counter(), k),
                                                        dedup_exact, dedup_near, near_dup_ratio)
    parts = split([key for _, key in examples], (0.8, 0.1, 0.1), seed=seed) if examples else ([], [], [])
    by_source = {key.source: rec for rec, key in examples}
    for name, part in zip(("train", "validation", "test"), parts):
        _write_jsonl(out / f"{name}.jsonl", [by_source[e.source] for e in part])
        counts[f"{name}_examples"] = len(part)
    counts["training_examples"] = len(examples)
    counts["training_skipped"] = "no knowledge base given" if kb is None else None
    text = (out / "eval.jsonl").read_text(encoding="utf-8") + "".join(json.dumps(r) for r, _ in examples)
    counts["pii_placeholders"] = len(re.findall(r"<(?:EMAIL|PHONE|CARD|SSN|IBAN|ADDRESS|PERSON)>", text))
    report = ExportReport(str(out), counts, time.perf_counter() - t0)
    from ragbot.util import atomic_write_text

    atomic_write_text(out / "report.json", json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return report


def _dedup(pairs, dedup_exact, dedup_near, ratio) -> tuple[list, int]:
    keys = [key for _, key in pairs]
    kept, n_exact = dedup_exact(keys)
    dropped_near = 0
    if ratio is not None and kept:
        kept2, near = dedup_near(kept, ratio)
        dropped_near, kept = len(near), kept2
    ids = {k.source for k in kept}
    return [(r, k) for r, k in pairs if k.source in ids], n_exact + dropped_near


def _prompt_config(pc):
    if pc is not None:
        return pc
    from ragbot.config import PromptConfig

    return PromptConfig()


def _counter() -> Callable[[str], int]:
    from ragbot.config import GeneratorConfig
    from ragbot.generators.llama import LlamaCppGenerator

    return LlamaCppGenerator(GeneratorConfig()).count_tokens


__all__ = ["ExportReport", "correction_facts", "export_feedback"]
