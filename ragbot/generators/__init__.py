"""Generators turn chat messages into text plus per-token log-probs (see `Generator`)."""

from ragbot.generators.base import Generation, Generator, StopStream, validate_messages
from ragbot.generators.llama import LlamaCppGenerator, bundled_model_path
from ragbot.generators.scripted import ScriptedGenerator

__all__ = ["Generation", "Generator", "LlamaCppGenerator", "ScriptedGenerator", "StopStream",
           "bundled_model_path", "make_generator", "validate_messages"]


def make_generator(config) -> Generator:
    """Build the generator a `GeneratorConfig` describes (cheap: the model loads on first use):
    llama.cpp in process, or an OpenAI-compatible server (backend "openai")."""
    if config.backend == "openai":
        from ragbot.generators.openai_compat import OpenAICompatGenerator, OpenAIGeneratorConfig

        return OpenAICompatGenerator(config.openai or OpenAIGeneratorConfig())
    return LlamaCppGenerator(config)
