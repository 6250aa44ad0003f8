"""The `ragbot` command line: a thin typer shell over KnowledgeBase and Bot.

`--json` prints exactly one JSON object on stdout (contracts in DESIGN.md); human text otherwise.
Errors print `error: ...` on stderr and exit with code 2.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from typing import List, Optional

import typer

from .errors import RagbotError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(help="ragbot: retrieval-augmented answers from your own documents, with a confidence gate.",
                  no_args_is_help=True, add_completion=False)

KB_OPT = typer.Option(..., "--kb", help="knowledge-base directory")
SCOPE_OPT = typer.Option(None, "--scope", help="key=value scope, repeatable (e.g. property=oak-street)")
JSON_OPT = typer.Option(False, "--json", help="print one JSON object on stdout")


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RagbotError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2)
    return wrapper


def _quiet_logs(json_out: bool) -> None:
    if json_out:  # no progress bars at all with --json (stdout stays one object, stderr stays quiet)
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        os.environ["TQDM_DISABLE"] = "1"
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.basicConfig(level=logging.ERROR if json_out else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "urllib3", "pypdf"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


@app.command()
@handle_errors
def ingest(paths: List[str] = typer.Argument(..., help="files or folders"), kb: str = KB_OPT,
           scope: Optional[List[str]] = SCOPE_OPT,
           doc_type: Optional[str] = typer.Option(None, "--type", help="faq|lease|listing|marketing|document (default: by folder name)"),
           prune: bool = typer.Option(False, "--prune", help="remove documents whose files are gone from the given folders"),
           json_out: bool = JSON_OPT):
    """Ingest documents into the knowledge base at --kb (incremental by content hash)."""
    from .kb import KnowledgeBase
    from .store import parse_scope_args

    _quiet_logs(json_out)
    scope_d = parse_scope_args(scope)
    base = KnowledgeBase.open(kb, create=True)
    report = base.ingest(paths, scope=scope_d, doc_type=doc_type, prune=prune, show_progress=not json_out)
    if json_out:
        _emit(report.to_dict())
        return
    typer.echo(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, removed {report.removed} "
               f"files; {report.new_chunks} chunks embedded, {report.chunks} chunks in {kb} ({report.seconds:.1f} s)")
    for s in report.skipped:
        typer.echo(f"  skipped {s.path}: {s.reason}")
    for a, b, r in report.near_duplicates[:20]:
        typer.echo(f"  near-duplicate FAQ ({r:.0f}%): {a} ~ {b}")


@app.command()
@handle_errors
def search(query: str = typer.Argument(...), kb: str = KB_OPT, k: int = typer.Option(5, "-k", "--top-k", min=1),
           scope: Optional[List[str]] = SCOPE_OPT, json_out: bool = JSON_OPT):
    """Show the top-k chunks for QUERY (cosine similarity)."""
    from .kb import KnowledgeBase
    from .store import parse_scope_args

    _quiet_logs(json_out)
    base = KnowledgeBase.open(kb)
    hits = base.search(query, k=k, scope=parse_scope_args(scope))
    if json_out:
        _emit({"query": query, "hits": [h.to_dict() for h in hits]})
        return
    for h in hits:
        page = f" p.{h.chunk.page}" if h.chunk.page else ""
        text = " ".join(h.chunk.text.split())
        typer.echo(f"{h.rank + 1}. {h.score:.3f}  [{h.chunk.doc_type}] {h.chunk.source}{page}\n   {text[:240]}")


from .data.cli import data_app  # noqa: E402  (no heavy imports at module level)

app.add_typer(data_app, name="data", help="prepare conversation logs for fine-tuning")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
