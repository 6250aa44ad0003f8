"""`ragbot serve` and `ragbot keys create|list|revoke` (registered by ragbot/cli.py:
`app.command("serve")(serve)` and `app.add_typer(keys_app, name="keys")`)."""

from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

import typer

from ragbot.cli_common import CONFIG_OPT, KB_OPT, handle_errors, open_state


keys_app = typer.Typer(help="API keys of `ragbot serve` (only their SHA-256 hashes are stored).",
                       no_args_is_help=True, add_completion=False)


def _keys(kb: str, config: str | None = None):
    from ragbot.state.keys import KeyStore

    return KeyStore(open_state(kb, config))


def _shown(kb: str) -> str:
    """`kb` as it may be printed: a DSN with its password masked."""
    from ragbot.kb.postgres import is_postgres_url, mask_dsn

    return mask_dsn(kb) if is_postgres_url(kb) else kb


@keys_app.command("create")
@handle_errors
def keys_create(kb: str = KB_OPT,
                role: str = typer.Option(..., "--role", help="client (widget, /v1), agent (inbox) or admin"),
                scope: Optional[List[str]] = typer.Option(None, "--scope", help="key=value the key is limited to, repeatable"),
                origin: Optional[List[str]] = typer.Option(None, "--origin", help="web origin allowed by CORS, repeatable"),
                name: Optional[str] = typer.Option(None, "--name", help="a label for keys list and logs"),
                config: Optional[str] = CONFIG_OPT,
                json_out: bool = typer.Option(False, "--json", help="print one JSON object")):
    """Create a key and print it once (it cannot be shown again)."""
    from ragbot.kb.scope import parse_scope_args

    created = _keys(kb, config).create(role, scope=parse_scope_args(scope), origins=origin or (), name=name)
    if json_out:
        sys.stdout.write(json.dumps(created.to_dict()) + "\n")
        return
    r = created.record
    typer.echo(f"{created.key}\n\nThis is the only time the key is shown; store it now.\n"
               f"id {r.key_id}  name {r.name!r}  role {r.role}  scope {dict(r.scope) or '-'}  "
               f"origins {', '.join(r.origins) or '-'}")


@keys_app.command("list")
@handle_errors
def keys_list(kb: str = KB_OPT, config: Optional[str] = CONFIG_OPT,
              json_out: bool = typer.Option(False, "--json", help="print one JSON object")):
    """List keys (never the secrets)."""
    keys = _keys(kb, config).list()
    if json_out:
        sys.stdout.write(json.dumps({"keys": [k.to_dict() for k in keys]}) + "\n")
        return
    if not keys:
        typer.echo("no keys: `ragbot serve` runs open, on loopback only")
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        typer.echo(f"{k.key_id}  {state:7}  {k.role:6}  {k.name}  scope={dict(k.scope) or '-'}  "
                   f"origins={','.join(k.origins) or '-'}")


@keys_app.command("revoke")
@handle_errors
def keys_revoke(key_id: str = typer.Argument(..., help="the id shown by `ragbot keys list`"), kb: str = KB_OPT,
                config: Optional[str] = CONFIG_OPT):
    """Revoke a key; requests with it get 401 from then on."""
    rec = _keys(kb, config).revoke(key_id)
    typer.echo(f"revoked {rec.key_id} ({rec.name})")


@handle_errors
def serve(kb: str = KB_OPT,
          host: str = typer.Option("127.0.0.1", "--host", help="address to bind (loopback only while no keys exist)"),
          port: int = typer.Option(8000, "--port"),
          workers: int = typer.Option(1, "--workers", help="worker processes; each loads the models once"),
          models: int = typer.Option(1, "--models", help="model instances per worker"),
          queue: int = typer.Option(8, "--queue", help="model turns that may wait per worker; more get 503"),
          demo: bool = typer.Option(False, "--demo", help="serve a demo page with the widget at /"),
          webhook: Optional[str] = typer.Option(None, "--webhook", help="POST each new ticket here (signed JSON)"),
          webhook_secret: str = typer.Option("", "--webhook-secret", envvar="RAGBOT_WEBHOOK_SECRET",
                                             help="HMAC key of the X-Ragbot-Signature header"),
          rate_key: int = typer.Option(600, "--rate-key", help="turns per minute per API key"),
          rate_session: int = typer.Option(30, "--rate-session", help="turns per minute per conversation"),
          max_body: int = typer.Option(65536, "--max-body", help="largest request body in bytes"),
          config: Optional[str] = CONFIG_OPT):
    """Serve the HTTP API, the web widget and the agent inbox (docs/http-api.md)."""
    try:
        import uvicorn

        from ragbot.server.app import create_app, open_bot
        from ragbot.server.auth import is_loopback
        from ragbot.server.settings import SETTINGS_ENV, ServeSettings
    except ImportError as e:
        from ragbot.errors import missing_dependency

        raise missing_dependency(e.name or "fastapi", extra="serve") from e
    if not _keys(kb, config).has_active():
        if not is_loopback(host):
            typer.echo(f"no API keys exist, so the server binds to 127.0.0.1 only (not {host}); create one with "
                       f"`ragbot keys create --kb {_shown(kb)} --role client` to serve other machines", err=True)
            host = "127.0.0.1"
        typer.echo("no API keys: open mode, loopback only, no Authorization needed", err=True)
    if webhook and not webhook_secret:
        typer.echo("warning: --webhook without --webhook-secret (or $RAGBOT_WEBHOOK_SECRET): receivers cannot "
                   "verify the X-Ragbot-Signature header", err=True)
    settings = ServeSettings(kb=kb, config_file=config, host=host, port=port, workers=workers, demo=demo, webhook_url=webhook,
                             webhook_secret=webhook_secret, model_instances=models, queue_size=queue,
                             rate_key_per_min=rate_key, rate_session_per_min=rate_session, max_body_bytes=max_body)
    opts = dict(host=host, port=port, access_log=False, log_level="warning", timeout_graceful_shutdown=10)
    typer.echo(f"ragbot serving {_shown(kb)} on http://{host}:{port} ({workers} worker(s) x {models} model instance(s))"
               + ("; demo page at /" if demo else ""), err=True)
    if workers == 1:
        bot = open_bot(settings)
        typer.echo(f"llama.cpp threads per instance: {getattr(bot.config.generator, 'n_threads', None)}", err=True)
        uvicorn.run(create_app(bot, settings), **opts)
    else:
        from ragbot.config import BotConfig
        from ragbot.server.pool import default_threads

        if BotConfig.load(kb, config).generator.n_threads is None:  # fail here, not in every worker
            default_threads(len(os.sched_getaffinity(0)), models, workers)
        os.environ[SETTINGS_ENV] = settings.model_dump_json()
        uvicorn.run("ragbot.server.app:app_from_env", factory=True, workers=workers, **opts)
