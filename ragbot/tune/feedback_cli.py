"""CLI for the learning loop, mounted by ragbot.cli:

    ragbot feedback add MESSAGE_ID --kb DIR --up|--down [--reason R] [--correction TEXT] [--who NAME]
    ragbot feedback list --kb DIR [--since DATE]
    ragbot feedback approve FEEDBACK_ID --kb DIR [--scope k=v ...] [--author NAME]
    ragbot feedback export --kb DIR --out DIR
    ragbot overrides add --kb DIR --question Q --answer A [--scope k=v ...] [--author NAME]
    ragbot overrides list|history|disable|enable|edit ...
    ragbot report --kb DIR [--since DATE] --out report.html [--gaps-csv gaps.csv]
    ragbot sessions purge --kb DIR --older-than-days N [--mode scrub|drop]
    ragbot sessions export|delete --kb DIR (--session ID | --user ID)

`--json` prints one JSON object on stdout; errors print `error: ...` on stderr, exit code 2.
State lives in the KB directory (state.sqlite, sessions.sqlite, handoffs.jsonl).
"""

from __future__ import annotations

import calendar
import json
import time
from pathlib import Path
from typing import List, Optional

import typer

from ragbot.cli_common import JSON_OPT, SCOPE_OPT, emit, handle_errors
from ragbot.errors import InputError

feedback_app = typer.Typer(help="Ratings and corrections of bot replies.", no_args_is_help=True, add_completion=False)
overrides_app = typer.Typer(help="Curated answers served verbatim before retrieval.", no_args_is_help=True,
                            add_completion=False)
sessions_app = typer.Typer(help="Retention and data-subject requests.", no_args_is_help=True, add_completion=False)

KB_OPT = typer.Option(..., "--kb", help="knowledge-base directory (its state.sqlite holds the state)")


def _stores(kb: str):
    from ragbot.state.db import StateDB
    from ragbot.state.feedback import FeedbackStore
    from ragbot.state.overrides import OverrideStore
    from ragbot.state.turnlog import TurnLog

    if not Path(kb).is_dir():
        raise InputError(f"--kb {kb}: no such directory; pass the knowledge-base directory")
    db = StateDB.for_kb(kb)
    log = TurnLog(db)
    return db, log, FeedbackStore(db, log), OverrideStore(db)


