"""The public surface: `import ragbot` exposes the documented names, lazily, without importing
any heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ragbot

PUBLIC = ["Bot", "BotConfig", "KnowledgeBase", "Reply", "Decision", "Source", "HandoffTicket", "Document", "Chunk",
          "Hit", "IngestReport", "RagbotError", "InputError", "ConfigError", "IngestError", "KnowledgeBaseError",
          "EmptyKnowledgeBaseError", "IndexMismatchError", "ModelNotFoundError", "MissingDependencyError",
          "SessionNotFoundError", "GateSignals", "TokenEvent", "SourcesEvent", "DecisionEvent", "ReplyEvent"]
HEAVY = ["torch", "faiss", "llama_cpp", "sentence_transformers", "transformers", "fastapi", "psycopg", "sklearn"]


def _imported_after(code: str) -> dict:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name):
    obj = getattr(ragbot, name)
    assert obj.__module__.startswith("ragbot.") and name in ragbot.__all__ and name in dir(ragbot)


def test_import_ragbot_loads_no_heavy_library():
    assert _imported_after("import ragbot") == []


def test_touching_the_main_classes_still_loads_no_heavy_library():
    code = "import ragbot\nragbot.Bot; ragbot.KnowledgeBase; ragbot.BotConfig(); ragbot.Reply; ragbot.GateSignals"
    assert _imported_after(code) == []


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        ragbot.Nope


def test_in_memory_bot_from_the_public_surface_and_testing_doubles():
    from ragbot.testing import HashingEmbedder, ScriptedGenerator, doubles_config

    kb = ragbot.KnowledgeBase.in_memory(HashingEmbedder(128))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "faqs").mkdir()
        (Path(d) / "faqs" / "faq.csv").write_text("question,answer\nWhat are your office hours?,9 to 5 on weekdays.\n")
        kb.ingest([d])
    bot = ragbot.Bot(kb, config=doubles_config(), generator=ScriptedGenerator(["x"]))
    reply = bot.ask("What are your office hours?")
    assert isinstance(reply, ragbot.Reply) and reply.decision is ragbot.Decision.ANSWER and reply.rule == "faq"
    assert isinstance(reply.signals, ragbot.GateSignals) and reply.signals.faq_match
