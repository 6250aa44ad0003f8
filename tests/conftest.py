"""Shared fixtures: paths to ../shared, session-scoped real models, the hashing embedder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["conftest_pg"]  # the PostgreSQL fixtures (one server per test session)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
KNOWLEDGE = REPO / "knowledge"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present beside the repository")
    return CORPUS


@pytest.fixture(scope="session")
def dev_qa_path() -> Path:
    p = SHARED / "eval" / "dev_qa.jsonl"
    if not p.is_file():
        pytest.skip("../shared/eval/dev_qa.jsonl is not present")
    return p


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    from ragbot.kb.embedders import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()
    emb.warm_up()
    return emb


@pytest.fixture()
def hashing_embedder():
    from ragbot.kb.embedders import HashingEmbedder

    return HashingEmbedder(dim=64)


@pytest.fixture(scope="session")
def corpus_kb(tmp_path_factory, corpus, real_embedder):
    """A KB of ../shared/corpus leases + bad PDFs + Columbus listings with the real embedder,
    built once per session. Returns (KnowledgeBase, first IngestReport)."""
    from ragbot.kb import KnowledgeBase

    kb = KnowledgeBase.open(tmp_path_factory.mktemp("corpus") / "kb", embedder=real_embedder, create=True)
    report = kb.ingest([corpus / "leases", corpus / "bad_pdfs",
                        corpus / "listings" / "insideairbnb_columbus_oh_2018-07_listings.csv"])
    return kb, report


@pytest.fixture(scope="session")
def real_generator():
    """The bundled SmolLM2-135M-Instruct Q4_1 through llama.cpp, loaded once per session."""
    from ragbot.config import GeneratorConfig
    from ragbot.generators import LlamaCppGenerator

    gen = LlamaCppGenerator(GeneratorConfig())
    gen.warm_up()
    return gen


@pytest.fixture(scope="session")
def knowledge_kb_dir(tmp_path_factory, real_embedder):
    """A KB of the bundled knowledge/ (three ingest calls, as the demo does), built once."""
    from ragbot.config import BotConfig
    from ragbot.kb import KnowledgeBase

    root = tmp_path_factory.mktemp("knowledge") / "kb"
    config = BotConfig()
    config.prompt.business_name = "Harborview Property Management"
    config.save(root)
    kb = KnowledgeBase.open(root, config=config, embedder=real_embedder, create=True)
    kb.ingest([KNOWLEDGE / "common"])
    kb.ingest([KNOWLEDGE / "properties" / "oak-street"], scope={"property": "oak-street"})
    kb.ingest([KNOWLEDGE / "properties" / "pine-avenue"], scope={"property": "pine-avenue"})
    return root
