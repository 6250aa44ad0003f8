"""Vector indexes: the VectorIndex protocol, FAISS (CPU, GPU when present) and an exact NumPy
reference used by tests and as a conformance baseline."""

from ragbot.kb.index.base import VectorIndex, check_vectors
from ragbot.kb.index.faiss_index import FaissIndex, faiss_gpu_count
from ragbot.kb.index.numpy_index import NumpyIndex

__all__ = ["VectorIndex", "FaissIndex", "NumpyIndex", "faiss_gpu_count", "check_vectors"]
