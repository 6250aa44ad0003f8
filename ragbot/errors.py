"""Errors raised by ragbot. Every message says what went wrong and what to do about it."""

from __future__ import annotations


class RagbotError(Exception):
    """Base class of every error ragbot raises on purpose."""


class ConfigError(RagbotError, ValueError):
    """A configuration value is missing, malformed or inconsistent."""


class IngestError(RagbotError):
    """A file could not be turned into documents (the ingest skips it and reports the reason)."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class KnowledgeBaseError(RagbotError):
    """The knowledge-base directory is missing, corrupt, or was built with other settings."""


class IndexMismatchError(KnowledgeBaseError):
    """The knowledge base was built with a different embedder, dimension or format version."""


class EmptyKnowledgeBaseError(KnowledgeBaseError):
    """A search or question was made against a knowledge base that holds no chunks."""


class ModelNotFoundError(RagbotError, FileNotFoundError):
    """A model file or folder (embedder, GGUF generator, LoRA adapter) does not exist."""


class MissingDependencyError(RagbotError, ImportError):
    """An optional dependency is not installed; the message gives the pip command."""


class InputError(RagbotError, ValueError):
    """A question, session id or scope passed by the caller is unusable."""


class SessionNotFoundError(InputError, KeyError):
    """A session id was given that the session store does not know."""

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0]) if self.args else "unknown session"


def missing_dependency(module: str, extra: str | None = None, package: str | None = None) -> MissingDependencyError:
    """Build the error raised when an optional import fails, with the install command."""
    pkg = package or module
    hint = f"pip install 'ragbot[{extra}]'" if extra else f"pip install {pkg}"
    return MissingDependencyError(f"ragbot needs the '{module}' module for this; install it with: {hint}")
