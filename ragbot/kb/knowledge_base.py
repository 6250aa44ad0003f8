"""KnowledgeBase: ingest and search, composed of a Storage (chunk store + vector index
generations) and an Embedder (see kb/protocols.py).

    kb = KnowledgeBase.open("kb")                     # cheap; models load on first use
    report = kb.ingest(["knowledge/common"], scope={"property": "oak-street"})
    hits = kb.search("How much is the deposit?", k=5, scope={"property": "oak-street"})
    kb = KnowledgeBase.in_memory(HashingEmbedder())   # NumPy + memory store, for tests
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from ragbot.config import KBConfig
from ragbot.errors import EmptyKnowledgeBaseError, IndexMismatchError, InputError, KnowledgeBaseError
from ragbot.kb.embedders import Embedder, make_embedder
from ragbot.kb.protocols import ChangeSet, ChunkStore, FileRecord, Generation, SourceEntry, Storage
from ragbot.kb.scope import check_scope
from ragbot.kb.storage import DirectoryStorage, MemoryStorage
from ragbot.types import Chunk, Hit, IngestReport


class KnowledgeBase:
    """A knowledge base. Construct with `KnowledgeBase.open(dir)` or `KnowledgeBase.in_memory()`.

    Readers see the generation loaded when opened (or after `reload()`); writers (`ingest`) build
    a new generation and switch to it atomically (Storage.commit).
    """

    def __init__(self, storage: Storage, config: KBConfig | None = None, embedder: Embedder | None = None):
        self.storage = storage
        self.config = getattr(config, "kb", config) or KBConfig()  # a BotConfig's kb section works too
        self.embedder = embedder or make_embedder(self.config.embedder)
        self._gen: Generation | None = None
        self._lexical = None  # (generation, LexicalIndex), built on first hybrid search
        self._id_by_chunk: dict[str, int] = {}

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, root: str | os.PathLike, config: KBConfig | None = None, embedder: Embedder | None = None,
             create: bool = False) -> "KnowledgeBase":
        """Open the KB directory `root` (config: `root`/config.json, else defaults). Raises
        KnowledgeBaseError when there is none and `create` is False, or `root` is a file;
        IndexMismatchError when it was built with another embedder or format version."""
        from ragbot.kb.postgres import is_postgres_url

        config = getattr(config, "kb", config)
        if is_postgres_url(str(root)) or (config is not None and config.backend == "postgres"):
            from ragbot.kb.postgres import open_postgres_kb

            dsn = str(root) if is_postgres_url(str(root)) else config.postgres.dsn
            config = config or KBConfig()
            return open_postgres_kb(dsn, config=config, embedder=embedder, postgres=config.postgres, create=create)
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise KnowledgeBaseError(f"--kb {root} is a file, not a knowledge-base directory; give a directory "
                                     f"(ragbot ingest PATH --kb DIR creates one)")
        config = config or _config_from_file(root)
        storage = DirectoryStorage(root, use_gpu=config.index.use_gpu, hnsw_ef_search=config.index.hnsw_ef_search)
        kb = cls(storage, config=config, embedder=embedder)
        if storage.exists():
            kb.reload()
        elif not create:
            raise KnowledgeBaseError(f"no knowledge base at {root}; create one with: ragbot ingest PATH --kb {root}")
        return kb

    @classmethod
    def in_memory(cls, embedder: Embedder | None = None, config: KBConfig | None = None) -> "KnowledgeBase":
        """An empty KB in memory (exact NumPy index + MemoryChunkStore): fast tests, notebooks."""
        return cls(MemoryStorage(), config=config, embedder=embedder)

    @property
    def root(self) -> Path | None:
        """The KB directory (DirectoryStorage), else None."""
        return getattr(self.storage, "root", None)

    def reload(self) -> None:
        """Load the storage's current generation and check it matches the embedder."""
        gen = self.storage.load()
        emb = gen.manifest["embedder"]
        if emb.get("name") != self.embedder.name:
            raise IndexMismatchError(
                f"{self.storage.location} was built with embedder {emb.get('name')!r} ({emb.get('dim')} dims) but this "
                f"configuration uses {self.embedder.name!r}; use the same embedder or re-ingest into a new --kb directory")
        if gen.index.dim != emb.get("dim"):
            raise IndexMismatchError(f"{self.storage.location}: index dimension {gen.index.dim} != manifest "
                                     f"{emb.get('dim')}; re-ingest")
        if self._gen is not None and self._gen is not gen:
            self._gen.store.close()
        self._gen = gen

    def close(self) -> None:
        if self._gen is not None:
            self._gen.store.close()
            self._gen = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- reading
    @property
    def generation(self) -> int | None:
        return None if self._gen is None else int(self._gen.manifest["generation"])

    @property
    def manifest(self) -> Mapping | None:
        return None if self._gen is None else self._gen.manifest

    @property
    def store(self) -> ChunkStore | None:
        return None if self._gen is None else self._gen.store

    @property
    def index(self):
        return None if self._gen is None else self._gen.index

    def __len__(self) -> int:
        return 0 if self._gen is None else self._gen.index.ntotal

    def files(self) -> list[FileRecord]:
        """Ingested files, sorted by path."""
        return [] if self._gen is None else self._gen.store.files()

    def chunks_by_ids(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """int64 ids (as in the index) -> Chunk; unknown ids are absent from the result."""
        return {} if self._gen is None or len(ids) == 0 else self._gen.store.chunks_by_ids(ids)

    def scope_values(self, key: str) -> list[str]:
        """Distinct values of scope `key` across chunks (e.g. all properties), sorted."""
        return [] if self._gen is None else self._gen.store.scope_values(key)

    def source_catalog(self) -> list[SourceEntry]:
        """One entry per (source, scope): what users name documents by (chat/retrieval.Group)."""
        return [] if self._gen is None else self._gen.store.source_catalog()

    def check_scope(self, scope: Mapping[str, str] | None) -> dict[str, str]:
        """Validate `scope` and check every value against the values this KB holds; raises
        InputError naming the nearest known value ("did you mean oak-street?")."""
        from ragbot.kb.scope import check_scope_known

        scope = check_scope(scope)
        if scope and self._gen is not None:
            check_scope_known(scope, {k: self.scope_values(k) for k in scope})
        return scope

    def search_vectors(self, queries: np.ndarray, k: int = 5, scope: Mapping[str, str] | None = None,
                       include_unscoped: bool = False, sources: Sequence[str] | None = None) -> list[list[Hit]]:
        """queries float32 (n, dim), L2-normalised -> n lists of up to k Hits, best first.
        Scope filtering happens before ranking (ChunkStore.allowed_ids)."""
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        if self._gen is None or len(self) == 0:
            raise EmptyKnowledgeBaseError(f"the knowledge base at {self.storage.location} is empty; run: "
                                          f"ragbot ingest PATH --kb {self.storage.location}")
        allowed = self._gen.store.allowed_ids(scope, include_unscoped, sources)
        scores, ids = self._gen.index.search(queries, k, allowed_ids=allowed)
        chunks = self.chunks_by_ids(np.unique(ids[ids >= 0]).tolist())
        results = []
        for srow, irow in zip(scores, ids):
            pairs = [(float(s), int(i)) for s, i in zip(srow, irow) if i >= 0 and int(i) in chunks]
            results.append([Hit(chunk=chunks[i], score=s, rank=r) for r, (s, i) in enumerate(pairs)])
        return results

    def search(self, query: str, k: int = 5, scope: Mapping[str, str] | None = None,
               include_unscoped: bool = False, sources: Sequence[str] | None = None) -> list[Hit]:
        """Top-k chunks for `query` by cosine similarity of embeddings (score in [-1, 1]).

        Raises InputError for an empty query or k < 1, EmptyKnowledgeBaseError when nothing was
        ingested. With `scope`, only chunks whose scope matches every key=value are ranked."""
        if not query or not query.strip():
            raise InputError("the search query is empty")
        self._reload_if_stale()
        q = self.embedder.embed_query(query)
        dense = self.search_vectors(q[None, :], k=k, scope=scope, include_unscoped=include_unscoped, sources=sources)[0]
        if not self.config.lexical:
            return dense
        return self._fuse(query, q, dense, k, self._gen.store.allowed_ids(scope, include_unscoped, sources))

    def _reload_if_stale(self) -> None:
        """A shared backend (Postgres) may have a newer generation from another worker's ingest."""
        current = getattr(self.storage, "current_generation", None)
        if current is not None and self._gen is not None and current(self._gen.store) != self.generation:
            self.reload()

    def _fuse(self, query: str, q: np.ndarray, dense: list[Hit], k: int, allowed) -> list[Hit]:
        """Dense and BM25 rankings fused by reciprocal rank fusion (kb/lexical.py); every Hit keeps
        its cosine score (BM25-only hits get theirs from the stored vectors)."""
        from ragbot.kb.lexical import rrf

        lexical = [i for i, _ in self.lexical_index().search(query, k, allowed)]
        dense_by_id = {self._id_by_chunk[h.chunk.chunk_id]: h for h in dense if h.chunk.chunk_id in self._id_by_chunk}
        order = rrf([list(dense_by_id), lexical], self.config.rrf_k)[:k]
        extra = [i for i in order if i not in dense_by_id]
        chunks = self.chunks_by_ids(extra)
        cos = (self._gen.index.reconstruct(np.array(extra, np.int64)) @ q).tolist() if extra else []
        found = {**{i: (h.chunk, h.score) for i, h in dense_by_id.items()},
                 **{i: (chunks[i], float(c)) for i, c in zip(extra, cos)}}
        return [Hit(chunk=found[i][0], score=found[i][1], rank=r) for r, i in enumerate(order)]

    def lexical_index(self):
        """The BM25 index of the current generation, built on first use (kb/lexical.py)."""
        from ragbot.kb.lexical import LexicalIndex

        if getattr(self, "_lexical", None) is None or self._lexical[0] is not self._gen:
            ids = self._gen.index.ids()
            chunks = self.chunks_by_ids(ids.tolist())
            kept = [int(i) for i in ids if int(i) in chunks]
            self._id_by_chunk = {chunks[i].chunk_id: i for i in kept}
            self._lexical = (self._gen, LexicalIndex(kept, [chunks[i].text for i in kept]))
        return self._lexical[1]


    # ---------------------------------------------------------------- writing
    def ingest(self, paths: Iterable[str | os.PathLike], scope: Mapping[str, str] | None = None,
               doc_type: str | None = None, prune: bool = False, show_progress: bool = False) -> IngestReport:
        """Ingest files and folders (recursively) incrementally by content hash; see ingest.pipeline."""
        from ragbot.kb.ingest.pipeline import run_ingest

        return run_ingest(self, list(paths), scope=check_scope(scope), doc_type=doc_type, prune=prune,
                          show_progress=show_progress)

    def commit(self, change: ChangeSet) -> None:
        """Apply an ingest's ChangeSet as one new generation (atomic) and switch to it.
        Call under `self.storage.write_lock()` after `reload_if_exists()`."""
        manifest = {"embedder": {"name": self.embedder.name, "dim": int(self._dim(change))},
                    "chunking": self.config.chunking.model_dump(),
                    "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._gen = self.storage.commit(self._gen, change, manifest, self._new_index)
        self.reload()

    def reload_if_exists(self) -> None:
        if self.storage.exists():
            self.reload()

    def _dim(self, change: ChangeSet) -> int:
        if self._gen is not None:
            return self._gen.index.dim
        for v in change.vectors.values():
            return int(np.asarray(v).shape[-1])
        return self.embedder.dim

    def _new_index(self, dim: int, n: int):
        """The FAISS index of a new KB: flat below index.hnsw_min_vectors vectors (kind auto)."""
        from ragbot.kb.index import FaissIndex

        ic = self.config.index
        kind = ("hnsw" if n >= ic.hnsw_min_vectors else "flat") if ic.kind == "auto" else ic.kind
        return FaissIndex(dim, kind=kind, use_gpu=False, hnsw_m=ic.hnsw_m, hnsw_ef_search=ic.hnsw_ef_search)


def _config_from_file(root: Path) -> KBConfig:
    from ragbot.config import BotConfig

    return BotConfig.load(root).kb
