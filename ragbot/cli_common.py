"""What every `ragbot` sub-command shares: the common options, the error handler (a RagbotError
prints `error: ...` on stderr and exits with code 2) and the one-JSON-object output of `--json`."""

from __future__ import annotations

import functools
import json
import sys

import typer

from ragbot.errors import RagbotError

KB_OPT = typer.Option(..., "--kb", help="knowledge-base directory or postgresql:// DSN")
SCOPE_OPT = typer.Option(None, "--scope", help="key=value scope, repeatable (e.g. property=oak-street)")
JSON_OPT = typer.Option(False, "--json", help="print one JSON object on stdout")
CONFIG_OPT = typer.Option(None, "--config", help="BotConfig JSON file to use instead of the KB's config.json "
                                                 "(default: $RAGBOT_CONFIG; needed for a postgresql:// KB's settings)")


def emit(obj) -> None:
    """Print `obj` as one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def handle_errors(fn):
    """Turn a RagbotError into `error: ...` on stderr and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RagbotError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2)
    return wrapper


def open_state(kb: str, config: str | None = None):
    """The state database of the KB at `kb` (a directory's state.sqlite, or a postgresql:// KB's
    state schema, named by the `--config` file's kb.postgres.schema_name). Raises
    KnowledgeBaseError when `kb` is neither a directory nor a postgresql:// URL."""
    from pathlib import Path

    from ragbot.errors import KnowledgeBaseError
    from ragbot.kb.postgres import is_postgres_url
    from ragbot.state.postgres import open_state_db

    if not is_postgres_url(kb) and not Path(kb).is_dir():
        raise KnowledgeBaseError(f"no knowledge base at {kb}; build one with `ragbot ingest PATH --kb {kb}`")
    return open_state_db(kb, config_file=config)
