"""`prepare`: the whole data-preparation pipeline behind `ragbot data prepare`.

Steps, in order (the report counts examples after each):
  load -> normalise -> scrub PII -> length filter -> exact dedup -> near dedup -> balance -> split
Normalisation runs before scrubbing so that the PII patterns see NFC text with single spaces,
and before the length filter so that lengths are measured on what is written.

Output in out_dir (each file written to a temporary file in out_dir, then renamed over):
  train.jsonl, validation.jsonl, test.jsonl: one example per line,
      {"messages": [{"role", "content"}...], "intent", "conversation_id", "source"}
  report.json: PrepareReport.to_dict()
"""

from __future__ import annotations

from ragbot.util import atomic_write_text

import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from ragbot.errors import IngestError
from ragbot.tune.data import clean, pii
from ragbot.tune.data.config import DataConfig
from ragbot.tune.data.io import Example, load_examples

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class PrepareReport:
    """What one `prepare` run did.

    counts: examples after each step, in pipeline order: loaded, after_length_filter,
        after_exact_dedup, after_near_dedup, after_balance (normalise and scrub keep counts).
    skipped_rows: total rows the loader could not use; skipped_examples: the first 50 of them
        as {"source", "reason"}.
    dropped_length: {"empty", "too_short", "too_long"} counts.
    pii: placeholders inserted, by type; pii_examples: examples with at least one.
    near_duplicates: the first 50 [kept source, dropped source, ratio].
    splits: {split name: {"total": n, "by_intent": {intent: n}}}; intent None is "null".
    files: {split name or "report": path written}. seconds: wall time.
    """

    inputs: tuple[str, ...]
    out_dir: str
    counts: dict[str, int]
    skipped_rows: int
    skipped_examples: tuple[dict[str, str], ...]
    dropped_length: dict[str, int]
    pii: dict[str, int]
    pii_examples: int
    near_duplicates: tuple[tuple[str, str, float], ...]
    splits: dict[str, dict[str, Any]]
    config: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the `report.json` file and `--json` output)."""
        return {"inputs": list(self.inputs), "out_dir": self.out_dir, "counts": dict(self.counts),
                "skipped_rows": self.skipped_rows, "skipped_examples": list(self.skipped_examples),
                "dropped_length": dict(self.dropped_length), "pii": dict(self.pii),
                "pii_examples": self.pii_examples,
                "near_duplicates": [list(p) for p in self.near_duplicates], "splits": self.splits,
                "config": self.config, "files": dict(self.files), "seconds": round(self.seconds, 3)}


def scrub_examples(examples: Iterable[Example], show_progress: bool = False) -> tuple[list[Example], Counter, int]:
    """Scrub every message content with `pii.scrub`. Returns (examples, placeholder counts by
    type, number of examples changed)."""
    from tqdm.auto import tqdm

    out, counts, changed = [], Counter(), 0
    examples = list(examples)
    for ex in tqdm(examples, desc="scrub PII", unit="ex", disable=not show_progress):
        msgs, n = [], 0
        for m in ex.messages:
            text, spans = pii.scrub(m["content"])
            counts.update(s.type for s in spans)
            n += len(spans)
            msgs.append({"role": m["role"], "content": text})
        changed += n > 0
        out.append(replace(ex, messages=tuple(msgs)) if n else ex)
    return out, counts, changed


def _with_system(ex: Example, system_prompt: str | None) -> Example:
    if not system_prompt or any(m["role"] == "system" for m in ex.messages):
        return ex
    return replace(ex, messages=({"role": "system", "content": system_prompt},) + ex.messages)


def _write_atomic(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _by_intent(examples: Sequence[Example]) -> dict[str, Any]:
    c = Counter("null" if ex.intent is None else ex.intent for ex in examples)
    return {"total": len(examples), "by_intent": dict(sorted(c.items()))}


def prepare(inputs: Sequence[str | Path], out_dir: str | Path, config: DataConfig | None = None,
            show_progress: bool = True, strict: bool = False) -> PrepareReport:
    """Run the pipeline on `inputs` (files or folders, see ragbot.tune.data.io) and write the three
    split files and report.json into `out_dir` (created if missing).

    strict: fail on the first unusable input row instead of skipping it.
    Raises IngestError for unreadable inputs (or a bad row when strict) and when no example
    survives the cleaning steps; OSError when out_dir cannot be written.
    """
    t0 = time.perf_counter()
    config = config or DataConfig()
    out = Path(out_dir)
    loaded = load_examples(inputs, strict=strict)
    counts = {"loaded": len(loaded.examples)}
    examples = [clean.normalise_example(ex) for ex in loaded.examples]
    pii_counts, pii_examples = Counter(), 0
    if config.scrub_pii:
        examples, pii_counts, pii_examples = scrub_examples(examples, show_progress)
    examples, dropped = clean.filter_length(examples, config.min_chars, config.max_chars)
    counts["after_length_filter"] = len(examples)
    examples, _ = clean.dedup_exact(examples)
    counts["after_exact_dedup"] = len(examples)
    pairs: list[tuple[str, str, float]] = []
    if config.near_dup_ratio is not None:
        examples, pairs = clean.dedup_near(examples, config.near_dup_ratio, show_progress=show_progress)
    counts["after_near_dedup"] = len(examples)
    examples = clean.balance(examples, config.cap_per_class, config.seed)
    counts["after_balance"] = len(examples)
    if not examples:
        raise IngestError(", ".join(map(str, inputs)), "no example left after cleaning; check the input "
                                                        "columns and the min_chars/max_chars settings")
    parts = clean.split(examples, config.fractions, config.seed)

    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, part in zip(SPLIT_NAMES, parts):
        path = out / f"{name}.jsonl"
        _write_atomic(path, "".join(json.dumps(_with_system(ex, config.system_prompt).to_dict(),
                                               ensure_ascii=False) + "\n" for ex in part))
        files[name] = str(path)
    files["report"] = str(out / "report.json")
    report = PrepareReport(
        inputs=tuple(str(p) for p in inputs), out_dir=str(out), counts=counts,
        skipped_rows=len(loaded.skipped),
        skipped_examples=tuple({"source": s.source, "reason": s.reason} for s in loaded.skipped[:50]),
        dropped_length={k: dropped.get(k, 0) for k in ("empty", "too_short", "too_long")},
        pii={t: pii_counts.get(t, 0) for t in pii.PII_TYPES}, pii_examples=pii_examples,
        near_duplicates=tuple(pairs[:50]),
        splits={name: _by_intent(part) for name, part in zip(SPLIT_NAMES, parts)},
        config=config.model_dump(mode="json"), files=files, seconds=time.perf_counter() - t0)
    _write_atomic(out / "report.json", json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return report
