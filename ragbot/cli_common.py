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
