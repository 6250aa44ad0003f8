"""PNG plots of an eval result (`ragbot eval FILE --kb DIR --plots DIR`).

`write_eval_plots(result, out_dir, gate_config)` takes the dict `evaluation.run_eval` returns
({"metrics": {...}, "cases": [CaseResult fields, ...]}) and writes four files:

  confusion.png       decision confusion matrix, rows expected, columns predicted, cells annotated
                      with the count and the share of the row
  confidence.png      histogram of Reply.confidence (the gate's confidence in the decision it
                      returned, 0..1), correct and incorrect decisions stacked
  risk_coverage.png   selective-answering curve, see below
  latency.png         per-case stacked latency by stage (retrieve, prefill, decode, other; the
                      axis is cut at 2 x p95 and longer bars are labelled) and a box plot per
                      stage (log axis) with p50 / p95 under each box, in seconds

Risk-coverage: only the cases the bot ANSWERED take part. Each has an answer score: recomputed
with `gate.answer_score(signals, gate_config)` when a gate config and the recorded signals are
given (the very number the gate compares with `min_answer_confidence`), else Reply.confidence
(which equals the answer score for generated answers, and 0.5 + 0.5 r for FAQ answers). The
sweep is a threshold t on that score: a case stays answered when score >= t, otherwise it would
be handed off. For every t (each distinct score) the plot shows coverage = answered-and-kept /
all cases (x) against risk = share of the kept answers that are wrong (y), with two meanings of
wrong: the case was not expected to be answered, and (dashed) that, or the answer lacks a
must_include fact. Raising the threshold only removes answers, so the curve is exact for
thresholds at or above the one the run used; lower thresholds would need the handed-off cases'
replies, which the run does not have (use `ragbot calibrate` for the full replay).

matplotlib is imported lazily with the Agg backend (no display needed); install it with the
`plots` extra (pip install 'ragbot[plots]'), else MissingDependencyError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ragbot.errors import InputError, missing_dependency

DECISIONS = ("answer", "clarify", "handoff")
STAGES = ("retrieve", "prefill", "decode")
_STAGE_COLORS = {"retrieve": "#4C72B0", "prefill": "#DD8452", "decode": "#55A868", "other": "#B0B0B0"}


def _pyplot():
    try:
        import matplotlib
    except ImportError as e:
        raise missing_dependency("matplotlib", package="matplotlib (pip install 'ragbot[plots]')") from e
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11, "axes.titlesize": 13, "axes.labelsize": 11, "legend.fontsize": 10,
                         "figure.dpi": 110, "savefig.bbox": "tight"})
    return plt


def _cases(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    cases = result.get("cases") if isinstance(result, Mapping) else None
    if not isinstance(cases, Sequence) or not cases:
        raise InputError("write_eval_plots: the result has no cases; pass the dict returned by run_eval")
    for i, c in enumerate(cases):
        for key in ("expected", "predicted", "confidence"):
            if key not in c:
                raise InputError(f"write_eval_plots: case {i} ({c.get('id', '?')}) has no {key!r} field")
    return list(cases)


def plot_confusion(plt, cases, path: Path) -> Path:
    m = np.zeros((3, 3), dtype=int)
    for c in cases:
        m[DECISIONS.index(c["expected"]), DECISIONS.index(c["predicted"])] += 1
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m, dtype=float), where=rows > 0)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(3):
        for j in range(3):
            ax.text(j, i, f"{m[i, j]}\n({share[i, j]:.0%})", ha="center", va="center", fontsize=12,
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(3), DECISIONS)
    ax.set_yticks(range(3), DECISIONS)
    ax.set_xlabel("predicted decision")
    ax.set_ylabel("expected decision")
    acc = np.trace(m) / max(m.sum(), 1)
    ax.set_title(f"Decisions: accuracy {acc:.0%} ({np.trace(m)}/{m.sum()} cases)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the expected row")
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_confidence(plt, cases, path: Path) -> Path:
    ok = [float(c["confidence"]) for c in cases if c["expected"] == c["predicted"]]
    bad = [float(c["confidence"]) for c in cases if c["expected"] != c["predicted"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    bins = np.linspace(0, 1, 21)
    ax.hist([ok, bad], bins=bins, stacked=True, color=["#55A868", "#C44E52"],
            label=[f"correct decision (n={len(ok)})", f"incorrect decision (n={len(bad)})"], edgecolor="white")
    ax.set_xlim(0, 1)
    ax.set_xlabel("gate confidence in its decision (0..1)")
    ax.set_ylabel("cases")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Confidence of correct and incorrect decisions")
    ax.legend(loc="upper left")
    fig.savefig(path)
    plt.close(fig)
    return path


def answer_scores(cases, gate_config=None) -> list[float]:
    """The answer score per case (see module docstring): gate.answer_score from the recorded
    signals under `gate_config` when both are present, else the case's confidence."""
    out = []
    for c in cases:
        score = None
        if gate_config is not None and c.get("signals"):
            from ragbot.tune.evaluation import gate_signals_from_dict
            from ragbot.chat.gate import answer_score

            score = answer_score(gate_signals_from_dict(c["signals"]), gate_config)
        out.append(float(c["confidence"]) if score is None else float(score))
    return out


