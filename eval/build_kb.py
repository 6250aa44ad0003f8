"""Build the knowledge base that eval/trust_qa.jsonl runs against.

    .venv/bin/python eval/build_kb.py /tmp/trust-kb [--corpus ../shared/corpus] [--knowledge knowledge] [--n-threads 1]
    .venv/bin/ragbot eval eval/trust_qa.jsonl --kb /tmp/trust-kb --json > trust_eval.json

What goes in, and under which scope (README.md in this folder explains why):

- the bundled Harborview example, exactly as README.md's command-line section ingests it:
  knowledge/common without a scope (company-wide FAQ, listings, marketing),
  knowledge/properties/oak-street under property=oak-street,
  knowledge/properties/pine-avenue under property=pine-avenue;
- the four lease PDFs and the two listing files of ../shared/corpus, each under its own
  property scope, named after its file (CORPUS_FILES below). One scope per document keeps a
  question scoped to Oak Street from retrieving the Ontario form or 10,000 UCI rows (an
  unscoped chunk passes every scope filter), and makes an unscoped question whose answer
  differs between documents a clarification between scopes, as between Oak Street and Pine
  Avenue. The corpus's bad PDFs and conversations are not ingested: no case needs them.

The UCI file is ingested whole (10,000 rows, about 35-45 s of embedding on 2 CPU cores), so a
listing the eval names by its city is really among 10,000 others. Building from scratch takes
about 1.5-2 minutes; a second run re-embeds nothing (ingest is incremental by content hash).

Exit status 0 on success, 2 on bad input (missing corpus, a KB directory holding other files).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUSINESS_NAME = "Harborview Property Management"

# (path under the corpus, scope value for key "property"): the value is the file's stem with the
# year, row count and snapshot date left out, '_' -> '-'.
CORPUS_FILES: tuple[tuple[str, str], ...] = (
    ("leases/ontario_residential_tenancy_agreement.pdf", "ontario-residential-tenancy-agreement"),
    ("leases/emeryville_commercial_office_lease_2006.pdf", "emeryville-commercial-office-lease"),
    ("leases/barbados_embassy_residence_lease_2002.pdf", "barbados-embassy-residence-lease"),
    ("leases/sample_apartment_lease_1p.pdf", "sample-apartment-lease"),
    ("listings/insideairbnb_columbus_oh_2018-07_listings.csv", "insideairbnb-columbus-oh"),
    ("listings/uci_apartments_for_rent_10k.csv", "uci-apartments-for-rent"),
)


@dataclass(frozen=True)
class IngestStep:
    """One `KnowledgeBase.ingest` call: the paths and the scope ({} = company-wide)."""

    paths: tuple[Path, ...]
    scope: dict


def plan(corpus: Path, knowledge: Path) -> list[IngestStep]:
    """The ingest calls that build the eval KB, in order. Raises FileNotFoundError naming the
    first missing file or folder (the corpus lives beside the repository in ../shared/corpus)."""
    steps = [IngestStep((knowledge / "common",), {}),
             IngestStep((knowledge / "properties" / "oak-street",), {"property": "oak-street"}),
             IngestStep((knowledge / "properties" / "pine-avenue",), {"property": "pine-avenue"})]
    steps += [IngestStep((corpus / rel,), {"property": value}) for rel, value in CORPUS_FILES]
    for step in steps:
        for p in step.paths:
            if not p.exists():
                raise FileNotFoundError(f"{p} not found: pass --corpus DIR (../shared/corpus) or --knowledge DIR")
    return steps


def _check_no_foreign_files(kb, steps: list[IngestStep]) -> None:
    """Refuse a KB directory that already holds files this plan does not ingest: the eval's
    expectations (which document answers, what is ambiguous) hold only for exactly this KB."""
    from ragbot.errors import InputError

    wanted = [p.resolve() for s in steps for p in s.paths]
    paths = [Path(f["path"] if isinstance(f, dict) else f.path).resolve() for f in kb.files()]  # dict or FileRecord
    foreign = [str(p) for p in paths if not any(p == w or w in p.parents for w in wanted)]
    if foreign:
        raise InputError(f"{kb.root} already holds {len(foreign)} other file(s), e.g. {foreign[0]}; "
                         "build the eval KB into a new, empty directory")


def build(kb_dir: Path, corpus: Path, knowledge: Path, n_threads: int | None = None, log=print) -> list:
    """Ingest every step of `plan` into `kb_dir` (created if needed; BotConfig with the
    Harborview business name, and `generator.n_threads` when given, saved first, as the demo
    does). Returns the IngestReports."""
    from ragbot.config import BotConfig
    from ragbot.kb import KnowledgeBase

    steps = plan(corpus, knowledge)
    config = BotConfig.load(kb_dir) if (kb_dir / "config.json").is_file() else BotConfig()
    config.prompt.business_name = BUSINESS_NAME
    if n_threads is not None:
        config.generator.n_threads = n_threads
    config.save(kb_dir)
    kb = KnowledgeBase.open(kb_dir, config=config, create=True)
    if kb.manifest is not None:
        _check_no_foreign_files(kb, steps)
    reports = []
    for step in steps:
        t0 = time.perf_counter()
        report = kb.ingest(list(step.paths), scope=step.scope or None)
        scope = ",".join(f"{k}={v}" for k, v in step.scope.items()) or "(company-wide)"
        log(f"{', '.join(p.name for p in step.paths)} [{scope}]: added {report.added}, unchanged {report.unchanged}, "
            f"{report.new_chunks} chunks embedded, {report.chunks} in KB, {time.perf_counter() - t0:.1f} s"
            + "".join(f"\n  skipped {s.path}: {s.reason}" for s in report.skipped))
        reports.append(report)
    kb.close()
    return reports


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kb", type=Path, help="knowledge-base directory to create or update (e.g. /tmp/trust-kb)")
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus", help="../shared/corpus")
    ap.add_argument("--knowledge", type=Path, default=REPO / "knowledge", help="the bundled Harborview example")
    ap.add_argument("--n-threads", type=int, default=None,
                    help="llama.cpp threads stored in the KB's config.json (1 on a busy shared machine; default: all cores)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from ragbot.errors import RagbotError

    try:
        t0 = time.perf_counter()
        build(args.kb, args.corpus, args.knowledge, n_threads=args.n_threads)
        print(f"built {args.kb} in {time.perf_counter() - t0:.1f} s")
    except (RagbotError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
