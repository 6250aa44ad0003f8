"""KnowledgeBase: the public API over a KB directory (ingest, search).

    kb = KnowledgeBase.open("kb")                     # cheap; models load on first use
    report = kb.ingest(["knowledge/common"], scope={"property": "oak-street"})
    hits = kb.search("How much is the deposit?", k=5, scope={"property": "oak-street"})
"""

from __future__ import annotations

import json
import os
import time
from typing import Iterable, Mapping, Sequence

import numpy as np

from ragbot.config import CONFIG_FILE, KBConfig, load_json_model
from ragbot.kb.embedders import Embedder, make_embedder
from ragbot.errors import EmptyKnowledgeBaseError, IndexMismatchError, InputError, KnowledgeBaseError
from ragbot.kb.index import FaissIndex
from ragbot.kb.store import FORMAT_VERSION, KBDirectory, check_scope, connect
from ragbot.types import Chunk, Hit, IngestReport


def _row_to_chunk(row) -> Chunk:
    return Chunk(chunk_id=row["chunk_id"], text=row["text"], source=row["source"], doc_type=row["doc_type"],
                 page=row["page"], metadata=json.loads(row["metadata"]), scope=json.loads(row["scope"]))


class KnowledgeBase:
    """A knowledge base on disk. Construct with `KnowledgeBase.open(dir)`.

    Readers see the generation named by manifest.json when opened (or after `reload()`); writers
    (`ingest`, `remove_paths`) build a new generation and switch the manifest atomically.
    """

    def __init__(self, root: str | os.PathLike, config: KBConfig | None = None, embedder: Embedder | None = None):
        self.dir = KBDirectory(root)
        self.root = self.dir.root
        if config is None:
            config = self._config_from_file()
        self.config = config
        self.embedder = embedder or make_embedder(config.embedder)
        self._conn = None
        self._index: FaissIndex | None = None
        self._gen: int | None = None
        self.manifest: dict | None = None

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, root: str | os.PathLike, config: KBConfig | None = None, embedder: Embedder | None = None,
             create: bool = False) -> "KnowledgeBase":
        """Open the KB at `root`. Raises KnowledgeBaseError when there is none and `create` is
        False; IndexMismatchError when it was built with another embedder or format version."""
        kb = cls(root, config=config, embedder=embedder)
        if kb.dir.exists():
            kb.reload()
        elif not create:
            raise KnowledgeBaseError(f"no knowledge base at {kb.root}; create one with: ragbot ingest PATH --kb {kb.root}")
        return kb

    def _config_from_file(self) -> KBConfig:
        path = self.root / CONFIG_FILE
        if not path.is_file():
            return KBConfig()
        return load_json_model(KBConfig, path, only_known_keys=True)

    def reload(self) -> None:
        """Re-read manifest.json and open the generation it names."""
        m = self.dir.read_manifest()
        emb = m["embedder"]
        if emb.get("name") != self.embedder.name:
            raise IndexMismatchError(
                f"{self.root} was built with embedder {emb.get('name')!r} ({emb.get('dim')} dims) but this "
                f"configuration uses {self.embedder.name!r}; use the same embedder or re-ingest into a new --kb directory")
        gen = int(m["generation"])
        if self._conn is not None:
            self._conn.close()
        self._conn = connect(self.dir.chunks_path(gen), readonly=True)
        self._index = FaissIndex.load(self.dir.index_path(gen), use_gpu=self.config.index.use_gpu,
                                      hnsw_ef_search=self.config.index.hnsw_ef_search)
        if self._index.dim != emb.get("dim"):
            raise IndexMismatchError(f"{self.root}: index dimension {self._index.dim} != manifest {emb.get('dim')}; re-ingest")
        self._gen, self.manifest = gen, m

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- reading
    @property
    def generation(self) -> int | None:
        return self._gen

    def __len__(self) -> int:
        return 0 if self._index is None else self._index.ntotal

    @property
    def index(self) -> FaissIndex | None:
        return self._index

    def files(self) -> list[dict]:
        """Ingested files: path, sha256, size, doc_type, scope (dict), n_documents."""
        if self._conn is None:
            return []
        rows = self._conn.execute("SELECT * FROM files ORDER BY path").fetchall()
        return [dict(r, scope=json.loads(r["scope"])) for r in rows]

    def chunks_by_ids(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """int64 ids (as in the index) -> Chunk; unknown ids are absent from the result."""
        if self._conn is None or len(ids) == 0:
            return {}
        out: dict[int, Chunk] = {}
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            q = f"SELECT * FROM chunks WHERE id IN ({','.join('?' * len(part))})"
            for row in self._conn.execute(q, part):
                out[int(row["id"])] = _row_to_chunk(row)
        return out

    def scope_values(self, key: str) -> list[str]:
        """Distinct values of scope `key` across chunks (e.g. all properties), sorted."""
        if self._conn is None:
            return []
        rows = self._conn.execute(
            "SELECT DISTINCT json_extract(scope, ?) AS v FROM chunks WHERE v IS NOT NULL ORDER BY v", (f"$.{key}",))
        return [r["v"] for r in rows]

    def allowed_ids(self, scope: Mapping[str, str] | None, include_unscoped: bool = False,
                    sources: Sequence[str] | None = None) -> np.ndarray | None:
        """int64 ids of chunks matching every key=value of `scope` and, when given, one of
        `sources` (exact source strings); None = no filter. With include_unscoped, chunks that
        lack a scope key also pass (company-wide documents)."""
        scope = check_scope(scope)
        if (not scope and sources is None) or self._conn is None:
            return None
        conds, args = [], []
        if sources is not None:
            conds.append(f"source IN ({','.join('?' * len(sources))})" if sources else "0")
            args += list(sources)
        for k, v in scope.items():
            path = f"$.{k}"
            if include_unscoped:
                conds.append("(json_extract(scope, ?) = ? OR json_extract(scope, ?) IS NULL)")
                args += [path, v, path]
            else:
                conds.append("json_extract(scope, ?) = ?")
                args += [path, v]
        rows = self._conn.execute(f"SELECT id FROM chunks WHERE {' AND '.join(conds)}", args).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def search_vectors(self, queries: np.ndarray, k: int = 5, scope: Mapping[str, str] | None = None,
                       include_unscoped: bool = False, sources: Sequence[str] | None = None) -> list[list[Hit]]:
        """queries float32 (n, dim), L2-normalised -> n lists of up to k Hits, best first.
        Scope filtering happens before ranking (see `allowed_ids`)."""
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}")
        if self._index is None or len(self) == 0:
            raise EmptyKnowledgeBaseError(f"the knowledge base at {self.root} is empty; run: ragbot ingest PATH --kb {self.root}")
        allowed = self.allowed_ids(scope, include_unscoped, sources)
        scores, ids = self._index.search(queries, k, allowed_ids=allowed)
        chunks = self.chunks_by_ids(np.unique(ids[ids >= 0]).tolist())
        results = []
        for srow, irow in zip(scores, ids):
            hits = [Hit(chunk=chunks[int(i)], score=float(s), rank=r)
                    for r, (s, i) in enumerate((s, i) for s, i in zip(srow, irow) if i >= 0 and int(i) in chunks)]
            results.append(hits)
        return results

    def search(self, query: str, k: int = 5, scope: Mapping[str, str] | None = None,
               include_unscoped: bool = False, sources: Sequence[str] | None = None) -> list[Hit]:
        """Top-k chunks for `query` by cosine similarity of embeddings (score in [-1, 1]).

        Raises InputError for an empty query or k < 1, EmptyKnowledgeBaseError when nothing was
        ingested. With `scope`, only chunks whose scope matches every key=value are ranked."""
        if not query or not query.strip():
            raise InputError("the search query is empty")
        q = self.embedder.embed_query(query)
        return self.search_vectors(q[None, :], k=k, scope=scope, include_unscoped=include_unscoped, sources=sources)[0]

    def source_catalog(self) -> list[tuple[str, str, dict, dict]]:
        """One row per source: (source, doc_type, scope, metadata of its first chunk); used to
        build the labels users name documents by (see retrieval.Group)."""
        if self._conn is None:
            return []
        rows = self._conn.execute("SELECT source, doc_type, scope, metadata FROM chunks GROUP BY source, scope")
        return [(r["source"], r["doc_type"], json.loads(r["scope"]), json.loads(r["metadata"])) for r in rows]

    # ---------------------------------------------------------------- writing
    def ingest(self, paths: Iterable[str | os.PathLike], scope: Mapping[str, str] | None = None,
               doc_type: str | None = None, prune: bool = False, show_progress: bool = False) -> IngestReport:
        """Ingest files and folders (recursively) incrementally by content hash; see ingest.pipeline."""
        from ragbot.kb.ingest.pipeline import run_ingest

        report = run_ingest(self, list(paths), scope=check_scope(scope), doc_type=doc_type, prune=prune,
                            show_progress=show_progress)
        return report

    def _manifest_for(self, gen: int, n_chunks: int, n_files: int, dim: int) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "generation": gen,
            "embedder": {"name": self.embedder.name, "dim": int(dim)},
            "chunking": self.config.chunking.model_dump(),
            "index": {"kind": self._index.kind if self._index else "flat"},
            "counts": {"chunks": n_chunks, "files": n_files},
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
