"""Incremental ingest: files -> documents -> chunks -> embeddings -> a new KB generation.

Per file the SHA-256 of its bytes, its doc_type and the call's scope decide: unchanged files are
not read past hashing and re-embed nothing; new or changed files replace their chunks; chunks
already in the store (same text and scope, see chunk_id) are reused without re-embedding.
`prune` removes files under the given folders that no longer exist. The result is one ChangeSet that
the KB's Storage applies atomically, so a killed ingest leaves the previous KB intact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from ragbot.errors import IngestError, InputError
from ragbot.kb.protocols import ChangeSet, FileChange, FileRecord
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
    """Plan every file, embed the chunks the store lacks, commit one ChangeSet (module docstring)."""
    t0 = time.perf_counter()
    files, folders = expand_paths(paths)
    with kb.storage.write_lock():
        kb.reload_if_exists()
        existing = {f.path: f for f in kb.files()}
        plans, skipped, unchanged, warnings = _plan_files(kb, files, existing, scope, doc_type, show_progress)
        removed = []
        if prune:
            removed = [p for p in existing if not Path(p).exists() and any(Path(p).is_relative_to(f) for f in folders)]
        faq_docs = [d for pl in plans for d in pl.documents if d.doc_type == "faq"]
        near_dups = find_near_duplicate_faqs(faq_docs, kb.config.faq_near_duplicate_ratio) if faq_docs else []
        new_chunks = 0
        if plans or removed:
            change = _change_set(kb, plans, removed, scope, show_progress)
            kb.commit(change)
            new_chunks = len(change.vectors)
    counts = {s: sum(1 for p in plans if p.status == s) for s in ("added", "updated")}
    return IngestReport(added=counts["added"], updated=counts["updated"], unchanged=unchanged, removed=len(removed),
                        chunks=len(kb), new_chunks=new_chunks, skipped=tuple(skipped),
                        near_duplicates=tuple(near_dups), seconds=time.perf_counter() - t0, warnings=tuple(warnings))


def _plan_files(kb, files, existing: Mapping[str, FileRecord], scope, doc_type, show_progress):
    """Hash every file; load and chunk the new or changed ones.
    -> (plans, skipped, unchanged, malformed-row warnings)."""
    plans: list[_FilePlan] = []
    skipped: list[SkippedFile] = []
    warnings: list = []
    unchanged = 0
    for path, shown in _progress(files, show_progress, desc="reading", unit="file"):
        try:
            dtype = detect_doc_type(path, doc_type, kb.config.loaders)
            size = path.stat().st_size
            sha = sha256_file(path)
            rec = existing.get(str(path))
            if rec and rec.sha256 == sha and dict(rec.scope) == dict(scope) and rec.doc_type == dtype:
                unchanged += 1
                continue
            fw: list = []
            docs = load_file(path, dtype, kb.config.loaders, kb.config.listings.fields, fw)
            warnings.extend(dataclasses.replace(w, path=shown) for w in fw)
            if not docs:
                raise IngestError(str(path), "no documents found in the file")
            plan = _FilePlan(path, shown, sha, dtype, size, "updated" if rec else "added", docs)
            plan.chunks = chunk_documents(docs, kb.config.chunking, scope)
            plans.append(plan)
        except IngestError as e:
            skipped.append(SkippedFile(shown, e.reason))
            log.warning("skipped %s: %s", shown, e.reason)
    return plans, skipped, unchanged, warnings


def _embed(kb, texts: list[str], show_progress: bool) -> np.ndarray:
    batch = max(1, kb.config.embedder.batch_size) * 4
    parts = []
    for start in _progress(range(0, len(texts), batch), show_progress, desc="embedding", unit="batch",
                           total=(len(texts) + batch - 1) // batch):
        parts.append(kb.embedder.embed_documents(texts[start:start + batch]))
    return np.concatenate(parts) if parts else np.zeros((0, kb.embedder.dim), np.float32)


def _change_set(kb, plans: list[_FilePlan], removed: list[str], scope: Mapping[str, str],
                show_progress: bool) -> ChangeSet:
    """The ChangeSet of an ingest: file records with their chunks, and embeddings (float32 (dim,))
    for the chunks the store does not hold yet."""
    wanted: dict[str, Chunk] = {}
    for pl in plans:
        for c in pl.chunks:
            wanted.setdefault(c.chunk_id, c)
    known = kb.store.known_chunk_ids(list(wanted)) if kb.store is not None and wanted else set()
    todo = [c for cid, c in wanted.items() if cid not in known]
    vectors = _embed(kb, [c.text for c in todo], show_progress)
    if kb.index is not None and len(todo) and vectors.shape[1] != kb.index.dim:
        raise InputError(f"embedder returned {vectors.shape[1]}-dim vectors but the index holds {kb.index.dim}-dim ones")
    now = time.time()
    upserts = tuple(FileChange(FileRecord(str(pl.path), pl.sha, pl.size, pl.doc_type, dict(scope), len(pl.documents), now),
                               tuple(pl.chunks)) for pl in plans)
    return ChangeSet(upserts=upserts, removals=tuple(removed),
                     vectors={c.chunk_id: v for c, v in zip(todo, vectors)})
