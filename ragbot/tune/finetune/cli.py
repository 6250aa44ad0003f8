"""`ragbot finetune DATA_DIR --out ADAPTER.gguf [--kb DIR] ...`: a single typer command function,
mounted by ragbot.cli (`app.command("finetune")(finetune_cmd)`).

With `--kb`, grounded examples are built from that knowledge base with its own prompt settings
(BotConfig.load(kb).prompt, retrieval.k_prompt) and generator tokenizer, written beside the
adapter as `<stem>.grounded.jsonl`, mixed into training, and the adapter path is saved into the
KB's config.json as generator.lora_path (and generator.model_path is used as the base model
unless --base is given). `--json` prints FinetuneReport.to_dict() (plus "grounded" counts and
"kb_config" when --kb is given) as one JSON object on stdout; errors print `error: ...` on stderr
and exit with code 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from ragbot.errors import RagbotError


def finetune_cmd(
    data_dir: str = typer.Argument(..., help="folder with train/validation/test.jsonl (ragbot data prepare --out)"),
    out: str = typer.Option(..., "--out", help="LoRA adapter GGUF to write (peft adapter goes to <stem>_peft/)"),
    kb: str | None = typer.Option(None, "--kb", help="knowledge base: add grounded examples from it and set "
                                                       "its generator.lora_path to the adapter"),
    base: str | None = typer.Option(None, "--base", help="base GGUF (default: the KB's generator.model_path, "
                                                           "else the bundled SmolLM2-135M-Instruct)"),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="optimizer steps (overrides --epochs)"),
    epochs: float | None = typer.Option(None, "--epochs", min=0.01, help="passes over the training data (default 1)"),
    lr: float | None = typer.Option(None, "--lr", help="peak learning rate (default 2e-4)"),
    rank: int | None = typer.Option(None, "--rank", min=1, help="LoRA rank r (default 8)"),
    alpha: float | None = typer.Option(None, "--alpha", help="LoRA alpha (default 16)"),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="examples per step (default 4)"),
    max_seq_len: int | None = typer.Option(None, "--max-seq-len", min=32, help="tokens per example (default 768)"),
    max_train_examples: int | None = typer.Option(None, "--max-train-examples", min=1,
                                                     help="cap on training examples (keeps CPU runs short)"),
    max_eval_examples: int | None = typer.Option(None, "--max-eval-examples", min=1,
                                                    help="cap per evaluation set (default 200)"),
    eval_every: int | None = typer.Option(None, "--eval-every", min=1, help="steps between validation evals"),
    bf16: bool = typer.Option(False, "--bf16", help="bfloat16 autocast for training (faster on AVX512-BF16 CPUs)"),
    device: str | None = typer.Option(None, "--device", help="auto | cpu | cuda[:N] (default auto)"),
    json_out: bool = typer.Option(False, "--json", help="print the report as one JSON object on stdout"),
):
    """Fine-tune a LoRA adapter on prepared conversations (+ grounded KB examples) and export it as GGUF."""
    from pydantic import ValidationError

    if json_out:
        os.environ["TQDM_DISABLE"] = "1"
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        overrides = {"max_steps": max_steps, "epochs": epochs, "learning_rate": lr, "lora_r": rank,
                     "lora_alpha": alpha, "batch_size": batch_size, "max_seq_len": max_seq_len,
                     "max_train_examples": max_train_examples, "max_eval_examples": max_eval_examples,
                     "eval_every": eval_every, "device": device, "bf16": bf16 or None}
        result = _run(data_dir, out, kb, base, json_out, overrides)
    except (RagbotError, ValidationError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    if json_out:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    for name, d in result["perplexity"].items():
        typer.echo(f"{name:>10} perplexity: {d.get('before')} -> {d.get('after')} "
                   f"({d['examples']} examples, {d['tokens']} answer tokens)")
    typer.echo(f"{result['steps']} steps (best {result['best_step']}"
               f"{', stopped early' if result['stopped_early'] else ''}) in {result['seconds']['train']:.0f} s "
               f"on {result['device']}; total {result['seconds']['total']:.0f} s")
    typer.echo(f"adapter: {result['adapter_gguf']} (peft: {result['peft_dir']})")
    if result.get("kb_config"):
        typer.echo(f"set generator.lora_path in {result['kb_config']}")


def _run(data_dir: str, out: str, kb_dir: str | None, base: str | None, quiet: bool, overrides: dict) -> dict:
    from ragbot.tune.finetune.config import FinetuneConfig
    from ragbot.tune.finetune.train import finetune

    config = FinetuneConfig(**{k: v for k, v in overrides.items() if v is not None})
    out_path = Path(out).resolve()
    grounded, g_counts, bot_cfg = None, None, None
    if kb_dir:
        from ragbot.config import BotConfig
        from ragbot.generators.llama import LlamaCppGenerator
        from ragbot.kb import KnowledgeBase
        from ragbot.tune.finetune.grounded import count_by_intent, grounded_examples, write_jsonl

        bot_cfg = BotConfig.load(kb_dir)
        base = base or bot_cfg.generator.model_path
        counter = LlamaCppGenerator(bot_cfg.generator.model_copy(update={"lora_path": None}))
        with KnowledgeBase.open(kb_dir, config=bot_cfg) as knowledge:
            grounded = grounded_examples(knowledge, prompt_config=bot_cfg.prompt, count_tokens=counter.count_tokens,
                                         k=bot_cfg.retrieval.k_prompt, seed=config.seed, show_progress=not quiet)
        write_jsonl(grounded, out_path.with_name(out_path.stem + ".grounded.jsonl"))
        g_counts = count_by_intent(grounded)
    report = finetune(data_dir, out_path, config, base_gguf=base, grounded=grounded, show_progress=not quiet)
    result = report.to_dict()
    if g_counts is not None:
        result["grounded"] = g_counts
    if bot_cfg is not None:
        bot_cfg.generator.lora_path = str(out_path)
        result["kb_config"] = str(bot_cfg.save(kb_dir))
    return result
