"""The monitoring report behind `ragbot report` and `GET /api/report`.

`build_report(turnlog, feedback, embedder, since=None) -> Report` reads the turn log and the
feedback store and computes, per UTC day: conversations (distinct sessions) and turns, the
decision mix (answer / clarify / handoff), latency p50 / p95 (ms); overall: handoff rules,
thumbs up / down (rates over rated replies), the worst-rated answers, the most cited sources,
and the knowledge gaps (`ragbot.tune.gaps`). `write_html(report, path)` renders it as one
self-contained HTML page (matplotlib charts as base64 PNG, no script, no CDN);
`export_gaps_csv(report, path)` writes the gaps as a question,answer CSV to fill in and ingest
with `ragbot ingest --type faq`.

No raw PII: the turn log stores text scrubbed (ragbot.state.turnlog), every text shown here is
scrubbed again, and session and user ids are never shown.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ragbot.state.turnlog import scrub_text
from ragbot.tune.gaps import GAP_DOWN_REASONS, GAP_RULES, GapCluster, cluster_questions

DECISIONS = ("answer", "clarify", "handoff")


@dataclass(frozen=True)
class DayStats:
    """One UTC day. day: "YYYY-MM-DD"; decisions: turns per decision; latency in milliseconds
    (NaN-free: 0.0 on a day without turns); up / down: ratings given that day."""

    day: str
    conversations: int
    turns: int
    decisions: Mapping[str, int]
    latency_p50_ms: float
    latency_p95_ms: float
    up: int = 0
    down: int = 0


@dataclass(frozen=True)
class RatedAnswer:
    """A bot reply text and its ratings: question is an example question it answered (scrubbed),
    reasons counts the down-vote reasons."""

    reply: str
    question: str
    up: int
    down: int
    reasons: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """Everything the report shows. since/until: Unix seconds of the first and last turn
    covered (0.0 when empty); rates in [0, 1] over rated replies (0.0 when none)."""

    generated_at: float
    since: float
    until: float
    turns: int
    conversations: int
    days: tuple[DayStats, ...]
    handoff_rules: tuple[tuple[str, int], ...]
    up: int
    down: int
    up_rate: float
    down_rate: float
    down_reasons: Mapping[str, int]
    worst: tuple[RatedAnswer, ...]
    top_sources: tuple[tuple[str, int], ...]
    gaps: tuple[GapCluster, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (`GET /api/report?format=json`)."""
        from dataclasses import asdict

        return asdict(self)


