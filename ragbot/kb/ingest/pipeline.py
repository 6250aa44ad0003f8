"""Incremental ingest: files -> documents -> chunks -> embeddings -> a new KB generation.

Per file the SHA-256 of its bytes, its doc_type and the call's scope decide: unchanged files are
not read past hashing and re-embed nothing; new or changed files replace their chunks; chunks
already in the store (same text and scope, see chunk_id) are reused without re-embedding.
`prune` removes files under the given folders that no longer exist. Writes follow store.py's
generation scheme, so a killed ingest leaves the previous KB intact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from ragbot.errors import IngestError, InputError
from ragbot.kb.index import FaissIndex
from ragbot.kb.store import copy_store, fsync_file
from ragbot.types import Chunk, Document, IngestReport, SkippedFile
from ragbot.kb.ingest import SUPPORTED_EXTENSIONS, chunk_documents, detect_doc_type, find_near_duplicate_faqs, load_file

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def expand_paths(paths: list[str | os.PathLike]) -> tuple[list[tuple[Path, str]], list[Path]]:
    """Files to ingest as (absolute path, path as the user wrote it) and the folders given.
    Folders are walked recursively for SUPPORTED_EXTENSIONS, skipping hidden names.
    Raises InputError for a path that does not exist."""
    files: dict[Path, str] = {}
    folders: list[Path] = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise InputError(f"{p}: no such file or folder; check the path")
        if path.is_dir():
            folders.append(path.resolve())
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path)
                if f.is_file() and f.suffix.lower() in SUPPORTED_EXTENSIONS and not any(
                        part.startswith(".") for part in rel.parts):
                    files.setdefault(f.resolve(), str(f))
        else:
            files.setdefault(path.resolve(), str(path))
    return sorted(files.items()), folders


@dataclass
class _FilePlan:
    path: Path
    shown: str
    sha: str
    doc_type: str
    size: int
    status: str  # added | updated
    documents: list[Document] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)


def _progress(iterable, show: bool, **kw):
    if not show:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kw)


def run_ingest(kb, paths, scope: Mapping[str, str], doc_type: str | None, prune: bool,
               show_progress: bool = False) -> IngestReport:
    t0 = time.perf_counter()
    files, folders = expand_paths(paths)
    scope_json = json.dumps(dict(scope), sort_keys=True)
    with kb.dir.write_lock():
        if kb.dir.exists():
            kb.reload()
        existing = {f["path"]: f for f in kb.files()}
        plans: list[_FilePlan] = []
        skipped: list[SkippedFile] = []
        unchanged = 0
        for path, shown in _progress(files, show_progress, desc="reading", unit="file"):
            try:
                dtype = detect_doc_type(path, doc_type, kb.config.loaders)
                size = path.stat().st_size
                sha = sha256_file(path)
                rec = existing.get(str(path))
                if rec and rec["sha256"] == sha and rec["scope"] == dict(scope) and rec["doc_type"] == dtype:
                    unchanged += 1
                    continue
                docs = load_file(path, dtype, kb.config.loaders)
                if not docs:
                    raise IngestError(str(path), "no documents found in the file")
                plan = _FilePlan(path, shown, sha, dtype, size, "updated" if rec else "added", docs)
                plan.chunks = chunk_documents(docs, kb.config.chunking, scope)
                plans.append(plan)
            except IngestError as e:
                skipped.append(SkippedFile(shown, e.reason))
                log.warning("skipped %s: %s", shown, e.reason)
        removed = []
        if prune:
            removed = [p for p in existing if not Path(p).exists() and any(Path(p).is_relative_to(f) for f in folders)]
        faq_docs = [d for pl in plans for d in pl.documents if d.doc_type == "faq"]
        near_dups = find_near_duplicate_faqs(faq_docs, kb.config.faq_near_duplicate_ratio) if faq_docs else []
        if not plans and not removed:
            return IngestReport(unchanged=unchanged, chunks=len(kb), skipped=tuple(skipped),
                                near_duplicates=tuple(near_dups), seconds=time.perf_counter() - t0)
        new_chunks = _write_generation(kb, plans, removed, scope_json, show_progress)
    counts = {s: sum(1 for p in plans if p.status == s) for s in ("added", "updated")}
    return IngestReport(added=counts["added"], updated=counts["updated"], unchanged=unchanged, removed=len(removed),
                        chunks=len(kb), new_chunks=new_chunks, skipped=tuple(skipped),
                        near_duplicates=tuple(near_dups), seconds=time.perf_counter() - t0)


def _embed(kb, texts: list[str], show_progress: bool) -> np.ndarray:
    batch = max(1, kb.config.embedder.batch_size) * 4
    parts = []
    for start in _progress(range(0, len(texts), batch), show_progress, desc="embedding", unit="batch",
                           total=(len(texts) + batch - 1) // batch):
        parts.append(kb.embedder.embed_documents(texts[start:start + batch]))
    return np.concatenate(parts) if parts else np.zeros((0, kb.embedder.dim), np.float32)


def _write_generation(kb, plans: list[_FilePlan], removed: list[str], scope_json: str, show_progress: bool) -> int:
    """Build generation N+1 next to N, then switch the manifest. Returns how many chunks were embedded."""
    old_gen = kb.generation
    kb.dir.cleanup(keep_gen=old_gen)  # leftovers of a killed writer
    old_conn = kb._conn
    # chunks that need an embedding: not already stored
    wanted: dict[str, Chunk] = {}
    for pl in plans:
        for c in pl.chunks:
            wanted.setdefault(c.chunk_id, c)
    known = set()
    if old_conn is not None and wanted:
        ids = list(wanted)
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            rows = old_conn.execute(f"SELECT chunk_id FROM chunks WHERE chunk_id IN ({','.join('?' * len(part))})", part)
            known.update(r[0] for r in rows)
    todo = [c for cid, c in wanted.items() if cid not in known]
    vectors = _embed(kb, [c.text for c in todo], show_progress)
    dim = int(vectors.shape[1]) if len(todo) else (kb.index.dim if kb.index is not None else kb.embedder.dim)
    if kb.index is not None and dim != kb.index.dim:
        raise InputError(f"embedder returned {dim}-dim vectors but the index holds {kb.index.dim}-dim ones")

    new_gen = (old_gen or 0) + 1
    chunks_path, index_path = kb.dir.chunks_path(new_gen), kb.dir.index_path(new_gen)
    conn = copy_store(kb.dir.chunks_path(old_gen) if old_gen else None, chunks_path)
    try:
        index = (FaissIndex.load(kb.dir.index_path(old_gen), use_gpu=False) if old_gen
                 else FaissIndex(dim, kind=_index_kind(kb, len(todo)), use_gpu=False,
                                 hnsw_m=kb.config.index.hnsw_m, hnsw_ef_search=kb.config.index.hnsw_ef_search))
        next_id = int(kb.manifest.get("next_id", 0)) if kb.manifest else 0
        with conn:
            for p in [str(pl.path) for pl in plans if pl.status == "updated"] + removed:
                conn.execute("DELETE FROM chunk_files WHERE path = ?", (p,))
                conn.execute("DELETE FROM files WHERE path = ?", (p,))
            new_ids, new_vecs = [], []
            vec_of = {c.chunk_id: v for c, v in zip(todo, vectors)}
            for pl in plans:
                conn.execute("INSERT INTO files (path, sha256, size, doc_type, scope, n_documents, ingested_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (str(pl.path), pl.sha, pl.size, pl.doc_type, scope_json, len(pl.documents), time.time()))
                for c in pl.chunks:
                    row = conn.execute("SELECT id FROM chunks WHERE chunk_id = ?", (c.chunk_id,)).fetchone()
                    if row is None:
                        cid = next_id
                        next_id += 1
                        conn.execute("INSERT INTO chunks (id, chunk_id, text, source, doc_type, page, metadata, scope) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     (cid, c.chunk_id, c.text, c.source, c.doc_type, c.page,
                                      json.dumps(dict(c.metadata), ensure_ascii=False, default=str),
                                      json.dumps(dict(c.scope), sort_keys=True)))
                        new_ids.append(cid)
                        new_vecs.append(vec_of[c.chunk_id])
                    else:
                        cid = row[0]
                    conn.execute("INSERT OR IGNORE INTO chunk_files (chunk, path) VALUES (?, ?)", (cid, str(pl.path)))
            orphans = [r[0] for r in conn.execute(
                "SELECT id FROM chunks WHERE id NOT IN (SELECT chunk FROM chunk_files)")]
            if orphans:
                conn.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in orphans])
                index.remove(np.array(orphans, dtype=np.int64))
            if new_ids:
                index.add(np.stack(new_vecs), np.array(new_ids, dtype=np.int64))
            n_files = conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
            n_chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    finally:
        conn.close()
    if n_chunks != index.ntotal:
        raise RuntimeError(f"internal error: {n_chunks} chunks but {index.ntotal} vectors; the previous KB is kept")
    fsync_file(chunks_path)
    index.save(index_path)
    fsync_file(index_path)
    manifest = kb._manifest_for(new_gen, n_chunks, n_files, index.dim)
    manifest["index"] = {"kind": index.kind}
    manifest["next_id"] = next_id
    kb.dir.write_manifest(manifest)  # the switch: atomic rename
    kb.reload()
    kb.dir.cleanup(keep_gen=new_gen)
    return len(todo)


def _index_kind(kb, n: int) -> str:
    kind = kb.config.index.kind
    if kind == "auto":
        return "hnsw" if n >= kb.config.index.hnsw_min_vectors else "flat"
    return kind
