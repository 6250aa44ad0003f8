"""The `ragbot` command line: a thin typer shell over KnowledgeBase and Bot.

`--json` prints exactly one JSON object on stdout (contracts in DESIGN.md); human text otherwise.
Errors print `error: ...` on stderr and exit with code 2.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import List, Optional

import typer

from ragbot.cli_common import CONFIG_OPT, JSON_OPT, KB_OPT, SCOPE_OPT, emit, handle_errors
from ragbot.config import BotConfig

from ragbot.errors import RagbotError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(help="ragbot: retrieval-augmented answers from your own documents, with a confidence gate.",
                  no_args_is_help=True, add_completion=False)




def _quiet_logs(json_out: bool) -> None:
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # "Loading weights" bars of model loads, on every command
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
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
           config: Optional[str] = CONFIG_OPT, json_out: bool = JSON_OPT):
    """Ingest documents into the knowledge base at --kb (incremental by content hash).
    Exits with code 1 when files were given but every one was skipped."""
    from ragbot.kb import KnowledgeBase
    from ragbot.kb.scope import parse_scope_args

    _quiet_logs(json_out)
    scope_d = parse_scope_args(scope)
    base = KnowledgeBase.open(kb, config=BotConfig.load(kb, config).kb, create=True)
    report = base.ingest(paths, scope=scope_d, doc_type=doc_type, prune=prune, show_progress=not json_out)
    all_skipped = bool(report.skipped) and not (report.added or report.updated or report.unchanged or report.removed)
    if json_out:
        emit(report.to_dict())
    else:
        _print_ingest(report, base.storage.location)  # a DSN is shown with its password masked
    if all_skipped:
        typer.echo(f"error: every file was skipped ({len(report.skipped)}); nothing was ingested", err=True)
        raise typer.Exit(1)


def _print_ingest(report, kb: str) -> None:
    typer.echo(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, removed {report.removed} "
               f"files; {report.new_chunks} chunks embedded, {report.chunks} chunks in {kb} ({report.seconds:.1f} s)")
    for s in report.skipped:
        typer.echo(f"  skipped {s.path}: {s.reason}")
    for w in report.warnings:
        typer.echo(f"  malformed {w.path} row {w.row}: {w.reason}")
    for a, b, r in report.near_duplicates[:20]:
        typer.echo(f"  near-duplicate FAQ ({r:.0f}%): {a} ~ {b}")


@app.command()
@handle_errors
def search(query: str = typer.Argument(...), kb: str = KB_OPT, k: int = typer.Option(5, "-k", "--top-k", min=1),
           scope: Optional[List[str]] = SCOPE_OPT, config: Optional[str] = CONFIG_OPT, json_out: bool = JSON_OPT):
    """Show the top-k chunks for QUERY (cosine similarity)."""
    from ragbot.kb import KnowledgeBase
    from ragbot.kb.scope import parse_scope_args

    _quiet_logs(json_out)
    base = KnowledgeBase.open(kb, config=BotConfig.load(kb, config).kb)
    hits = base.search(query, k=k, scope=parse_scope_args(scope))
    if json_out:
        emit({"query": query, "hits": [h.to_dict() for h in hits]})
        return
    for h in hits:
        page = f" p.{h.chunk.page}" if h.chunk.page else ""
        text = " ".join(h.chunk.text.split())
        typer.echo(f"{h.rank + 1}. {h.score:.3f}  [{h.chunk.doc_type}] {h.chunk.source}{page}\n   {text[:240]}")


def _print_reply(reply, streamed: bool = False) -> None:
    if not streamed:
        typer.echo(reply.text)
    srcs = ", ".join(s.source + (f" p.{s.page}" if s.page else "") for s in reply.sources) or "-"
    t = reply.timings_ms
    typer.secho(f"[{reply.decision.value} {reply.confidence:.2f}] {reply.reason}", fg="cyan", err=False)
    typer.echo(f"sources: {srcs} | {t.get('total', 0):.0f} ms | session {reply.session_id}")
    if reply.ticket:
        typer.echo(f"handoff ticket {reply.ticket.ticket_id} ({reply.ticket.urgency})")


@app.command()
@handle_errors
def ask(question: str = typer.Argument(...), kb: str = KB_OPT,
        session: Optional[str] = typer.Option(None, "--session", help="continue this session, or start one under "
                                                                       "this id (1-64 letters, digits, '-', '_')"),
        user: Optional[str] = typer.Option(None, "--user", help="your own user id, linking sessions"),
        scope: Optional[List[str]] = SCOPE_OPT, config: Optional[str] = CONFIG_OPT, json_out: bool = JSON_OPT):
    """Answer one question (answer, clarify or handoff) and print the reply."""
    from ragbot.bot import Bot
    from ragbot.kb.scope import parse_scope_args

    _quiet_logs(json_out)
    bot = Bot.open(kb, config=BotConfig.load(kb, config))
    reply = bot.ask(question, session=session, scope=parse_scope_args(scope) or None, user=user)
    if json_out:
        emit(reply.to_dict())
    else:
        _print_reply(reply)


@app.command()
@handle_errors
def chat(kb: str = KB_OPT, scope: Optional[List[str]] = SCOPE_OPT,
         session: Optional[str] = typer.Option(None, "--session", help="resume this session"),
         config: Optional[str] = CONFIG_OPT):
    """Interactive conversation; streams the verified reply text, then shows decision and sources.
    Commands: /new (new session), /release (end a handoff), /quit."""
    from ragbot.bot import Bot
    from ragbot.kb.scope import parse_scope_args

    _quiet_logs(False)
    bot = Bot.open(kb, config=BotConfig.load(kb, config))
    sid = session or bot.new_session(scope=parse_scope_args(scope))
    typer.echo(f"ragbot chat (session {sid}); you are talking to an AI assistant. /quit to leave.")
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/new":
            sid = bot.new_session(scope=parse_scope_args(scope))
            typer.echo(f"new session {sid}")
            continue
        if line == "/release":
            bot.release(sid)
            typer.echo("session released; the bot answers again")
            continue
        typer.echo("bot> ", nl=False)
        try:
            _chat_turn(bot, line, sid)
        except RagbotError as e:
            typer.echo(f"error: {e}", err=True)


def _chat_turn(bot, line: str, sid: str) -> None:
    """Print one turn's verified text as it streams (Bot.events), then decision and sources."""
    from ragbot.chat.events import ReplyEvent, TokenEvent

    for event in bot.events(line, session=sid):
        if isinstance(event, TokenEvent):
            typer.echo(event.text, nl=False)
        elif isinstance(event, ReplyEvent):
            typer.echo("")
            _print_reply(event.reply, streamed=True)


