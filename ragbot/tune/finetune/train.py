"""`finetune`: LoRA fine-tuning of the generator GGUF on prepared chat data, exported to a
llama.cpp LoRA GGUF.

Steps: load the base GGUF into transformers (float32, dequantized; see ragbot.tune.finetune.hf) ->
read train/validation/test.jsonl (`ragbot data prepare` output) and optional grounded examples
(ragbot.tune.finetune.grounded; a `grounded_eval_fraction` of them is held out as the "grounded"
evaluation set) -> tokenise with the model's chat template, loss on assistant tokens only ->
perplexity before training -> AdamW on the LoRA parameters (peft), linear warm-up and decay,
validation loss every `eval_every` steps, early stopping, best adapter kept -> perplexity after
-> peft adapter (safetensors) saved beside the GGUF -> LoRA GGUF (ragbot.tune.finetune.export).

Perplexity = exp(mean negative log-likelihood per assistant token, nats), token-weighted over
the evaluation set.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ragbot.errors import InputError, missing_dependency
from ragbot.util import iter_jsonl_objects
from ragbot.tune.finetune.config import FinetuneConfig
from ragbot.tune.finetune.hf import batch_nll, encode_chat, evaluate_nll, import_torch, load_base, make_batches, perplexity, resolve_gguf

SPLITS = ("train", "validation", "test")


@dataclass
class FinetuneReport:
    """What one `finetune` run did.

    adapter_gguf: the LoRA GGUF written; peft_dir: the peft adapter folder (safetensors);
    perplexity: {set: {"before", "after", "tokens", "examples"}} for "validation", "test" and,
    with grounded examples, "grounded"; steps: optimizer steps run; best_step: the step whose
    adapter was kept (lowest validation loss; 0 = none better than the start, the last one is
    kept then); stopped_early: early stopping fired; history: [{"step", "train_loss",
    "val_loss"}] (losses in nats per token); counts: examples used/skipped per source;
    seconds: {"load", "encode", "eval_before", "train", "eval_after", "export", "total"}.
    """

    adapter_gguf: str
    peft_dir: str
    base_gguf: str
    device: str
    config: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    trainable_params: int = 0
    perplexity: dict[str, dict[str, float]] = field(default_factory=dict)
    steps: int = 0
    best_step: int = 0
    stopped_early: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (`ragbot finetune --json`, the .report.json file)."""
        return {"adapter_gguf": self.adapter_gguf, "peft_dir": self.peft_dir, "base_gguf": self.base_gguf,
                "device": self.device, "config": self.config, "counts": dict(self.counts),
                "trainable_params": self.trainable_params,
                "perplexity": {k: {kk: (_finite(round(v, 4)) if isinstance(v, float) else v) for kk, v in d.items()}
                               for k, d in self.perplexity.items()},
                "steps": self.steps, "best_step": self.best_step, "stopped_early": self.stopped_early,
                "history": [{k: _finite(v) for k, v in h.items()} for h in self.history],
                "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
                "export": dict(self.export)}


