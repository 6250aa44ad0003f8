"""Shared fixtures: paths to ../shared, session-scoped real models, the hashing embedder, a small
KB of two leases (`kb_dir`) and the bundled knowledge/ as a KB."""

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


def _build_knowledge_kb(root: Path, config, embedder) -> Path:
    """The bundled knowledge/ ingested as the demo does (common, then each property with its
    scope) into a KB at `root` that keeps `config`."""
    from ragbot.kb import KnowledgeBase

    config.save(root)
    kb = KnowledgeBase.open(root, config=config, embedder=embedder, create=True)
    kb.ingest([KNOWLEDGE / "common"])
    kb.ingest([KNOWLEDGE / "properties" / "oak-street"], scope={"property": "oak-street"})
    kb.ingest([KNOWLEDGE / "properties" / "pine-avenue"], scope={"property": "pine-avenue"})
    return root


@pytest.fixture(scope="session")
def build_knowledge_kb():
    """build(root, config, embedder) -> root: a KB of the bundled knowledge/ with any config and
    embedder (e.g. the hashing embedder for fast browser tests)."""
    return _build_knowledge_kb


@pytest.fixture(scope="session")
def knowledge_kb_dir(tmp_path_factory, real_embedder):
    """A KB of the bundled knowledge/ with the real embedder, built once."""
    from ragbot.config import BotConfig

    config = BotConfig()
    config.prompt.business_name = "Harborview Property Management"
    return _build_knowledge_kb(tmp_path_factory.mktemp("knowledge") / "kb", config, real_embedder)


OAK_LEASE = """# Oak Street lease

The security deposit at Oak Street is one month's rent, $1,450. Only cats are allowed, at most two cats.
The tenant must give 30 days written notice before moving out.
"""
PINE_LEASE = """# Pine Avenue lease

The security deposit at Pine Avenue is $2,000 flat. Cats and dogs under 40 lb are allowed.
The tenant must give 60 days written notice before moving out.
"""
OFFICE_FAQ = "question,answer\nWhat are your office hours?,The office is open Monday to Friday from 9 a.m. to 5 p.m.\n"


@pytest.fixture()
def kb_dir(tmp_path) -> Path:
    """A KB of two scoped leases (property=oak-street: a $1,450 deposit, cats only; pine-avenue: a
    $2,000 deposit, cats and dogs) and a company FAQ (office hours), typed by their leases/ and
    faqs/ folders, built with HashingEmbedder(256) in tmp_path. A test module with another KB
    defines its own `kb_dir`."""
    from ragbot.kb import KnowledgeBase
    from ragbot.kb.embedders import HashingEmbedder

    for folder, name, text in (("oak/leases", "oak_lease.md", OAK_LEASE), ("pine/leases", "pine_lease.md", PINE_LEASE),
                               ("common/faqs", "faq.csv", OFFICE_FAQ)):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / name).write_text(text)
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=HashingEmbedder(256), create=True)
    kb.ingest([tmp_path / "common"])
    kb.ingest([tmp_path / "oak"], scope={"property": "oak-street"})
    kb.ingest([tmp_path / "pine"], scope={"property": "pine-avenue"})
    return tmp_path / "kb"
