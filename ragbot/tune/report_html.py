"""HTML rendering of `ragbot.tune.report.Report`: one self-contained page, charts drawn with
matplotlib's object API (`matplotlib.figure.Figure`, no pyplot state, no display) and embedded
as base64 PNG; no script, no external resource. Every text is HTML-escaped."""

from __future__ import annotations

import base64
import html
import io
import time
from typing import Sequence

import numpy as np

from ragbot.errors import missing_dependency

_COLORS = {"answer": "#55A868", "clarify": "#DD8452", "handoff": "#C44E52", "up": "#55A868", "down": "#C44E52"}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{margin-bottom:4px} h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.muted{color:#666} .cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 16px;min-width:130px}
.card b{display:block;font-size:24px} img{max-width:100%} table{border-collapse:collapse;width:100%;font-size:14px}
td,th{border-bottom:1px solid #eee;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6} .n{text-align:right;white-space:nowrap} .grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
"""


def _figure(width: float = 6.4, height: float = 3.4):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise missing_dependency("matplotlib", package="matplotlib (pip install 'ragbot[plots]')") from e
    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode("ascii")}">'


def _daily_chart(report):
    """(fig, ax, x) for a chart over the report's days: x holds each day as a date."""
    import datetime as dt

    fig, ax = _figure()
    return fig, ax, [dt.date.fromisoformat(d.day) for d in report.days]


def _daily_png(fig, ax, title: str, legend_loc: str, legend_cols: int = 1) -> str:
    """Finish a `_daily_chart`: title, legend, a date axis with 3-7 ticks and a grid; the PNG."""
    from matplotlib.dates import AutoDateLocator, DateFormatter

    ax.set_title(title)
    ax.legend(loc=legend_loc, ncol=legend_cols)
    ax.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(DateFormatter("%b %d"))
    ax.grid(alpha=0.3)
    return _png(fig)


def _volume(report) -> str:
    fig, ax, x = _daily_chart(report)
    ax.bar(x, [d.turns for d in report.days], color="#4C72B0", alpha=0.55, label="turns")
    ax.plot(x, [d.conversations for d in report.days], color="#222", marker="o", ms=3, label="conversations")
    return _daily_png(fig, ax, "Conversations and turns per day", "upper left")


def _mix(report) -> str:
    fig, ax, x = _daily_chart(report)
    totals = np.array([max(d.turns, 1) for d in report.days], dtype=float)
    shares = {k: np.array([d.decisions.get(k, 0) for d in report.days]) / totals for k in _COLORS if k in
              ("answer", "clarify", "handoff")}
    ax.stackplot(x, *shares.values(), labels=list(shares), colors=[_COLORS[k] for k in shares], alpha=0.85)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of turns")
    return _daily_png(fig, ax, "Decision mix per day", "lower left", legend_cols=3)


def _barh(pairs: Sequence[tuple[str, int]], title: str, color: str, width: float = 5.4) -> str:
    fig, ax = _figure(width, max(2.0, 0.38 * len(pairs) + 1.0))
    labels = [p[0] if len(p[0]) <= 42 else p[0][:41] + "…" for p in pairs][::-1]
    ax.barh(labels, [p[1] for p in pairs][::-1], color=color)
    for i, v in enumerate([p[1] for p in pairs][::-1]):
        ax.text(v, i, f" {v}", va="center", fontsize=9)
    ax.set_title(title)
    ax.margins(x=0.15)
    return _png(fig)


def _latency(report) -> str:
    fig, ax, x = _daily_chart(report)
    ax.plot(x, [d.latency_p50_ms for d in report.days], marker="o", ms=3, label="p50")
    ax.plot(x, [d.latency_p95_ms for d in report.days], marker="o", ms=3, label="p95", color="#C44E52")
    ax.set_yscale("log")
    ax.set_ylabel("ms (log scale)")
    return _daily_png(fig, ax, "Turn latency per day", "center right")


def _thumbs(report) -> str:
    fig, ax, x = _daily_chart(report)
    up = np.array([d.up for d in report.days])
    down = np.array([d.down for d in report.days])
    ax.bar(x, up, color=_COLORS["up"], label="thumbs up")
    ax.bar(x, down, bottom=up, color=_COLORS["down"], label="thumbs down")
    return _daily_png(fig, ax, "Ratings per day", "upper left")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _table(head: Sequence[str], rows: Sequence[Sequence], numeric: Sequence[int] = ()) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f'<td class="n">{_e(c)}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _gaps(report) -> str:
    if not report.gaps:
        return '<p class="muted">No knowledge gaps: no question was handed off as unanswerable or rated down.</p>'
    rows = []
    for i, g in enumerate(report.gaps, 1):
        ex = "<br>".join(_e(q) for q in g.examples)
        why = ", ".join(f"{_e(k)} {v}" for k, v in g.rules.items())
        rows.append((i, g.size, f"<b>{_e(g.suggested)}</b>", ex, why))
    return (_barh([(g.suggested, g.size) for g in report.gaps[:12]], "Knowledge gaps (turns per cluster)", "#8172B3",
                  width=9.0)
            + _table(["#", "turns", "suggested FAQ entry", "example questions", "why"], rows, numeric=(0, 1)))


def _worst(report) -> str:
    if not report.worst:
        return '<p class="muted">No reply was rated down.</p>'
    rows = [(a.down, a.up, _e(a.question), _e(a.reply), ", ".join(f"{_e(k)} {v}" for k, v in a.reasons.items()))
            for a in report.worst]
    return _table(["down", "up", "example question", "reply", "reasons"], rows, numeric=(0, 1))


def render(report) -> str:
    """The HTML page of a Report (see module docstring)."""
    fmt = (lambda t: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t)) if t else "-")
    cards = [("turns", report.turns), ("conversations", report.conversations),
             ("answered", f"{_share(report, 'answer'):.0%}"), ("handed off", f"{_share(report, 'handoff'):.0%}"),
             ("thumbs up", f"{report.up_rate:.0%} of {report.up + report.down}"),
             ("knowledge gaps", len(report.gaps))]
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ragbot report</title>"
             f"<style>{_CSS}</style></head><body><h1>ragbot monitoring report</h1>",
             f'<p class="muted">Turns from {_e(fmt(report.since))} to {_e(fmt(report.until))}; generated '
             f"{_e(fmt(report.generated_at))}. Texts are PII-scrubbed.</p>",
             '<div class="cards">' + "".join(f"<div class=\"card\"><b>{_e(v)}</b>{_e(k)}</div>" for k, v in cards)
             + "</div>"]
    parts += ["<h2>Knowledge gaps</h2><p class=\"muted\">Questions handed off as unanswerable or rated down, "
              "clustered by meaning. Write an FAQ entry for each: <code>ragbot report --gaps-csv gaps.csv</code>, "
              "fill in the answers, then <code>ragbot ingest gaps.csv --kb DIR --type faq</code>.</p>", _gaps(report)]
    if report.days:
        parts += ["<h2>Traffic and decisions</h2>", _grid(_volume(report), _mix(report))]
    parts += ["<h2>Handoffs and sources</h2>", _grid(
        _barh(list(report.handoff_rules[:10]), "Handoff reasons (gate rule)", "#C44E52")
        if report.handoff_rules else '<p class="muted">No handoffs.</p>',
        _barh(list(report.top_sources), "Most cited sources", "#4C72B0")
        if report.top_sources else '<p class="muted">No cited sources.</p>')]
    parts += [f"<h2>Ratings and latency</h2><p>{report.up} thumbs up ({report.up_rate:.0%}), {report.down} thumbs "
              f"down ({report.down_rate:.0%}); down-vote reasons: "
              + (_e(", ".join(f"{k} {v}" for k, v in report.down_reasons.items())) or "none") + "</p>"]
    if report.days:
        parts.append(_grid(_thumbs(report) if (report.up or report.down) else "", _latency(report)))
    parts += ["<h3>Worst-rated answers</h3>", _worst(report)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _grid(left: str, right: str) -> str:
    return f'<div class="grid"><div>{left}</div><div>{right}</div></div>'


def _share(report, decision: str) -> float:
    total = sum(d.turns for d in report.days)
    return sum(d.decisions.get(decision, 0) for d in report.days) / total if total else 0.0


__all__ = ["render"]