def _finite(v):
    """NaN / inf -> None, so the report is strict JSON."""
    return v if not isinstance(v, float) or math.isfinite(v) else None


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Chat examples from a JSONL file: each line an object with a `messages` list of
    {"role", "content"}. Raises InputError naming the file and line for malformed rows."""
    out = []
    for n, obj in iter_jsonl_objects(path, "training data file"):
        msgs = obj.get("messages")
        if not isinstance(msgs, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str)
                                                 and m.get("role") in ("system", "user", "assistant") for m in msgs):
            raise InputError(f"{path}:{n}: needs a 'messages' list of {{'role': system|user|assistant, "
                             "'content': str}} objects (ragbot data prepare writes this format)")
        out.append(obj)
    return out


def _sample(items: list, cap: int | None, rng: random.Random) -> list:
    if cap is None or len(items) <= cap:
        return list(items)
    return rng.sample(items, cap)


def _encode_all(tokenizer, examples: Sequence[dict], max_seq_len: int):
    kept, skipped, truncated = [], 0, 0
    for ex in examples:
        enc = encode_chat(tokenizer, ex["messages"], max_seq_len)
        if enc is None:
            skipped += 1
            continue
        truncated += enc.truncated
        kept.append(enc)
    return kept, skipped, truncated


def finetune(data_dir: str | os.PathLike, out_path: str | os.PathLike, config: FinetuneConfig | None = None,
             base_gguf: str | os.PathLike | None = None, grounded: Sequence[dict] | str | os.PathLike | None = None,
             show_progress: bool = True) -> FinetuneReport:
    """Fine-tune a LoRA adapter and write it as a llama.cpp LoRA GGUF at `out_path`.

    data_dir: folder with train.jsonl, validation.jsonl, test.jsonl (`ragbot data prepare`).
    grounded: extra examples (list of dicts or a JSONL path, ragbot.tune.finetune.grounded output).
    base_gguf: the model to adapt (bundled SmolLM2-135M-Instruct when None).
    Also writes the peft adapter to `<out stem>_peft/` and the report to `<out stem>.report.json`.
    Raises InputError (missing/malformed data files, no usable training example),
    MissingDependencyError (torch/transformers/peft/gguf), ModelNotFoundError, ConfigError.
    """
    config = config or FinetuneConfig()
    torch = import_torch()
    threads = torch.get_num_threads()
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        return _finetune(data_dir, out_path, config, base_gguf, grounded, show_progress)
    finally:
        torch.set_num_threads(threads)  # config.threads applies to this call only


class _Splits(NamedTuple):
    """The raw examples of one run, after the seeded split and sampling."""
    train_available: int  # examples in train.jsonl
    grounded_available: int  # grounded examples given
    grounded_train: list[dict]  # grounded examples trained on (after the cap)
    train: list[dict]  # grounded_train + the sampled train.jsonl examples
    evals: dict[str, list[dict]]  # "validation", "test" and, with held-out grounded examples, "grounded"


class _Encoded(NamedTuple):
    """Tokenised examples (hf.Encoded) and the counts for the report."""
    train: list
    evals: dict[str, list]
    counts: dict[str, int]


class _Best(NamedTuple):
    """The lowest validation loss so far, its step and its LoRA weights (None: the start)."""
    loss: float
    step: int
    state: dict | None


class _Trained(NamedTuple):
    """Outcome of the training loop."""
    steps: int
    best_step: int
    stopped_early: bool
    history: list[dict[str, float]]


@dataclass(frozen=True)
class _Evaluator:
    """Evaluation of the encoded sets; `ppl` collects {set: {"examples", "tokens", tag: ppl}}."""
    model: Any
    sets: dict[str, list]
    batch_size: int
    pad_id: int
    device: str
    show_progress: bool
    ppl: dict[str, dict[str, float]] = field(default_factory=dict)

    def run(self, name: str, tag: str) -> tuple[float, int]:
        """(mean NLL nats/token, tokens) on set `name`; its perplexity recorded under `tag`."""
        nll, n = evaluate_nll(self.model, self.sets[name], self.batch_size, self.pad_id, self.device,
                              self.show_progress, desc=f"{tag} {name}")
        self.ppl.setdefault(name, {"examples": len(self.sets[name]), "tokens": n})[tag] = perplexity(nll)
        return nll, n

    def has_val(self) -> bool:
        return _has_val(self.sets)

    def val_loss(self) -> float:
        """Token-weighted mean NLL over validation (+ grounded held-out)."""
        sets = [self.sets[k] for k in ("validation", "grounded") if k in self.sets]
        return evaluate_nll(self.model, [e for s in sets for e in s], self.batch_size, self.pad_id, self.device,
                            self.show_progress, desc="val")[0]


def _finetune(data_dir, out_path, config: FinetuneConfig, base_gguf, grounded, show_progress: bool) -> FinetuneReport:
    t_start = time.perf_counter()
    torch = import_torch()
    _require_peft()
    data_dir, out_path = _check_paths(data_dir, out_path)
    base_path = resolve_gguf(base_gguf)
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    seconds: dict[str, float] = {}
    splits = _split(data_dir, grounded, config, rng)
    device = _device(config.device)
    t = time.perf_counter()
    model, tokenizer = load_base(base_path, device=device, show_progress=show_progress)
    seconds["load"] = time.perf_counter() - t
    pad_id = int(tokenizer.pad_token_id)

    t = time.perf_counter()
    enc = _encode(tokenizer, splits, config.max_seq_len)
    seconds["encode"] = time.perf_counter() - t
    if not enc.train:
        raise InputError(f"no usable training example in {data_dir} (all longer than max_seq_len="
                         f"{config.max_seq_len} or without an assistant reply)")
    model = _with_lora(model, config)
    trainable = [p for p in model.parameters() if p.requires_grad]
    ev = _Evaluator(model, enc.evals, max(1, config.batch_size), pad_id, device, show_progress)

    t = time.perf_counter()
    before = {name: ev.run(name, "before") for name in enc.evals}
    seconds["eval_before"] = time.perf_counter() - t
    t = time.perf_counter()
    trained = _train(ev, trainable, enc.train, _start_loss(before), config, rng)
    seconds["train"] = time.perf_counter() - t

    t = time.perf_counter()
    for name in enc.evals:
        ev.run(name, "after")
    seconds["eval_after"] = time.perf_counter() - t

    t = time.perf_counter()
    peft_dir, exported = _export(model, out_path, base_path)
    seconds["export"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t_start
    report = FinetuneReport(
        adapter_gguf=str(out_path), peft_dir=str(peft_dir), base_gguf=str(base_path), device=device,
        config=config.model_dump(mode="json"), counts=enc.counts, trainable_params=sum(p.numel() for p in trainable),
        perplexity=ev.ppl, steps=trained.steps, best_step=trained.best_step, stopped_early=trained.stopped_early,
        history=trained.history, seconds=seconds, export=exported)
    from ragbot.util import atomic_write_text

    atomic_write_text(out_path.with_name(out_path.stem + ".report.json"), json.dumps(report.to_dict(), indent=2))
    return report


def _require_peft() -> None:
    """Raise MissingDependencyError (extra "finetune") when peft or tqdm cannot be imported."""
    try:
        from peft import LoraConfig, get_peft_model  # noqa: F401
        from tqdm.auto import tqdm  # noqa: F401
    except ImportError as e:
        raise missing_dependency("peft", extra="finetune") from e


def _check_paths(data_dir, out_path) -> tuple[Path, Path]:
    """(data_dir, out_path) as Paths; InputError for a non-.gguf output or a missing split file."""
    data_dir, out_path = Path(data_dir), Path(out_path)
    if out_path.suffix.lower() != ".gguf":
        raise InputError(f"the output path must end in .gguf, got {out_path}")
    for s in SPLITS:
        if not (data_dir / f"{s}.jsonl").is_file():
            raise InputError(f"{data_dir / (s + '.jsonl')} is missing; run: ragbot data prepare IN... --out {data_dir}")
    return data_dir, out_path


def _split(data_dir: Path, grounded, config: FinetuneConfig, rng: random.Random) -> _Splits:
    """Read the split files and grounded examples; hold out `grounded_eval_fraction` of the
    (shuffled) grounded ones and apply the example caps, all drawn from `rng` in a fixed order."""
    raw = {s: read_jsonl(data_dir / f"{s}.jsonl") for s in SPLITS}
    g_items = read_jsonl(grounded) if isinstance(grounded, (str, os.PathLike)) else list(grounded or [])
    g_items = list(g_items)
    rng.shuffle(g_items)
    n_g_eval = round(len(g_items) * config.grounded_eval_fraction) if len(g_items) > 1 else 0
    g_eval, g_train = g_items[:n_g_eval], g_items[n_g_eval:]
    if config.max_train_examples is not None:
        g_train = _sample(g_train, int(config.max_train_examples * config.grounded_share), rng)
        train_raw = g_train + _sample(raw["train"], config.max_train_examples - len(g_train), rng)
    else:
        train_raw = g_train + raw["train"]
    eval_raw = {"validation": _sample(raw["validation"], config.max_eval_examples, rng),
                "test": _sample(raw["test"], config.max_eval_examples, rng)}
    if g_eval:
        eval_raw["grounded"] = _sample(g_eval, config.max_eval_examples, rng)
    return _Splits(len(raw["train"]), len(g_items), g_train, train_raw, eval_raw)


def _encode(tokenizer, splits: _Splits, max_seq_len: int) -> _Encoded:
    """Tokenise the training and evaluation examples; count used, skipped and truncated ones."""
    train, skipped, truncated = _encode_all(tokenizer, splits.train, max_seq_len)
    counts = {"train_available": splits.train_available, "grounded_available": splits.grounded_available,
              "grounded_train": len(splits.grounded_train), "train_used": len(train),
              "train_skipped_too_long": skipped, "train_truncated": truncated}
    evals = {}
    for name, items in splits.evals.items():
        evals[name], sk, _ = _encode_all(tokenizer, items, max_seq_len)
        counts[f"{name}_used"], counts[f"{name}_skipped_too_long"] = len(evals[name]), sk
    return _Encoded(train, evals, counts)


def _with_lora(model, config: FinetuneConfig):
    """The peft model with fresh LoRA adapters (initialised from torch's seeded RNG)."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def _start_loss(before: dict[str, tuple[float, int]]) -> float:
    """Token-weighted validation (+ grounded) loss before training; inf when there is none."""
    val_sets = [before[k] for k in ("validation", "grounded") if k in before and before[k][1]]
    return (sum(nll * n for nll, n in val_sets) / sum(n for _, n in val_sets)) if val_sets else float("inf")


def _optimizer(trainable: list, config: FinetuneConfig, n_train: int):
    """(AdamW, LambdaLR, total steps): linear warm-up over `warmup_ratio` of the steps, then
    linear decay to 0; `max_steps`, else `epochs` over `n_train` examples."""
    torch = import_torch()
    steps_per_epoch = math.ceil(n_train / (config.batch_size * config.grad_accum))
    total_steps = config.max_steps or max(1, math.ceil(steps_per_epoch * config.epochs))
    warmup = int(total_steps * config.warmup_ratio)
    opt = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / (warmup + 1) if s < warmup else max(0.0, (total_steps - s) / max(1, total_steps - warmup)))
    return opt, sched, total_steps


