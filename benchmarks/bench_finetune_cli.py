"""Issue 5's end-to-end run through the command line, as a property manager would do it:

    ragbot data prepare bitext_customer_support_sample.csv --out W/data
    ragbot finetune W/data --kb W/kb --out W/harborview-lora.gguf  (grounded examples from knowledge/)
    ragbot eval ../shared/eval/dev_qa.jsonl --kb <leases + Columbus KB> --json --adapter none | W/harborview-lora.gguf
    ragbot eval knowledge/eval.jsonl --kb W/kb --json --adapter none | W/harborview-lora.gguf

Wall time of each command, the perplexities the finetune command reports, and the eval metrics
with and without the adapter, side by side. Each command runs in its own process.

    python benchmarks/bench_finetune_cli.py [--work DIR] [--max-steps 150] [--adapter EXISTING.gguf]

`--adapter` skips data prepare and finetune and evaluates an adapter you already have.
Writes benchmarks/results/finetune_cli.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CORPUS, DEV_QA, REPO, corpus_kb_dir, machine, write_result

BITEXT = CORPUS / "conversations" / "bitext_customer_support_sample.csv"
KNOWLEDGE = REPO / "knowledge"
RAGBOT = [sys.executable, "-m", "ragbot.cli"]
METRICS = ("hit_at_5", "decision_accuracy", "fact_recall", "handoff_recall", "handoff_precision", "coverage",
           "accuracy_when_answered", "violation_rate", "latency_p50_ms", "latency_p95_ms")


def ragbot(*args: str) -> tuple[float, str]:
    """Run `ragbot ARGS...` in its own process; (wall seconds, stdout). Raises on a non-zero exit."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    t = time.perf_counter()
    proc = subprocess.run([*RAGBOT, *args], capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"ragbot {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t, proc.stdout


def build_knowledge_kb(kb_dir: Path) -> None:
    if (kb_dir / "manifest.json").is_file():
        return
    ragbot("ingest", str(KNOWLEDGE / "common"), "--kb", str(kb_dir), "--json")
    for prop in ("oak-street", "pine-avenue"):
        ragbot("ingest", str(KNOWLEDGE / "properties" / prop), "--kb", str(kb_dir), "--scope", f"property={prop}",
               "--json")


def evaluate(file: Path, kb_dir: Path, adapter: str) -> dict:
    seconds, out = ragbot("eval", str(file), "--kb", str(kb_dir), "--json", "--adapter", adapter)
    result = json.loads(out)
    m = dict(result["metrics"])
    m["latency_p50_ms"], m["latency_p95_ms"] = m["latency_ms"]["p50"], m["latency_ms"]["p95"]
    return {"seconds": round(seconds, 1), "model": result.get("model"),
            "metrics": {k: m.get(k) for k in METRICS if k in m},
            "misses": [f"{c['id']}: expected {c['expected']}, got {c['predicted']} ({c['rule']})"
                       for c in result["cases"] if not c["correct"]]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/ragbot_bench_finetune_cli")
    ap.add_argument("--max-steps", type=int, default=150)
    ap.add_argument("--max-train-examples", type=int, default=400)
    ap.add_argument("--adapter", help="evaluate this adapter; skip data prepare and finetune")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    kb_dir = work / "kb"
    build_knowledge_kb(kb_dir)
    data: dict = {"machine": machine()}
    if args.adapter:
        adapter = str(Path(args.adapter).resolve())
    else:
        adapter = str(work / "harborview-lora.gguf")
        t_prep, out = ragbot("data", "prepare", str(BITEXT), "--out", str(work / "data"), "--json")
        prep = json.loads(out)
        t_ft, out = ragbot("finetune", str(work / "data"), "--kb", str(kb_dir), "--out", adapter,
                           "--max-steps", str(args.max_steps), "--max-train-examples", str(args.max_train_examples),
                           "--max-eval-examples", "48", "--max-seq-len", "768", "--eval-every", "25", "--bf16",
                           "--json")
        ft = json.loads(out)
        data["prepare"] = {"seconds": round(t_prep, 1), "splits": {k: v["total"] for k, v in prep["splits"].items()}}
        data["finetune"] = {"seconds": round(t_ft, 1), "perplexity": ft["perplexity"], "steps": ft["steps"],
                            "best_step": ft["best_step"], "stopped_early": ft["stopped_early"],
                            "grounded": ft.get("grounded"), "device": ft["device"]}
    data["adapter"] = adapter
    corpus_kb = corpus_kb_dir()
    data["eval"] = {
        "dev_qa": {name: evaluate(DEV_QA, corpus_kb, a) for name, a in (("base", "none"), ("adapter", adapter))},
        "knowledge": {name: evaluate(KNOWLEDGE / "eval.jsonl", kb_dir, a)
                      for name, a in (("base", "none"), ("adapter", adapter))},
    }
    write_result("finetune_cli", markdown(data), data)
    print(json.dumps(data, indent=1)[:4000])


def _fmt(v) -> str:
    return "" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def markdown(d: dict) -> str:
    parts = [f"# Fine-tuning through the CLI, and `ragbot eval` with and without the adapter\n\n"
             f"Machine: {d['machine']}. Produced by `python benchmarks/bench_finetune_cli.py`; every command ran "
             f"in its own process. Adapter: `{Path(d['adapter']).name}`.\n"]
    if "finetune" in d:
        p, f = d["prepare"], d["finetune"]
        rows = "\n".join(f"| {k} | {_fmt(v.get('before'))} | {_fmt(v.get('after'))} |"
                         for k, v in f["perplexity"].items())
        parts.append(f"""## Commands

| command | wall s |
|---|---|
| `ragbot data prepare bitext_customer_support_sample.csv` (splits {p['splits']}) | {p['seconds']} |
| `ragbot finetune --kb knowledge-KB` ({f['steps']} steps on {f['device']}, grounded examples {f['grounded']}) | {f['seconds']} |
| total | {round(p['seconds'] + f['seconds'], 1)} ({(p['seconds'] + f['seconds']) / 60:.1f} min) |

| perplexity (assistant tokens) | before | after |
|---|---|---|
{rows}
""")
    for name, title in (("dev_qa", "../shared/eval/dev_qa.jsonl over leases + Columbus listings"),
                        ("knowledge", "knowledge/eval.jsonl over the knowledge/ KB")):
        e = d["eval"][name]
        rows = "\n".join(f"| {k} | {_fmt(e['base']['metrics'].get(k))} | {_fmt(e['adapter']['metrics'].get(k))} |"
                         for k in METRICS if k in e["base"]["metrics"])
        misses = "\n".join(f"- {which}: " + ("; ".join(e[which]["misses"]) or "none") for which in ("base", "adapter"))
        parts.append(f"""## `ragbot eval` {title}

| metric | base | + adapter |
|---|---|---|
{rows}
| eval wall s | {e['base']['seconds']} | {e['adapter']['seconds']} |

Misses:
{misses}
""")
    return "\n".join(parts)


if __name__ == "__main__":
    main()