@app.command("eval")
@handle_errors
def eval_cmd(file: str = typer.Argument(..., help="eval JSONL (DESIGN.md format)"), kb: str = KB_OPT,
             k: int = typer.Option(5, "-k", help="k for retrieval hit@k"), scope: Optional[List[str]] = SCOPE_OPT,
             plots: Optional[str] = typer.Option(None, "--plots", help="write PNG plots into this folder"),
             adapter: Optional[str] = typer.Option(
                 None, "--adapter", help="LoRA adapter GGUF to evaluate instead of the KB config's "
                                         "generator.lora_path; 'none' evaluates the base model"),
             split: Optional[str] = typer.Option(None, "--split", help="only the cases whose \"split\" is this "
                                                                       "(e.g. heldout)"),
             by_group: bool = typer.Option(False, "--by-group", help="also print the metrics of every document group"),
             config_file: Optional[str] = CONFIG_OPT, json_out: bool = JSON_OPT):
    """Run an eval file through the bot: hit@k, decisions, facts, handoffs, emergencies, latency."""
    from ragbot.bot import Bot
    from ragbot.tune.evaluation import load_cases, run_eval
    from ragbot.kb.scope import parse_scope_args

    _quiet_logs(json_out)
    cases = load_cases(file, split=split)
    config = BotConfig.load(kb, config_file)
    if adapter is not None:
        config.generator.lora_path = None if adapter.lower() == "none" else str(Path(adapter).resolve())
    bot = Bot.open(kb, config=config)
    progress = None
    if not json_out:
        from tqdm.auto import tqdm

        def progress(it):
            return tqdm(it, desc="eval", unit="case")
    result = run_eval(bot, cases, k=k, scope=parse_scope_args(scope), progress=progress)
    result["model"] = getattr(bot.generator, "name", type(bot.generator).__name__)
    if plots:
        from ragbot.tune.plots import write_eval_plots

        result["plots"] = [str(p) for p in write_eval_plots(result, plots, bot.config.gate)]
    if json_out:
        emit(result)
        return
    _print_metrics(result["metrics"])
    if by_group:
        for g, gm in result.get("by_group", {}).items():
            typer.echo(f"  {g:28s} n={gm['cases']:3d} decision accuracy {_fmt(gm['decision_accuracy'])} "
                       f"fact recall {_fmt(gm['fact_recall'])} handoff recall {_fmt(gm['handoff_recall'])}")
    for c in result["cases"]:
        if not c["correct"]:
            typer.echo(f"  miss {c['id']}: expected {c['expected']}, got {c['predicted']} ({c['rule']})")


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _print_metrics(m: dict) -> None:
    for key, val in m.items():
        if key == "confusion":
            typer.echo("confusion (rows expected, columns predicted: answer clarify handoff)")
            for e, row in val.items():
                typer.echo(f"  {e:8s} " + " ".join(f"{row[p]:4d}" for p in row))
        elif isinstance(val, dict):
            typer.echo(f"{key}: " + ", ".join(f"{a}={b:.0f}" for a, b in val.items()))
        else:
            typer.echo(f"{key}: {val if val is None or isinstance(val, int) else round(val, 3)}")


