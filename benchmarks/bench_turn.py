"""Turn latency: p50/p95 of a ragbot turn split into retrieve, prefill and decode, with prompt,
cached and answer token counts, against the floor computed from the prefill and decode rates
of the same model measured on the same machine in the same run.

    python benchmarks/bench_turn.py [--kb DIR]   # default: builds a KB of knowledge/ in .cache
Writes benchmarks/results/turn_latency.{md,json,png}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, machine, write_result  # noqa: E402

CACHE = REPO / "benchmarks" / ".cache"


def measure_rates(gen, n_prompt: int = 400, n_decode: int = 64, repeats: int = 3) -> tuple[float, float]:
    """Prefill and decode rates (tokens/s) of the generator's model: a fresh prompt of about
    n_prompt tokens (a unique prefix defeats the prefix cache), greedy decoding of n_decode tokens."""
    prefill, decode = [], []
    filler = " ".join(f"word{i}" for i in range(n_prompt))
    for r in range(repeats):
        msgs = [{"role": "system", "content": f"run {r} {time.time()}"},
                {"role": "user", "content": filler[: n_prompt * 4] + "\nCount from one to one hundred:"}]
        out = gen.generate(msgs, max_tokens=n_decode)
        prefill.append((out.prompt_tokens - out.cached_tokens) / (out.prefill_ms / 1000))
        if out.completion_tokens > 1:
            decode.append((out.completion_tokens - 1) / (out.decode_ms / 1000))
    return float(np.median(prefill)), float(np.median(decode))


def build_kb(kb_dir: Path) -> None:
    from ragbot.config import BotConfig
    from ragbot.kb import KnowledgeBase

    config = BotConfig()
    config.prompt.business_name = "Harborview Property Management"
    config.save(kb_dir)
    kb = KnowledgeBase.open(kb_dir, config=config, create=True)
    kb.ingest([REPO / "knowledge" / "common"])
    kb.ingest([REPO / "knowledge" / "properties" / "oak-street"], scope={"property": "oak-street"})
    kb.ingest([REPO / "knowledge" / "properties" / "pine-avenue"], scope={"property": "pine-avenue"})


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kb", default=None)
    ap.add_argument("--eval", default=str(REPO / "knowledge" / "eval.jsonl"))
    args = ap.parse_args([] if __name__ != "__main__" else None)
    from ragbot.bot import Bot
    from ragbot.tune.evaluation import load_cases

    kb_dir = Path(args.kb) if args.kb else CACHE / "kb-knowledge"
    if not (kb_dir / "manifest.json").exists():
        build_kb(kb_dir)
    bot = Bot.open(kb_dir, handlers=[])
    bot.generator.warm_up()
    bot.kb.embedder.warm_up()
    rate_prefill, rate_decode = measure_rates(bot.generator)
    rows = []
    for case in load_cases(args.eval):
        r = bot.ask(case.question, scope=case.scope or None, history=case.history)
        if "prefill" not in r.timings_ms:  # intents, clarify, FAQ: no model call
            rows.append({"id": case.id, "decision": r.decision.value, "model": False, **r.timings_ms})
            continue
        t = r.timings_ms
        new_tokens = r.tokens["prompt"] - r.tokens["cached"]
        floor = 1000 * (new_tokens / rate_prefill + max(0, r.tokens["completion"] - 1) / rate_decode)
        rows.append({"id": case.id, "decision": r.decision.value, "model": True, **t, **r.tokens,
                     "floor_ms": floor})
    gen_rows = [x for x in rows if x["model"]]

    def pct(key, rows_, q):
        return float(np.percentile([x[key] for x in rows_], q)) if rows_ else float("nan")

    data = {
        "machine": machine(), "cases": len(rows), "model_turns": len(gen_rows),
        "prefill_tokens_per_s": round(rate_prefill, 1), "decode_tokens_per_s": round(rate_decode, 1),
        **{f"{k}_{q}": round(pct(k, gen_rows, q), 1) for k in ("total", "retrieve", "prefill", "decode", "floor_ms")
           for q in (50, 95)},
        **{f"{k}_mean": round(float(np.mean([x[k] for x in gen_rows])), 1) for k in ("prompt", "cached", "completion")},
        "no_model_total_p50": round(pct("total", [x for x in rows if not x["model"]], 50), 1),
        "rows": rows,
    }
    data["generate_over_floor_p50"] = round(
        float(np.median([(x["prefill"] + x["decode"]) / x["floor_ms"] for x in gen_rows])), 3) if gen_rows else None
    md = f"""# Turn latency

Machine: {data['machine']}. KB: knowledge/ (bundled example); questions: {args.eval} ({len(rows)} turns,
{len(gen_rows)} ran the model; the others were decided by intents, clarification or the FAQ fast path).
Model: bundled SmolLM2-135M-Instruct Q4_1 through llama.cpp. Rates measured in this run on fresh prompts:
prefill **{rate_prefill:.0f} tokens/s**, decode **{rate_decode:.0f} tokens/s**.

| per model turn (ms) | p50 | p95 |
|---|---|---|
| total | {data['total_50']:.0f} | {data['total_95']:.0f} |
| retrieve (embed query + FAISS + SQLite) | {data['retrieve_50']:.0f} | {data['retrieve_95']:.0f} |
| prefill | {data['prefill_50']:.0f} | {data['prefill_95']:.0f} |
| decode | {data['decode_50']:.0f} | {data['decode_95']:.0f} |
| floor: (prompt - cached) / prefill rate + answer / decode rate | {data['floor_ms_50']:.0f} | {data['floor_ms_95']:.0f} |

Tokens per model turn (mean): prompt {data['prompt_mean']:.0f}, cached from the previous turn {data['cached_mean']:.0f},
answer {data['completion_mean']:.0f}. Generation time / floor (median): {data['generate_over_floor_p50']}.
Turns without a model call: p50 {data['no_model_total_p50']:.0f} ms.
"""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 4.5))
        ids = [x["id"] for x in gen_rows]
        bottom = np.zeros(len(ids))
        for key, color in (("retrieve", "#4c72b0"), ("prefill", "#dd8452"), ("decode", "#55a868")):
            vals = np.array([x[key] for x in gen_rows])
            ax.bar(ids, vals, bottom=bottom, label=key, color=color)
            bottom += vals
        ax.plot(ids, [x["floor_ms"] for x in gen_rows], "k_", markersize=14, label="model floor")
        ax.set_ylabel("milliseconds")
        ax.set_title("ragbot turn latency by stage (model turns)")
        ax.tick_params(axis="x", rotation=70, labelsize=7)
        ax.legend()
        fig.tight_layout()
        fig.savefig(REPO / "benchmarks" / "results" / "turn_latency.png", dpi=120)
        md += "\n![turn latency](turn_latency.png)\n"
    except ImportError:
        pass
    write_result("turn_latency", md, data)
    print(md)
    return data


if __name__ == "__main__":
    main()
