"""Embedders turn texts into L2-normalised float32 vectors (see `Embedder`)."""

from ragbot.kb.embedders.base import Embedder, normalize
from ragbot.kb.embedders.hashing import HashingEmbedder
from ragbot.kb.embedders.sentence_transformer import SentenceTransformerEmbedder, bundled_model_path

__all__ = ["Embedder", "HashingEmbedder", "SentenceTransformerEmbedder", "bundled_model_path", "normalize", "make_embedder"]


def make_embedder(config) -> Embedder:
    """Build the embedder an `EmbedderConfig` describes (cheap: the model loads on first use)."""
    return SentenceTransformerEmbedder(
        model_path=config.model_path,
        batch_size=config.batch_size,
        device=config.device,
        max_seq_length=config.max_seq_length,
    )
