"""Collect real model drafts from the eval runs, for labelling (issue 9: precision of kept drafts).

    .venv/bin/python benchmarks/collect_drafts.py [--work /tmp/ragbot-drafts] [--out eval/drafts.jsonl]
        [--temperatures 0.0,0.7] [--seed 7] [--passages /tmp/ragbot-drafts/passages.jsonl]

For every case of three eval files, each against the knowledge base it is written for:

| file | KB (built or reused under --work) |
|---|---|
| eval/trust_qa.jsonl (tune and heldout) | eval/build_kb.py: knowledge/ + ../shared/corpus, one scope per document |
| knowledge/eval.jsonl | knowledge/ as README.md ingests it (common; oak-street and pine-avenue scoped) |
| ../shared/eval/dev_qa.jsonl | ../shared/corpus leases + bad PDFs + the Columbus listings (tests' `corpus_kb`) |

the turn's own steps run with the real embedder and the bundled SmolLM2 (`Bot.open(kb_dir)`,
`bot.turn_context()`), as `ragbot.tune.calibration.record_signals` runs them: understand ->
retrieve -> disambiguate -> fast_path, and, when the model would run (something retrieved, no FAQ
matched, no intent or urgency handoff), generate -> verify. Each draft becomes one JSON line of
`--out` (DraftRecord.to_dict): case id, file, split, group, question, raw and trimmed draft, best
quote, passage sources and the full `GateSignals.to_dict()`. The gate's decision is NOT stored:
labels are given by reading the draft (eval/drafts_labelled.jsonl), and benchmarks/draft_precision.py
replays the gate.

Each temperature is one pass over all cases (0.0 = greedy; > 0 samples with the generator's fixed
`--seed`); a sampled draft whose text equals one already recorded for the same case is dropped, so
every record is a distinct draft. Passage texts (third-party document text) are not written into
the repository: `--passages` writes them to a side file outside it, for reading while labelling.

eval/drafts.jsonl (and, with labels added by hand, eval/drafts_labelled.jsonl) was made by these
runs, appended in turn (`--append` drops a draft already recorded for the same case):

    collect_drafts.py --sets knowledge --temperatures 0,0.7
    collect_drafts.py --append --sets trust --temperatures 0
    collect_drafts.py --append --sets trust --split heldout --temperatures 0.7
    collect_drafts.py --append --sets corpus --temperatures 0

Runtime: measured 5-27 s per case with one llama.cpp thread on this project's 2 CPU cores shared
with other jobs (load average 12-19), plus building the KBs on the first run (eval/README.md:
about 6 minutes for the trust KB; the Columbus listings alone took 13 minutes under that load). Exit status 0, or 2 on bad input.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
KNOWLEDGE = REPO / "knowledge"
BUSINESS_NAME = "Harborview Property Management"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class EvalSet:
    """One eval file and the KB it runs against. file: path relative to the repository (or
    absolute); kb: "trust" | "knowledge" | "corpus" (the builders below)."""

    file: str
    kb: str


EVAL_SETS: tuple[EvalSet, ...] = (
    EvalSet("eval/trust_qa.jsonl", "trust"),
    EvalSet("knowledge/eval.jsonl", "knowledge"),
    EvalSet(str(SHARED / "eval" / "dev_qa.jsonl"), "corpus"),
)


@dataclass(frozen=True)
class DraftRecord:
    """One model draft and everything the gate saw about it.

    key: unique "<file stem>:<case id>:t<temperature>"; file: the eval file's name (e.g.
    "trust_qa.jsonl"); split / group: the case's fields ("" when the file has none); temperature:
    sampling temperature of the draft (0.0 = greedy); raw_draft: `Generation.text`; draft: the
    trimmed draft (`Verification.draft`, what the reply would lead with); best_quote:
    `Draft.quotes[0].text` ("" when no quote was selected); quotes: every selected quote's text;
    sources: [{source, page, chunk_id, score}] of the passages the model saw, [n-1] = [n];
    expected_decision / must_include: the case's labels, for reading; signals: `GateSignals.to_dict()`."""

    key: str
    id: str
    file: str
    split: str
    group: str
    question: str
    history: tuple[dict, ...]
    scope: dict
    temperature: float
    raw_draft: str
    draft: str
    best_quote: str
    quotes: tuple[str, ...]
    sources: tuple[dict, ...]
    expected_decision: str
    must_include: tuple[str, ...]
    signals: dict

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("history", "quotes", "sources", "must_include"):
            d[k] = list(d[k])
        return d


