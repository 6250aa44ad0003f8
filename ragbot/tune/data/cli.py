"""`ragbot data ...` commands: a typer sub-app, mounted by ragbot.cli as `data`.

`ragbot data prepare IN... --out DIR [--json]`: `--json` prints the report as one JSON object
on stdout; otherwise a short human summary. Errors print `error: ...` on stderr, exit code 2.
"""

from __future__ import annotations

import json
import sys
from typing import List, Optional

import typer

from ragbot.errors import RagbotError

data_app = typer.Typer(help="Prepare conversation data for fine-tuning.", no_args_is_help=True,
                       add_completion=False)


@data_app.callback()
def _data() -> None:
    """Prepare conversation data for fine-tuning (load, scrub PII, clean, dedup, balance, split)."""


@data_app.command("prepare")
def prepare_cmd(inputs: List[str] = typer.Argument(..., help=".csv / .jsonl files or folders"),
                out: str = typer.Option(..., "--out", help="output folder for train/validation/test.jsonl and report.json"),
                json_out: bool = typer.Option(False, "--json", help="print the report as one JSON object on stdout"),
                near_dup_ratio: Optional[float] = typer.Option(None, "--near-dup-ratio", min=0, max=100,
                                                               help="rapidfuzz ratio (0-100) for near-duplicates; default 95"),
                no_near_dedup: bool = typer.Option(False, "--no-near-dedup", help="skip near-duplicate removal"),
                cap_per_class: Optional[int] = typer.Option(None, "--cap-per-class", min=1, help="at most N examples per intent"),
                seed: Optional[int] = typer.Option(None, "--seed", help="seed for balancing and splitting; default 13"),
                system_prompt: Optional[str] = typer.Option(None, "--system-prompt", help="system message to prepend"),
                no_scrub: bool = typer.Option(False, "--no-scrub", help="keep PII (not recommended)"),
                strict: bool = typer.Option(False, "--strict", help="fail on the first bad input row instead of skipping it")):
    """Load, scrub PII, normalise, deduplicate, balance and split conversation data."""
    from pydantic import ValidationError

    from ragbot.tune.data.config import DataConfig
    from ragbot.tune.data.prepare import prepare

    try:
        overrides = {"near_dup_ratio": near_dup_ratio, "cap_per_class": cap_per_class, "seed": seed,
                     "system_prompt": system_prompt}
        config = DataConfig(**{k: v for k, v in overrides.items() if v is not None})
        if no_near_dedup:
            config.near_dup_ratio = None
        if no_scrub:
            config.scrub_pii = False
        report = prepare(inputs, out, config, show_progress=not json_out, strict=strict)
    except (RagbotError, ValidationError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    if json_out:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
        return
    c = report.counts
    typer.echo(f"loaded {c['loaded']} examples ({report.skipped_rows} rows skipped); "
               f"{c['after_length_filter']} after length filter, {c['after_exact_dedup']} after exact dedup, "
               f"{c['after_near_dedup']} after near dedup, {c['after_balance']} after balance")
    pii_txt = ", ".join(f"{t} {n}" for t, n in report.pii.items() if n) or "none"
    typer.echo(f"PII placeholders: {pii_txt} (in {report.pii_examples} examples)")
    typer.echo("splits: " + ", ".join(f"{k} {v['total']}" for k, v in report.splits.items())
               + f"; written to {report.out_dir} ({report.seconds:.1f} s)")
    for s in report.skipped_examples[:5]:
        typer.echo(f"  skipped {s['source']}: {s['reason']}")
