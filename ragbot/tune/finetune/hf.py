"""transformers side of fine-tuning: load a GGUF into a torch model, tokenise chat examples with
a mask of the assistant tokens, and measure token negative log-likelihood (NLL).

The GGUF is loaded with `AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)`, which
dequantizes every tensor (Q4_1 -> float32 here) and undoes llama.cpp's q/k row permutation, so
the torch model is in Hugging Face layout. The tokenizer (and its chat template) come from the
same GGUF's metadata, so nothing is downloaded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragbot.errors import ConfigError, InputError, ModelNotFoundError, missing_dependency
from ragbot.util import optional_import

MIN_TARGET_TOKENS = 16  # a truncated example must keep at least this many answer tokens


def import_torch():
    """torch, or MissingDependencyError with the install hint."""
    return optional_import("torch", extra="finetune")


def resolve_gguf(base_gguf: str | os.PathLike | None) -> Path:
    """The base GGUF path (bundled SmolLM2-135M-Instruct Q4_1 when None). Raises ModelNotFoundError."""
    if base_gguf is None:
        from ragbot.generators.llama import bundled_model_path

        base_gguf = bundled_model_path()
    path = Path(base_gguf)
    if not path.is_file():
        raise ModelNotFoundError(f"base GGUF not found: {path}; pass an existing .gguf file (or none for the bundled model)")
    return path


def torch_device(name: str = "auto") -> str:
    """'auto' -> 'cuda' when torch sees a CUDA device, else 'cpu'; other names are checked."""
    torch = import_torch()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but torch sees no CUDA device; use device 'auto' or 'cpu'")
    return name


def load_base(base_gguf: str | os.PathLike | None = None, device: str = "cpu", show_progress: bool = False):
    """(model, tokenizer) from a GGUF file: float32 weights on `device`, model in eval mode.

    Raises MissingDependencyError (transformers/gguf/torch missing), ModelNotFoundError,
    ConfigError when transformers cannot read the GGUF (architecture not supported by its loader)."""
    path = resolve_gguf(base_gguf)
    torch = import_torch()
    try:
        import gguf  # noqa: F401  (transformers' GGUF loader needs it)
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise missing_dependency(getattr(e, "name", None) or "transformers", extra="finetune") from e
    if not show_progress:
        transformers.utils.logging.disable_progress_bar()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import contextlib
    import io

    # transformers' GGUF loader shows its own tqdm bar on stderr; keep it off unless asked for
    quiet = contextlib.nullcontext() if show_progress else contextlib.redirect_stderr(io.StringIO())
    try:
        with quiet:
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    except (ValueError, NotImplementedError, KeyError, OSError) as e:
        raise ConfigError(f"transformers could not load {path} as a causal LM: {e}") from e
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device)
    model.eval()
    return model, tokenizer


@dataclass(frozen=True)
class Encoded:
    """One tokenised example. input_ids: token ids (len T <= max_seq_len); target: bool per
    token, True for tokens of assistant replies (content and the end-of-turn token), the only
    tokens the loss and the perplexity are computed on; truncated: cut at max_seq_len."""

    input_ids: tuple[int, ...]
    target: tuple[bool, ...]
    truncated: bool = False

    @property
    def n_target(self) -> int:
        return sum(self.target[1:])  # the first token is never predicted


def encode_chat(tokenizer, messages: Sequence[dict], max_seq_len: int) -> Encoded | None:
    """Render `messages` with the tokenizer's chat template and mark the assistant tokens.

    Each assistant message's span is the text between the template rendered up to the message
    with the generation prompt and rendered through the message (trailing whitespace after the
    end-of-turn token excluded); tokens are assigned by their character offsets, so BPE merges
    at span edges cannot shift the mask. Returns None when the example has no assistant
    message or, once cut to max_seq_len, keeps fewer than MIN_TARGET_TOKENS answer tokens.
    Raises InputError when the template does not render prefixes consistently."""
    msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
    full = tokenizer.apply_chat_template(msgs, tokenize=False)
    spans = []
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        prefix = tokenizer.apply_chat_template(msgs[:i], tokenize=False, add_generation_prompt=True) if i else ""
        upto = tokenizer.apply_chat_template(msgs[: i + 1], tokenize=False)
        if not (full.startswith(upto) and upto.startswith(prefix)):
            raise InputError("the chat template does not render message prefixes consistently; cannot mask "
                             "assistant tokens for this model")
        spans.append((len(prefix), len(upto.rstrip())))
    if not spans:
        return None
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    target = [any(a <= s < b for a, b in spans) for s, _ in offsets]
    truncated = len(ids) > max_seq_len
    if truncated:
        ids, target = ids[:max_seq_len], target[:max_seq_len]
    out = Encoded(tuple(ids), tuple(target), truncated)
    min_needed = MIN_TARGET_TOKENS if truncated else 1
    return out if out.n_target >= min_needed else None


def make_batches(examples: Sequence[Encoded], batch_size: int, pad_id: int, device: str = "cpu") -> Iterator[tuple]:
    """Yield (input_ids int64 (B, T), attention_mask int64 (B, T), target bool (B, T)) tensors,
    right-padded to the longest example of each batch, in the given order."""
    torch = import_torch()
    for start in range(0, len(examples), batch_size):
        part = examples[start:start + batch_size]
        width = max(len(e.input_ids) for e in part)
        ids = torch.full((len(part), width), pad_id, dtype=torch.long)
        att = torch.zeros((len(part), width), dtype=torch.long)
        tgt = torch.zeros((len(part), width), dtype=torch.bool)
        for r, e in enumerate(part):
            n = len(e.input_ids)
            ids[r, :n] = torch.tensor(e.input_ids, dtype=torch.long)
            att[r, :n] = 1
            tgt[r, :n] = torch.tensor(e.target, dtype=torch.bool)
        yield ids.to(device), att.to(device), tgt.to(device)


def batch_nll(model, input_ids, attention_mask, target):
    """(sum of token NLL in nats as a 0-dim float tensor with grad, number of target tokens).

    Only positions whose NEXT token is a target are projected through the LM head
    (`logits_to_keep` with a boolean mask), which saves the (tokens x vocab) matmul elsewhere."""
    torch = import_torch()
    keep = torch.zeros_like(target)
    keep[:, :-1] = target[:, 1:]
    labels = input_ids[:, 1:][target[:, 1:]]
    if labels.numel() == 0:
        return torch.zeros((), device=input_ids.device), 0
    logits = model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=keep).logits
    logits = logits.reshape(-1, logits.shape[-1]).float()
    nll = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
    return nll, int(labels.numel())


def evaluate_nll(model, examples: Sequence[Encoded], batch_size: int, pad_id: int, device: str = "cpu",
                 show_progress: bool = False, desc: str = "eval") -> tuple[float, int]:
    """(mean NLL per target token in nats, number of target tokens) over `examples`, model in
    eval mode (dropout off), no gradients. Perplexity is exp(mean NLL). (nan, 0) when empty."""
    torch = import_torch()
    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids))  # less padding
    ordered = [examples[i] for i in order]
    with torch.no_grad():
        batches = make_batches(ordered, batch_size, pad_id, device)
        n_batches = math.ceil(len(ordered) / batch_size)
        for ids, att, tgt in tqdm(batches, total=n_batches, desc=desc, unit="batch", leave=False,
                                  disable=not show_progress):
            nll, n = batch_nll(model, ids, att, tgt)
            total += float(nll)
            count += n
    if was_training:
        model.train()
    return (total / count if count else float("nan")), count


def perplexity(mean_nll: float) -> float:
    """exp(mean NLL per token); nan stays nan, overflow gives inf."""
    if math.isnan(mean_nll):
        return float("nan")
    return math.exp(mean_nll) if mean_nll < 700 else float("inf")
