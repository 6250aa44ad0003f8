"""Export a peft LoRA adapter to a llama.cpp LoRA GGUF (what llama.cpp's convert_lora_to_gguf.py
writes), for `GeneratorConfig.lora_path` / `llama_cpp.Llama(lora_path=...)`.

File layout (llama.cpp src/llama-adapter.cpp reads it):
- metadata: general.architecture = the base GGUF's architecture, general.type = "adapter",
  adapter.type = "lora", adapter.lora.alpha = lora_alpha (llama.cpp scales B @ A by
  alpha / rank, the same alpha / r as peft's default scaling);
- for every adapted linear layer, two float32 tensors named after the base GGUF tensor plus a
  suffix, e.g. `blk.0.attn_q.weight.lora_a` and `blk.0.attn_q.weight.lora_b`. Data are written
  in torch order: lora_a (r, in_features) and lora_b (out_features, r), which GGUF stores with
  ne = [in, r] and [r, out]; llama.cpp checks a.ne[0] == base.ne[0] (in), b.ne[1] == base.ne[1]
  (out) and a.ne[1] == b.ne[0] (r).

The q/k permutation: for llama-architecture models llama.cpp's converter stores attn_q and
attn_k with their rows permuted (convert_hf_to_gguf.py `LlamaModel.permute`: reshape(n_head, 2,
rows // n_head // 2, ...).swapaxes(1, 2)), n_head being head_count for q and head_count_kv for
k. transformers undoes it when it loads a GGUF, so the adapter is trained in HF layout; a LoRA
delta B @ A has the base weight's rows in B, so lora_b of q and k is permuted the same way
before writing, and lora_a is left as it is (convert_lora_to_gguf.py applies the base model's
permute to the LoRA tensor's B side likewise).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragbot.errors import ConfigError, ModelNotFoundError, missing_dependency
from ragbot.util import atomic_write, optional_import

PERMUTED_ARCHS = ("llama",)  # architectures whose GGUF stores attn_q / attn_k permuted
_LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


def _gguf():
    return optional_import("gguf", extra="finetune")


def permute_qk(w: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's row permutation of attn_q / attn_k (convert_hf_to_gguf.py LlamaModel.permute):
    HF layout -> GGUF layout. w: (rows, ...) with rows = heads * head_dim; for k pass
    n_head_kv (the permutation then uses n_head_kv heads). Returns a new array, same shape/dtype."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = w.shape[0]
    if rows % (2 * n_head):
        raise ConfigError(f"cannot permute {w.shape} for {n_head} heads: rows must be a multiple of 2 x heads")
    return np.ascontiguousarray(w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def unpermute_qk(w: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """Inverse of `permute_qk` (GGUF layout -> HF layout), as transformers' GGUF loader does
    (modeling_gguf_pytorch_utils.LlamaTensorProcessor._reverse_permute_weights)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = w.shape[0]
    if rows % (2 * n_head):
        raise ConfigError(f"cannot un-permute {w.shape} for {n_head} heads: rows must be a multiple of 2 x heads")
    return np.ascontiguousarray(w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


@dataclass(frozen=True)
class BaseInfo:
    """What the export needs from the base GGUF: arch (general.architecture), n_layer, n_head,
    n_head_kv, name (general.name or file stem), tensors {name: ne tuple (ne0 = in, ne1 = out)}."""

    path: str
    arch: str
    n_layer: int
    n_head: int
    n_head_kv: int
    name: str
    tensors: Mapping[str, tuple[int, ...]]


def read_base_info(base_gguf: str | os.PathLike) -> BaseInfo:
    """Read architecture, head counts and tensor shapes of a GGUF model (memory-mapped, no
    tensor data is read). Raises ModelNotFoundError, ConfigError when keys are missing."""
    path = Path(base_gguf)
    if not path.is_file():
        raise ModelNotFoundError(f"base GGUF not found: {path}")
    reader = _gguf().GGUFReader(str(path))

    def field(key, default=None):
        f = reader.fields.get(key)
        if f is None:
            return default
        v = f.contents()
        return v.decode() if isinstance(v, bytes) else v

    arch = field("general.architecture")
    if not arch:
        raise ConfigError(f"{path}: no general.architecture key; is it a GGUF model file?")
    n_head = field(f"{arch}.attention.head_count")
    n_layer = field(f"{arch}.block_count")
    if n_head is None or n_layer is None:
        raise ConfigError(f"{path}: missing {arch}.attention.head_count or {arch}.block_count")
    n_head_kv = field(f"{arch}.attention.head_count_kv", n_head)
    tensors = {t.name: tuple(int(x) for x in t.shape) for t in reader.tensors}
    return BaseInfo(str(path), str(arch), int(n_layer), int(n_head), int(n_head_kv),
                    str(field("general.name") or path.stem), tensors)


def read_peft_adapter(adapter_dir: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(state dict of float32 numpy arrays, adapter_config.json dict) of a peft adapter folder
    (adapter_model.safetensors + adapter_config.json, as `save_pretrained` writes)."""
    d = Path(adapter_dir)
    cfg_path, st_path = d / "adapter_config.json", d / "adapter_model.safetensors"
    if not cfg_path.is_file() or not st_path.is_file():
        raise ModelNotFoundError(f"{d} is not a peft adapter folder (needs adapter_config.json and "
                                 "adapter_model.safetensors)")
    try:
        from safetensors.numpy import load_file
    except ImportError as e:
        raise missing_dependency("safetensors", extra="finetune") from e
    state = {k: v.astype(np.float32) for k, v in load_file(str(st_path)).items()}
    return state, json.loads(cfg_path.read_text(encoding="utf-8"))


def lora_tensors(state: Mapping[str, np.ndarray], adapter_config: Mapping, base: BaseInfo) -> list[tuple[str, np.ndarray]]:
    """GGUF tensors [(name, float32 array)] for a peft LoRA state dict, checked against the base
    GGUF's tensor shapes, with q/k lora_b permuted for PERMUTED_ARCHS (see module docstring).

    Raises ConfigError for adapters llama.cpp cannot apply as written: DoRA, rsLoRA or per-module
    rank/alpha patterns (one alpha/rank scale per file), trained biases or modules_to_save,
    fan_in_fan_out layers, tensors the base GGUF lacks (for example lm_head of a model with tied
    embeddings) or whose shapes do not match."""
    for key, bad in (("use_dora", True), ("use_rslora", True), ("fan_in_fan_out", True)):
        if adapter_config.get(key) == bad:
            raise ConfigError(f"adapter_config {key}={bad} is not supported by the llama.cpp LoRA export")
    if adapter_config.get("rank_pattern") or adapter_config.get("alpha_pattern"):
        raise ConfigError("per-module rank_pattern/alpha_pattern is not supported: llama.cpp uses one alpha per file")
    if adapter_config.get("bias", "none") != "none" or adapter_config.get("modules_to_save"):
        raise ConfigError("adapters with trained biases or modules_to_save cannot be exported as a LoRA GGUF")
    gguf = _gguf()
    arch_enum = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}.get(base.arch)
    if arch_enum is None:
        raise ConfigError(f"architecture {base.arch!r} is unknown to the installed gguf package")
    name_map = gguf.get_tensor_name_map(arch_enum, base.n_layer)
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, arr in state.items():
        m = _LORA_KEY.match(key)
        if not m:
            raise ConfigError(f"unexpected tensor {key!r} in the adapter (only LoRA A/B weights of linear layers can be exported)")
        pairs.setdefault(m.group("module"), {})[m.group("ab")] = arr
    out = []
    for module in sorted(pairs, key=_natural):
        ab = pairs[module]
        if set(ab) != {"A", "B"}:
            raise ConfigError(f"adapter module {module} lacks lora_A or lora_B")
        a, b = ab["A"], ab["B"]
        stem = name_map.get_name(module)
        name = f"{stem}.weight" if stem else None
        if name is None or name not in base.tensors:
            raise ConfigError(f"adapter module {module} has no tensor in the base GGUF {base.path} "
                              f"(mapped to {name!r}); LoRA on it cannot be applied by llama.cpp")
        ne = base.tensors[name]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1] or a.shape[1] != ne[0] or b.shape[0] != ne[1]:
            raise ConfigError(f"{module}: lora_A {a.shape} / lora_B {b.shape} do not fit base tensor {name} "
                              f"(in {ne[0]}, out {ne[1]}); was the adapter trained on this base model?")
        if base.arch in PERMUTED_ARCHS and stem.endswith(".attn_q"):
            b = permute_qk(b, base.n_head, base.n_head)
        elif base.arch in PERMUTED_ARCHS and stem.endswith(".attn_k"):
            b = permute_qk(b, base.n_head, base.n_head_kv)
        out.append((f"{name}.lora_a", np.ascontiguousarray(a, dtype=np.float32)))
        out.append((f"{name}.lora_b", np.ascontiguousarray(b, dtype=np.float32)))
    if not out:
        raise ConfigError("the adapter holds no LoRA tensors")
    return out


def _natural(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


@dataclass(frozen=True)
class ExportReport:
    """path: the GGUF written; tensors: number of tensors (2 per adapted layer); rank, alpha:
    LoRA settings (llama.cpp scale = alpha / rank); arch: base architecture; bytes: file size."""

    path: str
    tensors: int
    rank: int
    alpha: float
    arch: str
    bytes: int

    def to_dict(self) -> dict:
        return {"path": self.path, "tensors": self.tensors, "rank": self.rank, "alpha": self.alpha,
                "arch": self.arch, "bytes": self.bytes}


def export_lora_gguf(adapter_dir: str | os.PathLike, out_path: str | os.PathLike,
                     base_gguf: str | os.PathLike | None = None) -> ExportReport:
    """Write the peft adapter in `adapter_dir` as a llama.cpp LoRA GGUF at `out_path` (written to
    a temporary file in the same folder, then renamed). `base_gguf`: the GGUF the adapter was
    trained on (bundled SmolLM2 when None). Raises ModelNotFoundError, ConfigError (see
    `lora_tensors`), MissingDependencyError (gguf/safetensors missing)."""
    from ragbot.tune.finetune.hf import resolve_gguf

    base = read_base_info(resolve_gguf(base_gguf))
    state, cfg = read_peft_adapter(adapter_dir)
    tensors = lora_tensors(state, cfg, base)
    rank = int(tensors[0][1].shape[0])
    alpha = float(cfg.get("lora_alpha", rank))
    return write_lora_gguf(tensors, out_path, base, alpha, rank)


def write_lora_gguf(tensors: list[tuple[str, np.ndarray]], out_path: str | os.PathLike, base: BaseInfo,
                    alpha: float, rank: int) -> ExportReport:
    """Write `tensors` (from `lora_tensors`) with the adapter metadata; see `export_lora_gguf`."""
    gguf = _gguf()
    out = Path(out_path)

    def write(tmp: str) -> None:
        w = gguf.GGUFWriter(tmp, arch=base.arch)
        w.add_type(gguf.GGUFType.ADAPTER)
        w.add_string(gguf.Keys.Adapter.TYPE, "lora")
        w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        w.add_name(f"{base.name} LoRA")
        for name, arr in tensors:
            w.add_tensor(name, arr)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    atomic_write(out, write)
    return ExportReport(str(out), len(tensors), int(rank), float(alpha), base.arch, out.stat().st_size)
