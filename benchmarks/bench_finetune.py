"""LoRA fine-tuning of the bundled SmolLM2-135M on Bitext support conversations plus grounded
examples from knowledge/, sized for a 2-core CPU (~15 min): perplexity before/after on the
validation, test and held-out grounded sets, time, and the adapter used by llama.cpp
(LlamaCppGenerator with lora_path) on grounded prompts it was not trained on, against the base.

    python benchmarks/bench_finetune.py [--work DIR] [--max-steps 150] [--max-train-examples 400]
Writes benchmarks/results/finetune.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CORPUS, REPO, machine, peak_rss_mib, write_result

BITEXT = CORPUS / "conversations" / "bitext_customer_support_sample.csv"
KNOWLEDGE = REPO / "knowledge"
HELD_OUT = 16  # grounded examples kept out of training for the generation check


def build_kb(kb_dir: Path):
    from ragbot.kb import KnowledgeBase

    kb = KnowledgeBase.open(kb_dir, create=True)
    kb.ingest([KNOWLEDGE / "common"])
    for prop in ("oak-street", "pine-avenue"):
        kb.ingest([KNOWLEDGE / "properties" / prop], scope={"property": prop})
    return kb


def behaviour(gen, examples: list[dict]) -> dict:
    """Greedy replies to held-out grounded prompts. Answerable (grounded/quote): cites the gold
    [n]; every number of the gold reply appears; wrongly says DONT_KNOW. Abstain: says it."""
    from ragbot.chat.prompts import DONT_KNOW

    dk = DONT_KNOW.lower().rstrip(".")
    stats = {"answerable": 0, "cites_gold": 0, "gold_numbers": 0, "wrong_abstain": 0, "abstain": 0,
             "abstained": 0, "seconds": 0.0, "samples": []}
    t = time.perf_counter()
    for ex in examples:
        gold = ex["messages"][-1]["content"]
        out = " ".join(gen.generate(ex["messages"][:-1], max_tokens=64).text.split())
        if ex["intent"] == "abstain":
            stats["abstain"] += 1
            stats["abstained"] += dk in out.lower()
        else:
            stats["answerable"] += 1
            n = re.search(r"\[(\d+)\]$", gold).group(0)
            stats["cites_gold"] += n in out
            nums = re.findall(r"\d+(?:[.,]\d+)*", gold.rsplit("[", 1)[0])
            stats["gold_numbers"] += all(x in out for x in nums)
            stats["wrong_abstain"] += dk in out.lower()
        if len(stats["samples"]) < 4:
            stats["samples"].append({"intent": ex["intent"], "gold": gold, "reply": out})
    stats["seconds"] = round(time.perf_counter() - t, 1)
    return stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/ragbot_bench_finetune")
    ap.add_argument("--max-steps", type=int, default=150)
    ap.add_argument("--max-train-examples", type=int, default=400)
    ap.add_argument("--max-eval-examples", type=int, default=48)
    args = ap.parse_args()
    if not BITEXT.is_file():
        sys.exit(f"{BITEXT} is missing (../shared/corpus)")
    from ragbot.config import GeneratorConfig
    from ragbot.tune.data.prepare import prepare
    from ragbot.tune.finetune.config import FinetuneConfig
    from ragbot.tune.finetune.grounded import count_by_intent, grounded_examples
    from ragbot.tune.finetune.train import finetune
    from ragbot.generators.llama import LlamaCppGenerator

    work = Path(args.work)
    t0 = time.perf_counter()
    prep = prepare([BITEXT], work / "data", show_progress=False)
    t_prep = time.perf_counter() - t0
    t = time.perf_counter()
    kb = build_kb(work / "kb")
    counter = LlamaCppGenerator(GeneratorConfig())
    grounded = grounded_examples(kb, count_tokens=counter.count_tokens)
    t_grounded = time.perf_counter() - t
    kb.close()
    rng = random.Random(7)
    rng.shuffle(grounded)
    held_out, grounded_train = grounded[:HELD_OUT], grounded[HELD_OUT:]

    config = FinetuneConfig(max_steps=args.max_steps, max_train_examples=args.max_train_examples,
                            max_eval_examples=args.max_eval_examples, max_seq_len=768, batch_size=4,
                            eval_every=25, bf16=True, threads=2)
    report = finetune(work / "data", work / "adapter" / "harborview-lora.gguf", config, grounded=grounded_train,
                      show_progress=True)
    r = report.to_dict()

    base_gen = LlamaCppGenerator(GeneratorConfig(n_threads=2))
    lora_gen = LlamaCppGenerator(GeneratorConfig(n_threads=2, lora_path=report.adapter_gguf))
    beh = {"base": behaviour(base_gen, held_out), "adapter": behaviour(lora_gen, held_out)}
    demo = lora_gen.generate([{"role": "user", "content": "How do I cancel my order?"}], max_tokens=48).text

    data = {"machine": machine(), "peak_rss_mib": round(peak_rss_mib()), "prepare": {
        "seconds": round(t_prep, 1), "splits": {k: v["total"] for k, v in prep.splits.items()}},
        "grounded": {"seconds": round(t_grounded, 1), "by_intent": count_by_intent(grounded),
                     "held_out_for_generation": count_by_intent(held_out)},
        "finetune": r, "generation_check": beh, "demo_reply": demo}
    write_result("finetune", markdown(data), data)
    print(json.dumps({k: data[k] for k in ("grounded", "generation_check")}, indent=1)[:3000])


def markdown(d: dict) -> str:
    f = d["finetune"]
    c, s = f["config"], f["seconds"]
    rows = "\n".join(f"| {name} | {v['examples']} | {v['tokens']} | {v['before']:.3f} | {v['after']:.3f} |"
                     for name, v in f["perplexity"].items())
    hist = ", ".join(f"{h['step']}: {h['val_loss']:.3f}" for h in f["history"] if h["val_loss"] is not None)

    def beh(k):
        b = d["generation_check"][k]
        return (f"| {k} | {b['cites_gold']}/{b['answerable']} | {b['gold_numbers']}/{b['answerable']} | "
                f"{b['wrong_abstain']}/{b['answerable']} | {b['abstained']}/{b['abstain']} | {b['seconds']} |")

    return f"""# LoRA fine-tuning (`ragbot.tune.finetune`)