def parse_date(text: str | None) -> float | None:
    """'YYYY-MM-DD' (UTC midnight) or a Unix time -> Unix seconds; None -> None. InputError otherwise."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%d")))
    except ValueError:
        raise InputError(f"--since {text!r}: use a date as YYYY-MM-DD (UTC) or a Unix time") from None


def _scope(items):
    from ragbot.kb.scope import parse_scope_args

    return parse_scope_args(items)


# ---------------------------------------------------------------------- feedback
@feedback_app.command("add")
@handle_errors
def feedback_add(message_id: str = typer.Argument(..., help="the reply's message_id (ask --json prints it)"),
                 kb: str = KB_OPT,
                 up: Optional[bool] = typer.Option(None, "--up/--down", help="thumbs up or thumbs down"),
                 reason: Optional[str] = typer.Option(None, "--reason", help="wrong|incomplete|outdated|rude|should_handoff|other"),
                 correction: Optional[str] = typer.Option(None, "--correction", help="the answer it should have been"),
                 who: Optional[str] = typer.Option(None, "--who", help="who gives the feedback"),
                 json_out: bool = JSON_OPT):
    """Rate a bot reply (and optionally correct it)."""
    if up is None:
        raise InputError("give --up or --down (field 'rating')")
    _, _, fb, _ = _stores(kb)
    item = fb.add(message_id, "up" if up else "down", reason, correction, who)
    emit(item.to_dict()) if json_out else typer.echo(f"feedback {item.feedback_id}: {item.rating} on {message_id}")


@feedback_app.command("list")
@handle_errors
def feedback_list(kb: str = KB_OPT, since: Optional[str] = typer.Option(None, "--since", help="YYYY-MM-DD"),
                  json_out: bool = JSON_OPT):
    """List feedback, oldest first."""
    _, _, fb, _ = _stores(kb)
    items = fb.list(since=parse_date(since))
    if json_out:
        return emit({"feedback": [f.to_dict() for f in items]})
    for f in items:
        typer.echo(f"{f.feedback_id}  {f.rating:<4} {f.reason or '-':<14} {f.message_id}  {f.correction or ''}")


@feedback_app.command("approve")
@handle_errors
def feedback_approve(feedback_id: str = typer.Argument(...), kb: str = KB_OPT, scope: Optional[List[str]] = SCOPE_OPT,
                     author: Optional[str] = typer.Option(None, "--author", help="who approves"),
                     json_out: bool = JSON_OPT):
    """Approve a feedback correction as an override (scope: the turn's unless --scope is given)."""
    _, log, fb, ov = _stores(kb)
    item = ov.approve(fb.get(feedback_id), log, scope=_scope(scope) if scope else None, author=author)
    emit(item.to_dict()) if json_out else typer.echo(f"override {item.override_id} v{item.version} "
                                                      f"{dict(item.scope) or 'all scopes'}: {item.question}")


@feedback_app.command("export")
@handle_errors
def feedback_export(kb: str = KB_OPT, out: str = typer.Option(..., "--out", help="output folder"),
                    since: Optional[str] = typer.Option(None, "--since", help="YYYY-MM-DD"),
                    no_training: bool = typer.Option(False, "--no-training", help="eval cases only (no model needed)"),
                    json_out: bool = JSON_OPT):
    """Write eval.jsonl, train/validation/test.jsonl and report.json from the feedback."""
    from ragbot.tune.feedback_export import export_feedback

    _, log, fb, _ = _stores(kb)
    knowledge, pc, counter, k = None, None, None, 3
    if not no_training:
        from ragbot.config import BotConfig
        from ragbot.generators.llama import LlamaCppGenerator
        from ragbot.kb import KnowledgeBase

        cfg = BotConfig.load(kb)
        knowledge, pc, k = KnowledgeBase.open(kb, config=cfg.kb), cfg.prompt, cfg.retrieval.k_prompt
        counter = LlamaCppGenerator(cfg.generator.model_copy(update={"lora_path": None})).count_tokens
    report = export_feedback(log, fb, out, kb=knowledge, prompt_config=pc, count_tokens=counter, k=k,
                             since=parse_date(since))
    if json_out:
        return emit(report.to_dict())
    c = report.counts
    typer.echo(f"{c['eval_cases']} eval cases, {c['training_examples']} training examples from {c['rated_replies']} "
               f"rated replies -> {report.out_dir}")


# ---------------------------------------------------------------------- overrides
@overrides_app.command("add")
@handle_errors
def overrides_add(kb: str = KB_OPT, question: str = typer.Option(..., "--question"),
                  answer: str = typer.Option(..., "--answer"), scope: Optional[List[str]] = SCOPE_OPT,
                  author: Optional[str] = typer.Option(None, "--author"), json_out: bool = JSON_OPT):
    """Add an override: this answer, verbatim, to this question (and its paraphrases)."""
    _, _, _, ov = _stores(kb)
    item = ov.add(question, answer, _scope(scope), author=author)
    emit(item.to_dict()) if json_out else typer.echo(f"override {item.override_id} added")


@overrides_app.command("list")
@handle_errors
def overrides_list(kb: str = KB_OPT, all_: bool = typer.Option(False, "--all", help="include disabled ones"),
                   json_out: bool = JSON_OPT):
    """List the current version of each override."""
    _, _, _, ov = _stores(kb)
    items = ov.list(include_disabled=all_)
    if json_out:
        return emit({"overrides": [o.to_dict() for o in items]})
    for o in items:
        state = "" if o.active else " (disabled)"
        typer.echo(f"{o.override_id} v{o.version}{state} {dict(o.scope) or 'all scopes'}\n  Q: {o.question}\n  A: {o.answer}")


@overrides_app.command("history")
@handle_errors
def overrides_history(override_id: str = typer.Argument(...), kb: str = KB_OPT, json_out: bool = JSON_OPT):
    """Every version of an override: who changed it and when."""
    _, _, _, ov = _stores(kb)
    items = ov.history(override_id)
    if json_out:
        return emit({"versions": [o.to_dict() for o in items]})
    for o in items:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(o.ts))
        typer.echo(f"v{o.version} {when} by {o.author or '-'} {'active' if o.active else 'disabled'}: {o.answer}")


@overrides_app.command("edit")
@handle_errors
def overrides_edit(override_id: str = typer.Argument(...), kb: str = KB_OPT,
                   question: Optional[str] = typer.Option(None, "--question"),
                   answer: Optional[str] = typer.Option(None, "--answer"), scope: Optional[List[str]] = SCOPE_OPT,
                   author: Optional[str] = typer.Option(None, "--author"), json_out: bool = JSON_OPT):
    """Write a new version with the given fields changed."""
    _, _, _, ov = _stores(kb)
    item = ov.edit(override_id, question, answer, _scope(scope) if scope else None, author=author)
    emit(item.to_dict()) if json_out else typer.echo(f"override {override_id} is now v{item.version}")


