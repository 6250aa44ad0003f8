"""Test doubles, a gate config tuned for them, `free_port` for live servers, and the conformance
suites (haystack `testing/`).

    from ragbot.testing import HashingEmbedder, ScriptedGenerator, doubles_config
    bot = Bot(KnowledgeBase.in_memory(HashingEmbedder(256)), config=doubles_config(),
              generator=ScriptedGenerator(["The deposit is $1,450 [1]."]))

Conformance: subclass `ChunkStoreConformance`, `VectorIndexConformance` or
`KnowledgeBaseConformance` (ragbot.testing.conformance) in a pytest module and provide the factory
fixture they name; every backend runs the same tests.
"""

from __future__ import annotations

import socket

from ragbot.config import BotConfig
from ragbot.generators.scripted import ScriptedGenerator
from ragbot.kb.embedders.hashing import HashingEmbedder

__all__ = ["HashingEmbedder", "ScriptedGenerator", "doubles_config", "free_port"]


def doubles_config() -> BotConfig:
    """A BotConfig whose gate suits the hashing embedder (its cosines are lower than MiniLM's)
    and a scripted generator: used by ragbot's own fast Bot tests."""
    cfg = BotConfig(urgency=False)  # the emergency classifier needs a real embedder
    cfg.gate.min_retrieval_score = 0.1
    cfg.gate.min_quote_score = 0.0
    cfg.gate.min_clarify_quote_score = 0.0
    cfg.gate.good_retrieval_score = 0.5
    cfg.gate.ambiguity_margin = 0.2
    cfg.retrieval.faq_min_score = 0.8
    return cfg


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it), for a live test server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
