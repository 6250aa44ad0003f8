"""ragbot: retrieval-augmented answers from a business's own documents, with a confidence gate
that answers, asks a clarifying question, or hands the conversation to a person.

    import ragbot
    bot = ragbot.Bot.open("kb")
    reply = bot.ask("How much is the deposit?", scope={"property": "oak-street"})
    reply.decision, reply.text, reply.sources

Exports are lazy (PEP 562): `import ragbot` loads none of torch, faiss, llama_cpp or
sentence_transformers; a name is imported from its module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS = {
    "Bot": "ragbot.bot",
    "BotConfig": "ragbot.config",
    "KBConfig": "ragbot.config",
    "GateConfig": "ragbot.config",
    "KnowledgeBase": "ragbot.kb.knowledge_base",
    "Reply": "ragbot.types",
    "Decision": "ragbot.types",
    "Source": "ragbot.types",
    "HandoffTicket": "ragbot.types",
    "Document": "ragbot.types",
    "Chunk": "ragbot.types",
    "Hit": "ragbot.types",
    "IngestReport": "ragbot.types",
    "Turn": "ragbot.types",
    "GateSignals": "ragbot.chat.gate",
    "TokenEvent": "ragbot.chat.events",
    "SourcesEvent": "ragbot.chat.events",
    "DecisionEvent": "ragbot.chat.events",
    "ReplyEvent": "ragbot.chat.events",
    "RagbotError": "ragbot.errors",
    "InputError": "ragbot.errors",
    "ConfigError": "ragbot.errors",
    "IngestError": "ragbot.errors",
    "KnowledgeBaseError": "ragbot.errors",
    "EmptyKnowledgeBaseError": "ragbot.errors",
    "IndexMismatchError": "ragbot.errors",
    "ModelNotFoundError": "ragbot.errors",
    "MissingDependencyError": "ragbot.errors",
    "SessionNotFoundError": "ragbot.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ragbot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)


if TYPE_CHECKING:  # for type checkers and IDEs only
    from ragbot.bot import Bot
    from ragbot.chat.events import DecisionEvent, ReplyEvent, SourcesEvent, TokenEvent
    from ragbot.chat.gate import GateSignals
    from ragbot.config import BotConfig, GateConfig, KBConfig
    from ragbot.errors import (ConfigError, EmptyKnowledgeBaseError, IndexMismatchError, IngestError, InputError,
                               KnowledgeBaseError, MissingDependencyError, ModelNotFoundError, RagbotError,
                               SessionNotFoundError)
    from ragbot.kb.knowledge_base import KnowledgeBase
    from ragbot.types import Chunk, Decision, Document, HandoffTicket, Hit, IngestReport, Reply, Source, Turn