def _load_build_kb():
    """eval/build_kb.py as a module (eval/ is not a package)."""
    spec = importlib.util.spec_from_file_location("ragbot_eval_build_kb", REPO / "eval" / "build_kb.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up while being defined
    spec.loader.exec_module(mod)
    return mod


def build_kb(kind: str, work: Path, embedder, corpus: Path = CORPUS, knowledge: Path = KNOWLEDGE,
             log: Callable[[str], None] = print) -> Path:
    """Build (or update; ingest is incremental, so a second run re-embeds nothing) the KB `kind`
    under `work/<kind>-kb` and return its directory. kind: "trust" (eval/build_kb.py),
    "knowledge" (knowledge/ as README.md ingests it) or "corpus" (leases, bad PDFs, Columbus).
    Raises InputError for an unknown kind, FileNotFoundError when a document folder is missing."""
    from ragbot.config import BotConfig
    from ragbot.errors import InputError
    from ragbot.kb import KnowledgeBase

    root = work / f"{kind}-kb"
    t0 = time.perf_counter()
    if kind == "trust":
        _load_build_kb().build(root, corpus, knowledge, log=log)
        return root
    if kind == "knowledge":
        steps = [([knowledge / "common"], None),
                 ([knowledge / "properties" / "oak-street"], {"property": "oak-street"}),
                 ([knowledge / "properties" / "pine-avenue"], {"property": "pine-avenue"})]
    elif kind == "corpus":
        steps = [([corpus / "leases", corpus / "bad_pdfs",
                   corpus / "listings" / "insideairbnb_columbus_oh_2018-07_listings.csv"], None)]
    else:
        raise InputError(f"unknown KB kind {kind!r}; use trust, knowledge or corpus")
    for paths, _ in steps:
        for p in paths:
            if not p.exists():
                raise FileNotFoundError(f"{p} not found: pass --corpus DIR (../shared/corpus) or --knowledge DIR")
    config = BotConfig.load(root) if (root / "config.json").is_file() else BotConfig()
    if kind == "knowledge":
        config.prompt.business_name = BUSINESS_NAME
    config.save(root)
    kb = KnowledgeBase.open(root, config=config.kb, embedder=embedder, create=True)
    for paths, scope in steps:
        kb.ingest(paths, scope=scope)
    kb.close()
    log(f"{kind} KB at {root}: {time.perf_counter() - t0:.1f} s")
    return root


def run_case(bot, case, window: float):
    """The turn's steps for one eval case (calibration.record_signals), keeping the draft.
    Returns (signals, draft, verification); draft and verification are None when the model
    would not run (nothing retrieved, an FAQ matched, or an intent / urgency handoff)."""
    from ragbot.chat.gate import precheck
    from ragbot.chat.steps import (TurnRequest, disambiguate, fast_path, gate_signals, generate, retrieve,
                                   understand, verify)

    ctx = bot.turn_context()
    u = understand(ctx, TurnRequest(case.question, dict(case.scope), tuple(case.history)))
    r = retrieve(ctx, u)
    dis = disambiguate(ctx, u, r, window=window)
    fast = fast_path(ctx, u, r)
    pre = gate_signals(ctx, u, r, dis, fast)
    early = precheck(pre, ctx.config.gate)
    if fast is not None or not r.hits or (early is not None and early.rule.startswith(("intent_", "urgency_"))):
        return pre, None, None
    d = generate(ctx, u, r)
    v = verify(ctx, u, d)
    return gate_signals(ctx, u, r, dis, None, d, v), d, v


def make_record(case, file: str, temperature: float, signals, d, v) -> DraftRecord:
    """The DraftRecord of one generated draft (DraftRecord docstring)."""
    stem = Path(file).stem
    sources = tuple({"source": h.chunk.source, "page": h.chunk.page, "chunk_id": h.chunk.chunk_id,
                     "score": round(float(h.score), 4)} for h in d.passages)
    return DraftRecord(
        key=f"{stem}:{case.id}:t{temperature:g}", id=case.id, file=Path(file).name, split=case.split,
        group=case.group, question=case.question,
        history=tuple({"role": t.role, "content": t.content} for t in case.history), scope=dict(case.scope),
        temperature=float(temperature), raw_draft=d.generation.text, draft=v.draft,
        best_quote=d.quotes[0].text if d.quotes else "", quotes=tuple(q.text for q in d.quotes), sources=sources,
        expected_decision=case.expected_decision, must_include=tuple(case.must_include),
        signals=signals.to_dict())


def passage_entry(record: DraftRecord, d) -> dict:
    """The side-file line for one draft: its key and the passage texts the model saw (plus the
    quote pool), for reading while labelling; never written into the repository."""
    return {"key": record.key, "passages": [{"source": h.chunk.source, "page": h.chunk.page, "text": h.chunk.text}
                                            for h in d.passages],
            "pool": [{"source": h.chunk.source, "page": h.chunk.page, "text": h.chunk.text}
                     for h in d.pool[len(d.passages):]]}


def collect(bot, cases: Sequence, file: str, temperature: float, seen: set,
            window: float) -> Iterator[tuple[DraftRecord, dict]]:
    """Yield (record, passage entry) for every case whose turn generates a draft at `temperature`
    (set on the bot's config for the pass), skipping a draft whose (file, case id, raw text) is in
    `seen` (updated)."""
    bot.config.generator.temperature = float(temperature)
    t0 = time.perf_counter()
    for i, case in enumerate(cases, 1):
        if i % 20 == 0:
            print(f"  {Path(file).name} t={temperature:g}: case {i}/{len(cases)}, "
                  f"{(time.perf_counter() - t0) / i:.1f} s/case", flush=True)
        signals, d, v = run_case(bot, case, window)
        if d is None:
            continue
        ident = (Path(file).name, case.id, d.generation.text)
        if ident in seen:
            continue
        seen.add(ident)
        rec = make_record(case, file, temperature, signals, d, v)
        yield rec, passage_entry(rec, d)


def _already_recorded(path: Path) -> set:
    """(file, case id, raw draft) of every record already in `path` (empty when it does not exist)."""
    if not path.is_file():
        return set()
    recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {(r["file"], r["id"], r["raw_draft"]) for r in recs}


def _parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/ragbot-drafts"), help="where the KBs are built/reused")
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "drafts.jsonl")
    ap.add_argument("--passages", type=Path, default=None,
                    help="side file for passage texts (default: <work>/passages.jsonl); keep it out of the repository")
    ap.add_argument("--temperatures", default="0.0,0.7", help="comma-separated sampling temperatures, one pass each")
    ap.add_argument("--seed", type=int, default=7, help="generator seed (used when temperature > 0)")
    ap.add_argument("--threads", type=int, default=1,
                    help="llama.cpp and torch threads (1 on a shared machine: spinning threads on busy cores collapse "
                         "llama.cpp decoding)")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--knowledge", type=Path, default=KNOWLEDGE)
    ap.add_argument("--sets", default="trust,knowledge,corpus", help="which KB kinds' eval files to run")
    ap.add_argument("--limit", type=int, default=None, help="at most this many cases per file (smoke runs)")
    ap.add_argument("--split", default=None, help="only cases of this split (tune | heldout); files without splits are skipped")
    ap.add_argument("--append", action="store_true",
                    help="add to --out (and the passages file) instead of rewriting it; drafts already there are kept "
                         "and not recorded again")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    from ragbot.bot import Bot
    from ragbot.config import GeneratorConfig
    from ragbot.errors import RagbotError
    from ragbot.generators import LlamaCppGenerator
    from ragbot.kb.embedders import SentenceTransformerEmbedder
    from ragbot.tune.calibration import RECORD_WINDOW
    from ragbot.tune.evaluation import load_cases

    try:
        temps = [float(t) for t in args.temperatures.split(",") if t.strip()]
    except ValueError:
        print(f"error: --temperatures must be comma-separated numbers, got {args.temperatures!r}", file=sys.stderr)
        return 2
    kinds = [k.strip() for k in args.sets.split(",") if k.strip()]
    sets = [s for s in EVAL_SETS if s.kb in kinds]
    args.work.mkdir(parents=True, exist_ok=True)
    passages_path = args.passages or args.work / "passages.jsonl"
    import torch

    torch.set_num_threads(args.threads)
    emb = SentenceTransformerEmbedder()
    gen = LlamaCppGenerator(GeneratorConfig(seed=args.seed, n_threads=args.threads))
    seen = _already_recorded(args.out) if args.append else set()
    mode = "a" if args.append else "w"
    n, t0 = 0, time.perf_counter()
    try:
        with open(args.out, mode, encoding="utf-8") as out, open(passages_path, mode, encoding="utf-8") as side:
            for s in sets:
                path = Path(s.file) if Path(s.file).is_absolute() else REPO / s.file
                cases = [c for c in load_cases(path) if args.split is None or c.split == args.split][: args.limit]
                if not cases:
                    continue
                bot = Bot.open(build_kb(s.kb, args.work, emb, args.corpus, args.knowledge), embedder=emb,
                               generator=gen)
                for temp in temps:
                    for rec, side_entry in collect(bot, cases, s.file, temp, seen, RECORD_WINDOW):
                        out.write(json.dumps(rec.to_dict(), ensure_ascii=False) + "\n")
                        side.write(json.dumps(side_entry, ensure_ascii=False) + "\n")
                        out.flush()
                        side.flush()
                        n += 1
                    print(f"{path.name} t={temp:g}: {n} drafts so far, {time.perf_counter() - t0:.0f} s", flush=True)
    except (RagbotError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {n} drafts to {args.out} (passage texts in {passages_path}) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