def _train(ev: _Evaluator, trainable: list, train: list, start_loss: float, config: FinetuneConfig,
           rng: random.Random) -> _Trained:
    """AdamW steps with validation every `eval_every` steps and early stopping; the best LoRA
    weights are loaded back at the end (model left in eval mode)."""
    from tqdm.auto import tqdm

    model = ev.model
    opt, sched, total_steps = _optimizer(trainable, config, len(train))
    best = _Best(start_loss, 0, None)
    history: list[dict[str, float]] = [{"step": 0, "train_loss": float("nan"), "val_loss": best.loss}]
    bad_evals, step, stopped = 0, 0, False
    model.train()
    bar = tqdm(total=total_steps, desc="finetune", unit="step", disable=not ev.show_progress)
    micro = _micro_batches(train, config.batch_size, ev.pad_id, rng)
    run_loss, run_tokens = 0.0, 0
    while step < total_steps and not stopped:
        for nll, n in _optimizer_step(model, micro, opt, sched, trainable, config, ev.device):
            run_loss, run_tokens = run_loss + nll, run_tokens + n
        step += 1
        bar.set_postfix(loss=f"{run_loss / max(1, run_tokens):.3f}", refresh=False)
        bar.update(1)
        if step % config.eval_every == 0 or step == total_steps:
            entry = {"step": step, "train_loss": run_loss / max(1, run_tokens), "val_loss": float("nan")}
            run_loss, run_tokens = 0.0, 0
            if ev.has_val():
                v = entry["val_loss"] = ev.val_loss()
                if v < best.loss:
                    best, bad_evals = _Best(v, step, _lora_state(model)), 0
                else:
                    bad_evals += 1
                    stopped = (config.early_stopping_patience is not None
                               and bad_evals >= config.early_stopping_patience and step < total_steps)
                bar.set_postfix(loss=f"{entry['train_loss']:.3f}", val=f"{v:.3f}")
            history.append(entry)
    bar.close()
    if best.state is not None:
        model.load_state_dict(best.state, strict=False)
    model.eval()
    return _Trained(step, best.step, stopped, history)