def _percentile(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else 0.0


def _days(ts: np.ndarray, sessions: Sequence[str], decisions: Sequence[str], lat: np.ndarray,
          ratings: Sequence[tuple[float, str]]) -> tuple[DayStats, ...]:
    if not len(ts):
        return ()
    day_idx = (ts // 86400).astype(np.int64)
    rated: dict[int, Counter] = defaultdict(Counter)
    for t, r in ratings:
        rated[int(t // 86400)][r] += 1
    out = []
    for d in range(int(day_idx.min()), int(day_idx.max()) + 1):
        idx = np.nonzero(day_idx == d)[0]
        dec = Counter(decisions[i] for i in idx)
        out.append(DayStats(day=time.strftime("%Y-%m-%d", time.gmtime(d * 86400)),
                            conversations=len({sessions[i] for i in idx}), turns=int(len(idx)),
                            decisions={k: dec.get(k, 0) for k in DECISIONS},
                            latency_p50_ms=round(_percentile(lat[idx], 50), 1),
                            latency_p95_ms=round(_percentile(lat[idx], 95), 1),
                            up=rated[d]["up"], down=rated[d]["down"]))
    return tuple(out)


def _worst(pairs, top: int) -> tuple[RatedAnswer, ...]:
    by_reply: dict[str, dict] = {}
    for fb, turn in pairs:
        e = by_reply.setdefault(turn.reply, {"q": Counter(), "up": 0, "down": 0, "reasons": Counter()})
        e["q"][turn.question] += 1
        e[fb.rating] += 1
        if fb.rating == "down":
            e["reasons"][fb.reason or "none"] += 1
    rows = [RatedAnswer(reply=scrub_text(r), question=scrub_text(e["q"].most_common(1)[0][0]), up=e["up"],
                        down=e["down"], reasons=dict(e["reasons"].most_common()))
            for r, e in by_reply.items() if e["down"]]
    rows.sort(key=lambda a: (-a.down, -a.down / (a.up + a.down), a.reply))
    return tuple(rows[:top])


def build_report(turnlog, feedback, embedder, since: float | None = None, gap_rules: Sequence[str] = GAP_RULES,
                 gap_distance: float = 0.7, gap_min_size: int = 3, top: int = 10) -> Report:
    """Build the report over turns with ts >= since (Unix seconds; None: all).

    turnlog: ragbot.state.turnlog.TurnLog; feedback: ragbot.state.feedback.FeedbackStore;
    embedder: an Embedder for the gap clustering (the KB's, e.g. all-MiniLM-L6-v2);
    gap_rules: gate rules that mark an unanswered question; gap_distance: cosine distance
    threshold of the clustering (0.7 suits all-MiniLM-L6-v2); gap_min_size: fewest turns a
    reported gap has; top: rows in the ranked lists. Raises MissingDependencyError without
    scikit-learn when there are gap questions."""
    cols = turnlog.columns(("message_id", "session_id", "ts", "question", "decision", "rule", "latency_ms",
                            "sources"), since=since)
    ids = [c[0] for c in cols]
    sessions = [c[1] for c in cols]
    ts = np.array([c[2] for c in cols], dtype=np.float64)
    decisions = [c[4] for c in cols]
    lat = np.array([c[6] for c in cols], dtype=np.float64)
    pairs = feedback.with_turns(since=since)
    logged = set(ids)
    pairs = [(fb, t) for fb, t in pairs if t.message_id in logged]
    ratings = Counter(fb.rating for fb, _ in pairs)
    rated = ratings["up"] + ratings["down"]
    sources: Counter = Counter()
    for c in cols:
        if c[7] != "[]":
            sources.update({s.get("source", "?") for s in json.loads(c[7])})
    down = {t.message_id: fb.reason for fb, t in pairs if fb.rating == "down"}
    items = [(c[3], c[5]) for c in cols if c[5] in gap_rules]
    items += [(c[3], "rated_down") for c in cols if c[5] not in gap_rules and c[0] in down
              and down[c[0]] in GAP_DOWN_REASONS]
    gaps = cluster_questions(items, embedder, distance_threshold=gap_distance, min_size=gap_min_size) if items else []
    gaps = [GapCluster(g.size, scrub_text(g.suggested), tuple(map(scrub_text, g.examples)),
                       tuple(map(scrub_text, g.questions)), g.rules) for g in gaps]
    handoffs = Counter(c[5] or "unknown" for c in cols if c[4] == "handoff")
    return Report(generated_at=time.time(), since=float(ts.min()) if len(ts) else 0.0,
                  until=float(ts.max()) if len(ts) else 0.0, turns=len(cols), conversations=len(set(sessions)),
                  days=_days(ts, sessions, decisions, lat, [(fb.ts, fb.rating) for fb, _ in pairs]),
                  handoff_rules=tuple(handoffs.most_common()), up=ratings["up"], down=ratings["down"],
                  up_rate=ratings["up"] / rated if rated else 0.0, down_rate=ratings["down"] / rated if rated else 0.0,
                  down_reasons=dict(Counter(fb.reason or "none" for fb, _ in pairs if fb.rating == "down").most_common()),
                  worst=_worst(pairs, top), top_sources=tuple(sources.most_common(top)), gaps=tuple(gaps))


def export_gaps_csv(report: Report, path: str | Path) -> Path:
    """Write the gaps as CSV with columns question,answer (answer empty), one row per cluster,
    largest first: fill in the answers (rows left empty are skipped by the loader) and run
    `ragbot ingest FILE --kb DIR --type faq`. Returns the path."""
    import csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["question", "answer"])
        for g in report.gaps:
            w.writerow([scrub_text(g.suggested), ""])
    return path


def write_html(report: Report, path: str | Path) -> Path:
    """Render the report as one self-contained HTML file (charts as base64 PNG). Needs
    matplotlib (MissingDependencyError with the pip command otherwise). Returns the path."""
    from ragbot.tune.report_html import render

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path


__all__ = ["DayStats", "RatedAnswer", "Report", "build_report", "export_gaps_csv", "write_html"]