@app.command()
@handle_errors
def calibrate(file: str = typer.Argument(..., help="labelled eval JSONL (DESIGN.md format)"), kb: str = KB_OPT,
              folds: int = typer.Option(5, "--folds", min=0, help="cross-validation folds (0 or 1: none)"),
              min_handoff_recall: float = typer.Option(0.9, "--min-handoff-recall", min=0.0, max=1.0,
                                                       help="floor on the share of expected handoffs handed off"),
              save: bool = typer.Option(True, "--save/--no-save", help="store the fitted thresholds in the KB's config.json "
                                                                       "(or the --config file)"),
              force: bool = typer.Option(False, "--force", help="save even when cross-validation says the fit is worse"),
              split: Optional[str] = typer.Option(None, "--split", help="fit only on the cases whose \"split\" is this "
                                                                        "(e.g. tune); report the others with ragbot eval"),
              config: Optional[str] = CONFIG_OPT, json_out: bool = JSON_OPT):
    """Fit the gate thresholds on a labelled set (each case runs once, then the gate is replayed).
    The fit is stored only when its mean held-out accuracy is not below the current thresholds'
    (or with --force)."""
    from ragbot.tune.calibration import calibrate_kb
    from ragbot.tune.evaluation import load_cases

    _quiet_logs(json_out)
    cases = load_cases(file, split=split)
    progress = None
    if not json_out:
        from tqdm.auto import tqdm

        def progress(it):
            return tqdm(it, desc="record", unit="case")
    out = calibrate_kb(kb, cases, folds=folds, min_handoff_recall=min_handoff_recall, save=save, force=force,
                       progress=progress, config_file=config)
    report, saved, why_not = out.pop("_report"), out["saved"], out["not_saved_reason"]
    if json_out:
        emit(out)
        return
    by = "document groups left out one at a time" if all(c.group for c in cases) else "folds"
    typer.echo(f"{report.all_before.n} cases, {report.folds} {by}, handoff recall floor {min_handoff_recall:.2f}")
    typer.echo(f"{'threshold':24s} {'before':>9s} {'after':>9s}")
    for name, (b, a) in report.changes().items():
        typer.echo(f"{name:24s} {b:9.3f} {a:9.3f}" + ("" if abs(a - b) < 1e-9 else "  *"))

    def fmt(x):
        return "n/a" if x is None else f"{x:.3f}"
    if report.folds:
        typer.echo(f"held-out accuracy (mean of folds): before {fmt(report.cv_accuracy_before)}, "
                   f"after {fmt(report.cv_accuracy_after)}")
        typer.echo(f"held-out handoff recall:          before {fmt(report.cv_handoff_recall_before)}, "
                   f"after {fmt(report.cv_handoff_recall_after)}")
    typer.echo(f"all cases (in-sample): accuracy {fmt(report.all_before.accuracy)} -> {fmt(report.all_after.accuracy)}, "
               f"handoff recall {fmt(report.all_before.handoff_recall)} -> {fmt(report.all_after.handoff_recall)}")
    typer.echo(f"saved to {saved}" if saved else f"not saved: {why_not}")


from ragbot.server.cli import keys_app, serve  # noqa: E402  (no heavy imports at module level)
from ragbot.tune.data.cli import data_app  # noqa: E402
from ragbot.state.users_cli import users_app  # noqa: E402
from ragbot.tune.feedback_cli import feedback_app, overrides_app, report_cmd, sessions_app  # noqa: E402
from ragbot.tune.finetune.cli import finetune_cmd  # noqa: E402

app.command("finetune")(finetune_cmd)

app.add_typer(data_app, name="data", help="prepare conversation logs for fine-tuning")
app.command("serve")(serve)
app.add_typer(keys_app, name="keys", help="API keys of the HTTP server (client, agent, admin)")
app.add_typer(feedback_app, name="feedback", help="rate and correct bot replies; export eval and training data")
app.add_typer(overrides_app, name="overrides", help="curated answers served verbatim before retrieval")
app.add_typer(sessions_app, name="sessions", help="retention and data-subject requests")
app.command("report")(report_cmd)
app.add_typer(users_app, name="users", help="users' saved preferences (show, forget, list)")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
