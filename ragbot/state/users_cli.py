"""CLI for users' saved preferences, mounted by ragbot.cli as `ragbot users`:

    ragbot users show USER_ID --kb DIR [--json]     # the saved preferences, each with the message that stated it
    ragbot users forget USER_ID --kb DIR [--json]   # delete them all
    ragbot users list --kb DIR [--json]             # user ids with saved preferences

`--kb` is the knowledge-base directory (its state.sqlite) or a postgresql:// KB. `--json` prints one
JSON object on stdout; errors print `error: ...` on stderr, exit code 2.
"""

from __future__ import annotations

from typing import Optional

import typer

from ragbot.cli_common import CONFIG_OPT, JSON_OPT, KB_OPT, emit, handle_errors, open_state

users_app = typer.Typer(help="Users' saved preferences (budget, bedrooms, pets, city, language, contact).",
                        no_args_is_help=True, add_completion=False)


def _store(kb: str, config: str | None = None):
    from ragbot.state.users import UserStore

    return UserStore(open_state(kb, config))


@users_app.command("show")
@handle_errors
def show(user_id: str = typer.Argument(..., help="the user id (as in ask --user)"), kb: str = KB_OPT,
         config: Optional[str] = CONFIG_OPT, json_out: bool = JSON_OPT):
    """Print a user's saved preferences, each with the (scrubbed) message that stated it."""
    profile = _store(kb, config).get(user_id)
    if json_out:
        emit(profile.to_dict())
        return
    if not profile.preferences:
        typer.echo(f"user {user_id}: no saved preferences")
        return
    typer.echo(f"user {user_id}:")
    for key, p in profile.preferences.items():
        typer.echo(f"  {key}: {p.value!r}  (said in session {p.session_id}: {p.message!r})")


@users_app.command("forget")
@handle_errors
def forget(user_id: str = typer.Argument(..., help="the user id"), kb: str = KB_OPT,
           config: Optional[str] = CONFIG_OPT, json_out: bool = JSON_OPT):
    """Delete every saved preference of a user."""
    n = _store(kb, config).forget(user_id)
    if json_out:
        emit({"user_id": user_id, "deleted": n})
    else:
        typer.echo(f"user {user_id}: {n} saved preference{'' if n == 1 else 's'} deleted")


@users_app.command("list")
@handle_errors
def list_users(kb: str = KB_OPT, config: Optional[str] = CONFIG_OPT, json_out: bool = JSON_OPT):
    """User ids with saved preferences, most recently updated first."""
    users = _store(kb, config).users()
    if json_out:
        emit({"users": users})
    else:
        typer.echo("\n".join(users) if users else "no user has saved preferences")