def _optimizer_step(model, micro, opt, sched, trainable: list, config: FinetuneConfig, device: str) -> list[tuple[float, int]]:
    """One optimizer step over `grad_accum` micro-batches from `micro` (loss normalised by the
    step's target tokens, gradients clipped); returns (summed NLL nats, tokens) per micro-batch."""
    torch = import_torch()
    opt.zero_grad(set_to_none=True)
    parts = [next(micro) for _ in range(config.grad_accum)]
    n_tok = sum(int(tg[:, 1:].sum()) for _, _, tg in parts)
    losses = []
    for ids, att, tg in parts:
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=config.bf16):
            nll, n = batch_nll(model, ids.to(device), att.to(device), tg.to(device))
        (nll / max(1, n_tok)).backward()
        losses.append((float(nll.detach()), n))
    torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
    opt.step()
    sched.step()
    return losses


def _export(model, out_path: Path, base_path) -> tuple[Path, dict[str, Any]]:
    """Save the peft adapter to `<out stem>_peft/` and convert it to the LoRA GGUF at `out_path`;
    returns (peft folder, export summary dict)."""
    from ragbot.tune.finetune.export import export_lora_gguf

    peft_dir = out_path.with_name(out_path.stem + "_peft")
    model.save_pretrained(str(peft_dir), safe_serialization=True, save_embedding_layers=False)
    return peft_dir, export_lora_gguf(peft_dir, out_path, base_path).to_dict()


def _device(name: str) -> str:
    from ragbot.tune.finetune.hf import torch_device

    return torch_device(name)


def _has_val(evals: dict) -> bool:
    return bool(evals.get("validation") or evals.get("grounded"))


def _lora_state(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def _micro_batches(train: list, batch_size: int, pad_id: int, rng: random.Random):
    """Endless stream of padded micro-batches: each epoch a fresh seeded shuffle, then examples
    of similar length batched together (less padding) and the batches shuffled."""
    while True:
        order = list(range(len(train)))
        rng.shuffle(order)
        chunks = [order[i:i + batch_size * 50] for i in range(0, len(order), batch_size * 50)]
        batches = []
        for c in chunks:
            c.sort(key=lambda i: len(train[i].input_ids))
            batches += [c[i:i + batch_size] for i in range(0, len(c), batch_size)]
        rng.shuffle(batches)
        for b in batches:
            yield next(make_batches([train[i] for i in b], len(b), pad_id))
