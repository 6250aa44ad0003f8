"""Per-turn latency and answer quality: ragbot's Bot against a plain LangChain retrieval chain on
../shared/eval/dev_qa.jsonl, same machine, same run.

Both sides use the same knowledge (leases + Columbus listings; ragbot KB and LangChain FAISS
store cached in benchmarks/.cache), the same embedder (bundled MiniLM), the same GGUF
(SmolLM2-135M-Instruct Q4_1, 2 threads, temperature 0, max 96 new tokens) and the same k = 3
passages in the prompt. The cases alternate between the two systems (ragbot first on even
cases, LangChain first on odd ones) so background load hits both alike.

ragbot: `Bot.ask` through `evaluation.run_eval` (one case per call), default BotConfig (the
KB's config.json if it has one) with generator.n_threads = 2. LangChain: benchmarks/lc_pipeline.py
chain; it has no gate, so it always "answers"; it gets the question only (no history).
Quality: decision accuracy; fact recall with ragbot's rule (evaluation.item_present: one
'|'-alternative of each must_include item, case- and space-insensitive), on the cases expected
AND given an answer, and over all answerable cases (a withheld answer delivers no fact);
must_not_include violations; retrieval hit@3 (expected source among the 3 passages).

    python benchmarks/bench_turn_quality.py   # -> benchmarks/results/turn_quality.{md,json,png} + turn_quality_plots/
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    DEV_QA,
    RESULTS,
    corpus_kb_dir,
    machine,
    pyplot,
    save_figure,
    write_result,
)

K = 3


def _lc_case(chain, retriever, case) -> dict:
    from ragbot.tune.evaluation import item_present

    t = time.perf_counter()
    text = chain.invoke(case.question)
    latency = (time.perf_counter() - t) * 1000
    docs = retriever.invoke(case.question)  # untimed, for hit@k only
    hit = (any(e in str(d.metadata.get("source", "")) for d in docs for e in case.expected_sources)
           if case.expected_sources else None)
    return {"id": case.id, "expected": case.expected_decision, "predicted": "answer",
            "correct": case.expected_decision == "answer", "text": text, "latency_ms": latency,
            "retrieval_hit": hit, "facts_found": sum(item_present(i, text) for i in case.must_include),
            "facts_total": len(case.must_include),
            "violations": [i for i in case.must_not_include if item_present(i, text)]}


def summarise(cases: list[dict]) -> dict:
    """Quality and latency over CaseResult-like dicts (both systems alike)."""
    n = len(cases)
    answerable = [c for c in cases if c["expected"] == "answer"]
    answered_ok = [c for c in answerable if c["predicted"] == "answer"]
    hand = [c for c in cases if c["expected"] == "handoff"]
    hits = [c["retrieval_hit"] for c in cases if c["retrieval_hit"] is not None]
    lat = np.array([c["latency_ms"] for c in cases]) / 1000
    lat_ans = np.array([c["latency_ms"] for c in cases if c["predicted"] == "answer"]) / 1000
    facts_total = sum(c["facts_total"] for c in answerable)
    facts_ok = sum(c["facts_total"] for c in answered_ok)
    return {
        "cases": n,
        "decision_accuracy": sum(c["expected"] == c["predicted"] for c in cases) / n,
        "answered": sum(c["predicted"] == "answer" for c in cases),
        "wrong_answers": sum(c["predicted"] == "answer" and c["expected"] != "answer" for c in cases),
        "handoff_recall": sum(c["predicted"] == "handoff" for c in hand) / len(hand) if hand else None,
        "fact_recall_answered": sum(c["facts_found"] for c in answered_ok) / facts_ok if facts_ok else None,
        "fact_recall_all_answerable": sum(c["facts_found"] for c in answered_ok) / facts_total if facts_total else None,
        "violations": sum(bool(c["violations"]) for c in cases),
        "hit_at_3": sum(hits) / len(hits) if hits else None,
        "latency_s": {"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
                      "mean": float(lat.mean())},
        "latency_answered_s": ({"p50": float(np.percentile(lat_ans, 50)), "p95": float(np.percentile(lat_ans, 95))}
                               if lat_ans.size else None),
    }


def plot(rb: list[dict], lc: list[dict], srb: dict, slc: dict) -> Path:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [1.2, 1]})
    data = [np.array([c["latency_ms"] for c in rb]) / 1000, np.array([c["latency_ms"] for c in lc]) / 1000]
    data = [np.maximum(d, 1e-3) for d in data]  # log axis: instant handoffs show at 1 ms
    a1.boxplot(data, tick_labels=["ragbot", "LangChain"], showfliers=False)
    for i, d in enumerate(data, 1):
        a1.scatter(np.full(d.size, i) + np.linspace(-0.12, 0.12, d.size), d, s=12, alpha=0.6)
        p50, p95 = np.percentile(d, [50, 95])
        a1.annotate(f"p50 {p50:.2f} s\np95 {p95:.2f} s", (i + 0.2, p50), fontsize=9)
    a1.set_yscale("log")
    a1.set_ylabel("per-turn latency (s, log)")
    a1.grid(alpha=0.3, axis="y", which="both")
    a1.set_title(f"Per-turn latency on dev_qa ({len(rb)} questions)")
    names = ["decision\naccuracy", "fact recall\n(answered)", "fact recall\n(all answerable)", "hit@3"]
    keys = ["decision_accuracy", "fact_recall_answered", "fact_recall_all_answerable", "hit_at_3"]
    x = np.arange(len(names))
    for off, s, label, color in ((-0.2, srb, "ragbot", "#4C72B0"), (0.2, slc, "LangChain", "#DD8452")):
        vals = [s[k] or 0.0 for k in keys]
        bars = a2.bar(x + off, vals, width=0.4, label=label, color=color)
        for b, v in zip(bars, vals):
            a2.annotate(f"{v:.2f}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=9,
                        xytext=(0, 2), textcoords="offset points")
    a2.set_xticks(x, names)
    a2.set_ylim(0, 1.3)
    a2.set_ylabel("share (0..1)")
    a2.set_title(f"Quality (wrong answers: ragbot {srb['wrong_answers']}, LangChain {slc['wrong_answers']})")
    a2.legend(loc="upper center", ncol=2)
    fig.tight_layout()
    return save_figure(fig, "turn_quality")


def main(argv=None) -> dict:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N cases (smoke test)")
    args = ap.parse_args(argv)
    from benchmarks import lc_pipeline as lcp
    from ragbot.bot import Bot
    from ragbot.config import BotConfig
    from ragbot.chat.conversation import SessionStore
    from ragbot.tune.evaluation import CaseResult, load_cases, metrics, run_eval
    from ragbot.tune.plots import write_eval_plots

    cases = load_cases(DEV_QA)[: args.limit]
    t = time.perf_counter()
    kb_dir = corpus_kb_dir()
    config = BotConfig.load(kb_dir)
    config.generator.n_threads = 2
    bot = Bot.open(kb_dir, config=config, handlers=[], sessions=SessionStore(":memory:"))
    emb = lcp.embeddings()
    store = lcp.cached_store(emb)
    chain, retriever = lcp.chain(store, lcp.llm(config.generator.max_tokens), k=K), store.as_retriever(search_kwargs={"k": K})
    setup_s = time.perf_counter() - t
    # warm both (model loads are not per-turn latency)
    bot.ask("What is the rent?")
    chain.invoke("What is the rent?")
    rb, lc = [], []
    for i, case in enumerate(cases):
        order = ("rb", "lc") if i % 2 == 0 else ("lc", "rb")
        for who in order:
            if who == "rb":
                rb.append(run_eval(bot, [case], k=K)["cases"][0])
            else:
                lc.append(_lc_case(chain, retriever, case))
        print(f"{i + 1}/{len(cases)} {case.id}: ragbot {rb[-1]['predicted']} {rb[-1]['latency_ms']:.0f} ms, "
              f"langchain {lc[-1]['latency_ms']:.0f} ms", flush=True)
    srb, slc = summarise(rb), summarise(lc)
    result = {"metrics": metrics([CaseResult(**c) for c in rb], k=K), "cases": rb}
    plots = write_eval_plots(result, RESULTS / "turn_quality_plots", config.gate)
    png = plot(rb, lc, srb, slc)
    data = {"machine": machine(), "k": K, "setup_s": setup_s, "ragbot": srb, "langchain": slc,
            "ragbot_metrics": result["metrics"],
            "latency_ratio_p50": srb["latency_s"]["p50"] / slc["latency_s"]["p50"],
            "cases": {"ragbot": rb,  # CaseResult fields, enough to redraw every plot
                      "langchain": [{k: c[k] for k in ("id", "expected", "latency_ms", "facts_found", "facts_total",
                                                        "text")} for c in lc]}}

    def f(x, pct=False):
        return "n/a" if x is None else (f"{x:.0%}" if pct else f"{x:.2f}")
    rows = [("decision accuracy", f(srb["decision_accuracy"], 1), f(slc["decision_accuracy"], 1)),
            ("answered / wrong answers (expected clarify or handoff)", f"{srb['answered']} / {srb['wrong_answers']}",
             f"{slc['answered']} / {slc['wrong_answers']}"),
            ("handoff recall", f(srb["handoff_recall"], 1), f(slc["handoff_recall"], 1)),
            ("fact recall, answered answerable cases", f(srb["fact_recall_answered"], 1), f(slc["fact_recall_answered"], 1)),
            ("facts delivered, all answerable cases", f(srb["fact_recall_all_answerable"], 1),
             f(slc["fact_recall_all_answerable"], 1)),
            ("must_not_include violations", str(srb["violations"]), str(slc["violations"])),
            ("retrieval hit@3", f(srb["hit_at_3"], 1), f(slc["hit_at_3"], 1)),
            ("latency p50 / p95, all turns", f"{srb['latency_s']['p50']:.2f} / {srb['latency_s']['p95']:.2f} s",
             f"{slc['latency_s']['p50']:.2f} / {slc['latency_s']['p95']:.2f} s"),
            ("latency p50 / p95, answered turns",
             "n/a" if not srb["latency_answered_s"] else
             f"{srb['latency_answered_s']['p50']:.2f} / {srb['latency_answered_s']['p95']:.2f} s",
             f"{slc['latency_answered_s']['p50']:.2f} / {slc['latency_answered_s']['p95']:.2f} s")]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    misses = "\n".join(f"- {c['id']}: expected {c['expected']}, ragbot {c['predicted']} ({c['rule']})"
                       for c in rb if not c["correct"]) or "- none"
    md = f"""# Per-turn latency and quality: ragbot against a LangChain retrieval chain

Machine: {data['machine']}. {len(cases)} questions of ../shared/eval/dev_qa.jsonl
({sum(c.expected_decision == "answer" for c in cases)} answerable, {sum(c.expected_decision == "clarify" for c in cases)} ambiguous, {sum(c.expected_decision == "handoff" for c in cases)} handoff); same KB files, embedder, GGUF (SmolLM2-135M-Instruct
Q4_1, 2 threads, temperature 0, max {config.generator.max_tokens} tokens) and k = {K} passages;
cases alternate between the systems. LangChain has no gate and always answers.

| measure | ragbot | LangChain |
|---|---|---|
{table}

ragbot p50 latency / LangChain p50 latency: **{data['latency_ratio_p50']:.2f}**. ragbot's
decisions that differ from the label:
{misses}

![turn quality](turn_quality.png)

ragbot's own eval plots: [confusion](turn_quality_plots/confusion.png),
[confidence](turn_quality_plots/confidence.png), [risk-coverage](turn_quality_plots/risk_coverage.png),
[latency by stage](turn_quality_plots/latency.png).
"""
    write_result("turn_quality", md, data)
    print(md)
    print("written", png, *plots)
    return data


if __name__ == "__main__":
    main()