Machine: {d['machine']}. Peak RSS {d['peak_rss_mib']} MiB. Produced by `python benchmarks/bench_finetune.py`.

Data: `ragbot data prepare` of Bitext's customer-support sample ({d['prepare']['splits']}) plus
{sum(d['grounded']['by_intent'].values())} grounded examples from a KB of `knowledge/` ({d['grounded']['by_intent']};
built in {d['grounded']['seconds']} s), of which {sum(d['grounded']['held_out_for_generation'].values())} were kept
out for the generation check and {f['counts'].get('grounded_used', 0)} more held out for the grounded perplexity.
Training examples used: {f['counts']['train_used']} ({f['counts']['grounded_train']} grounded), skipped as longer
than {c['max_seq_len']} tokens: {f['counts']['train_skipped_too_long']}.

Settings: LoRA r={c['lora_r']}, alpha={c['lora_alpha']}, dropout={c['lora_dropout']} on {', '.join(c['target_modules'])};
lr {c['learning_rate']} (warm-up {c['warmup_ratio']}, linear decay), batch {c['batch_size']} x accum {c['grad_accum']},
max {c['max_steps']} steps, bf16 autocast={c['bf16']} (evaluations in float32), device {f['device']},
{f['trainable_params']:,} trainable parameters.

## Perplexity of the assistant tokens (exp of mean token NLL)

| set | examples | answer tokens | before | after |
|---|---|---|---|---|
{rows}

Steps run: {f['steps']} (best {f['best_step']}, stopped early: {f['stopped_early']}). Validation loss by step: {hist}.

Time (s): load {s['load']}, eval before {s['eval_before']}, train {s['train']}
({s['train'] / max(1, f['steps']):.2f} s/step), eval after {s['eval_after']}, export {s['export']},
total {s['total']}.

## Held-out grounded prompts, greedy, llama.cpp (GGUF base vs GGUF base + exported LoRA)

| model | cites the gold [n] | all gold numbers present | says "don't know" wrongly | abstains when it should | seconds |
|---|---|---|---|---|---|
{beh('base')}
{beh('adapter')}

Adapter reply to "How do I cancel my order?" (no passages): {d['demo_reply']!r}
"""


if __name__ == "__main__":
    main()