def _set_active(override_id: str, kb: str, active: bool, author: str | None, json_out: bool) -> None:
    _, _, _, ov = _stores(kb)
    item = ov.set_active(override_id, active, author=author)
    emit(item.to_dict()) if json_out else typer.echo(
        f"override {override_id} {'enabled' if active else 'disabled'} (v{item.version})")


@overrides_app.command("disable")
@handle_errors
def overrides_disable(override_id: str = typer.Argument(...), kb: str = KB_OPT,
                      author: Optional[str] = typer.Option(None, "--author"), json_out: bool = JSON_OPT):
    """Stop serving an override (kept in the history)."""
    _set_active(override_id, kb, False, author, json_out)


@overrides_app.command("enable")
@handle_errors
def overrides_enable(override_id: str = typer.Argument(...), kb: str = KB_OPT,
                     author: Optional[str] = typer.Option(None, "--author"), json_out: bool = JSON_OPT):
    """Serve a disabled override again."""
    _set_active(override_id, kb, True, author, json_out)


# ---------------------------------------------------------------------- report
@handle_errors
def report_cmd(kb: str = KB_OPT, out: str = typer.Option("report.html", "--out", help="HTML file to write"),
               since: Optional[str] = typer.Option(None, "--since", help="only turns from this date (YYYY-MM-DD, UTC)"),
               gaps_csv: Optional[str] = typer.Option(None, "--gaps-csv", help="also write the knowledge gaps as "
                                                      "question,answer CSV (fill in, then ingest --type faq)"),
               json_out: bool = JSON_OPT):
    """Monitoring report: traffic, decisions, handoffs, ratings, latency, sources, knowledge gaps."""
    from ragbot.config import BotConfig
    from ragbot.kb.embedders import make_embedder
    from ragbot.tune.report import build_report, export_gaps_csv, write_html

    _, log, fb, _ = _stores(kb)
    report = build_report(log, fb, make_embedder(BotConfig.load(kb).kb.embedder), since=parse_date(since))
    path = write_html(report, out)
    if gaps_csv:
        export_gaps_csv(report, gaps_csv)
    if json_out:
        return emit({"out": str(path), "gaps_csv": gaps_csv, "turns": report.turns, "gaps": len(report.gaps)})
    typer.echo(f"{report.turns} turns, {report.conversations} conversations, {len(report.gaps)} knowledge gaps -> {path}")


# ---------------------------------------------------------------------- sessions
def _transcripts(kb: str):
    from ragbot.state.retention import Transcripts

    if not Path(kb).is_dir():
        raise InputError(f"--kb {kb}: no such directory; pass the knowledge-base directory")
    return Transcripts.for_kb(kb)


@sessions_app.command("purge")
@handle_errors
def sessions_purge(kb: str = KB_OPT, older_than_days: float = typer.Option(..., "--older-than-days", min=0),
                   mode: str = typer.Option("scrub", "--mode", help="scrub (replace PII) or drop (delete)"),
                   json_out: bool = JSON_OPT):
    """Scrub or drop conversations idle for more than N days."""
    rep = _transcripts(kb).purge(older_than_days, mode)
    emit(rep.to_dict()) if json_out else typer.echo(f"{rep.action}: {rep.sessions} conversations, rows {dict(rep.rows)}")


@sessions_app.command("export")
@handle_errors
def sessions_export(kb: str = KB_OPT, session: Optional[str] = typer.Option(None, "--session"),
                    user: Optional[str] = typer.Option(None, "--user"),
                    out: Optional[str] = typer.Option(None, "--out", help="JSON file (default: stdout)")):
    """Everything stored about one conversation or user, as JSON."""
    data = _transcripts(kb).export(session_id=session, user_id=user)
    if out:
        Path(out).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        typer.echo(f"{len(data['sessions'])} conversations -> {out}", err=True)
    else:
        emit(data)


@sessions_app.command("delete")
@handle_errors
def sessions_delete(kb: str = KB_OPT, session: Optional[str] = typer.Option(None, "--session"),
                    user: Optional[str] = typer.Option(None, "--user"), json_out: bool = JSON_OPT):
    """Delete one conversation or every conversation of a user, everywhere."""
    rep = _transcripts(kb).delete(session_id=session, user_id=user)
    emit(rep.to_dict()) if json_out else typer.echo(f"deleted {rep.sessions} conversations, rows {dict(rep.rows)}")


__all__ = ["feedback_app", "overrides_app", "parse_date", "report_cmd", "sessions_app"]