def risk_coverage(cases, gate_config=None) -> dict[str, np.ndarray]:
    """Sweep a threshold over the answered cases' answer scores (module docstring). Returns
    arrays sorted by threshold, highest first: threshold, coverage (share of ALL cases answered),
    risk (share of kept answers not expected to be answered), risk_facts (that, or a missing
    must_include fact). Empty arrays when nothing was answered."""
    answered = [c for c in cases if c["predicted"] == "answer"]
    if not answered:
        return {k: np.zeros(0) for k in ("threshold", "coverage", "risk", "risk_facts")}
    scores = np.array(answer_scores(answered, gate_config))
    wrong = np.array([c["expected"] != "answer" for c in answered], dtype=float)
    wrong_f = np.array([c["expected"] != "answer" or c.get("facts_found", 0) < c.get("facts_total", 0)
                        for c in answered], dtype=float)
    order = np.argsort(-scores, kind="stable")
    s, w, wf = scores[order], wrong[order], wrong_f[order]
    kept = np.arange(1, len(s) + 1)
    last = np.r_[s[1:] != s[:-1], True]  # ties: a threshold keeps all cases with the same score
    return {"threshold": s[last], "coverage": (kept / len(cases))[last],
            "risk": (np.cumsum(w) / kept)[last], "risk_facts": (np.cumsum(wf) / kept)[last]}


def plot_risk_coverage(plt, cases, path: Path, gate_config=None) -> Path:
    rc = risk_coverage(cases, gate_config)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if rc["coverage"].size:
        ax.step(rc["coverage"], rc["risk"], where="post", marker="o", color="#4C72B0",
                label="wrong = should not have answered")
        ax.step(rc["coverage"], rc["risk_facts"], where="post", marker=".", ls="--", color="#C44E52",
                label="wrong = that, or a must_include fact missing")
        last_x = -1.0
        for x, y, t in zip(rc["coverage"], rc["risk_facts"], rc["threshold"]):
            if x - last_x >= 0.1:  # labels at least 0.1 coverage apart, so they never overlap
                ax.annotate(f"t={t:.2f}", (x, y), textcoords="offset points", xytext=(2, -14), fontsize=9,
                            color="#555555")
                last_x = x
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    else:
        ax.text(0.5, 0.5, "no case was answered", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(-0.04, 1.08)
    ax.set_xlabel("coverage (share of all cases answered)")
    ax.set_ylabel("risk (share of kept answers that are wrong)")
    what = "gate answer score" if gate_config is not None else "reply confidence"
    ax.set_title(f"Risk vs coverage, sweeping a threshold on the {what}\n(t = threshold; answered cases with score >= t are kept)", fontsize=12)
    ax.grid(alpha=0.3)
    fig.savefig(path)
    plt.close(fig)
    return path


def latency_table(cases) -> dict[str, np.ndarray]:
    """Per-case seconds for retrieve, prefill, decode, other (= total minus those three, >= 0)
    and total; missing stages count as 0."""
    t = {s: np.array([float(c.get("timings_ms", {}).get(s, 0.0)) / 1000 for c in cases]) for s in STAGES}
    total = np.array([float(c.get("timings_ms", {}).get("total", c.get("latency_ms", 0.0))) / 1000 for c in cases])
    t["other"] = np.maximum(total - sum(t[s] for s in STAGES), 0.0)
    t["total"] = total
    return t


def plot_latency(plt, cases, path: Path) -> Path:
    t = latency_table(cases)
    parts = (*STAGES, "other")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [2.2, 1]})
    order = np.argsort(t["total"])
    x = np.arange(len(order))
    bottom = np.zeros(len(order))
    for s in parts:
        a1.bar(x, t[s][order], bottom=bottom, color=_STAGE_COLORS[s], label=s, width=0.85)
        bottom += t[s][order]
    if len(order) <= 40:
        a1.set_xticks(x, [str(cases[i].get("id", i))[:18] for i in order], rotation=75, ha="right", fontsize=8)
    else:
        a1.set_xlabel("cases, sorted by total latency")
    a1.set_ylabel("latency (s)")
    p50, p95 = np.percentile(t["total"], [50, 95])
    # one stalled turn must not flatten the others: cap the axis at 2 x p95, label the cut bars
    top = max(0.1, float(t["total"].max()))
    cap = min(top, max(2.0 * p95, 0.1)) * 1.1
    a1.set_ylim(0, cap)
    for xi, total in zip(x, t["total"][order]):
        if total > cap:
            a1.annotate(f"{total:.1f} s ↑", (xi, cap), xytext=(0, -12), textcoords="offset points", ha="center",
                        fontsize=8, color="#C44E52")
    a1.set_title(f"Per-case latency by stage (total p50 {p50:.2f} s, p95 {p95:.2f} s)")
    a1.legend(loc="upper left")
    data = [np.maximum(t[s], 1e-4) for s in parts]  # log axis: a 0 ms stage shows at 0.1 ms
    labels = [f"{s}\np50 {np.percentile(t[s], 50):.2f}\np95 {np.percentile(t[s], 95):.2f}" for s in parts]
    a2.boxplot(data, tick_labels=labels, showfliers=True)
    a2.set_yscale("log")
    a2.set_ylabel("latency (s, log)")
    a2.set_title("Stage latency over cases (s)")
    a2.grid(alpha=0.3, axis="y", which="both")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_eval_plots(result: Mapping[str, Any], out_dir, gate_config=None) -> list[Path]:
    """Write confusion.png, confidence.png, risk_coverage.png and latency.png into `out_dir`
    (created if needed) from a `run_eval` result; returns their paths in that order.
    `gate_config`: the GateConfig the run used (for the risk-coverage answer score); None uses
    Reply.confidence. Raises InputError for a result without cases, MissingDependencyError
    without matplotlib."""
    cases = _cases(result)
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [plot_confusion(plt, cases, out / "confusion.png"),
            plot_confidence(plt, cases, out / "confidence.png"),
            plot_risk_coverage(plt, cases, out / "risk_coverage.png", gate_config),
            plot_latency(plt, cases, out / "latency.png")]
