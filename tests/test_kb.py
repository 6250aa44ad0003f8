"""KnowledgeBase with the hashing embedder: incremental counts, scope filtering, manifest checks,
atomic generations (a real SIGKILL mid-ingest)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ragbot.kb.embedders import HashingEmbedder
from ragbot.errors import EmptyKnowledgeBaseError, IndexMismatchError, InputError, KnowledgeBaseError
from ragbot.kb import KnowledgeBase

REPO = Path(__file__).resolve().parents[1]


def _write_docs(folder: Path, n: int, prefix: str = "doc") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"{prefix}{i}.txt"
        p.write_text(f"{prefix} number {i}. The pet policy of building {i} allows {i % 3} cats.\n", encoding="utf-8")
        paths.append(p)
    return paths


def _open(root, emb=None, create=True):
    return KnowledgeBase.open(root, embedder=emb or HashingEmbedder(64), create=create)


def test_incremental_counts(tmp_path):
    docs = tmp_path / "docs"
    paths = _write_docs(docs, 5)
    kb = _open(tmp_path / "kb")
    r1 = kb.ingest([docs])
    assert (r1.added, r1.updated, r1.unchanged, r1.removed) == (5, 0, 0, 0)
    assert r1.chunks == 5 == len(kb) and r1.new_chunks == 5
    gen = kb.generation
    r2 = kb.ingest([docs])
    assert (r2.added, r2.updated, r2.unchanged, r2.new_chunks) == (0, 0, 5, 0)
    assert kb.generation == gen, "an unchanged ingest must not write a new generation"
    paths[0].write_text("doc number 0 was rewritten: dogs allowed.\n", encoding="utf-8")
    r3 = kb.ingest([docs])
    assert (r3.added, r3.updated, r3.unchanged, r3.new_chunks) == (0, 1, 4, 1)
    assert len(kb) == 5
    assert "rewritten" in kb.search("dogs allowed rewritten", k=1)[0].chunk.text
    paths[1].unlink()
    r4 = kb.ingest([docs])
    assert r4.removed == 0 and len(kb) == 5, "without --prune nothing is removed"
    r5 = kb.ingest([docs], prune=True)
    assert r5.removed == 1 and len(kb) == 4
    assert all(h.chunk.source != "doc1.txt" for h in kb.search("doc number 1", k=4))
    # reopening from disk sees the same state
    kb2 = _open(tmp_path / "kb", create=False)
    assert len(kb2) == 4 and len(kb2.files()) == 4


def test_identical_chunks_stored_once_and_prune_scoped_to_given_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _write_docs(a, 2)
    b.mkdir()
    (b / "copy.txt").write_text((a / "doc0.txt").read_text(), encoding="utf-8")
    kb = _open(tmp_path / "kb")
    r = kb.ingest([a, b])
    assert r.added == 3 and len(kb) == 2, "identical text is stored once"
    (a / "doc0.txt").unlink()
    r = kb.ingest([b], prune=True)
    assert r.removed == 0, "prune only looks under the folders given in this call"
    r = kb.ingest([a], prune=True)
    assert r.removed == 1 and len(kb) == 2, "the shared chunk survives while copy.txt references it"


def test_scope_filter_never_leaks_randomised(tmp_path):
    rng = random.Random(0)
    kb = _open(tmp_path / "kb")
    counts = {}
    for prop in ("oak", "pine", "elm"):
        n = rng.randint(3, 12)
        counts[prop] = n
        _write_docs(tmp_path / prop, n, prefix=f"{prop}-")
        kb.ingest([tmp_path / prop], scope={"property": prop})
    _write_docs(tmp_path / "common", 4, prefix="common-")
    kb.ingest([tmp_path / "common"])
    words = ["pet", "policy", "cats", "building", "number", "oak", "pine", "elm", "dogs"]
    for _ in range(60):
        prop = rng.choice(list(counts))
        q = " ".join(rng.sample(words, 3))
        k = rng.randint(1, 15)
        hits = kb.search(q, k=k, scope={"property": prop})
        assert all(h.chunk.scope.get("property") == prop for h in hits)
        assert len(hits) == min(k, counts[prop])
        hits = kb.search(q, k=k, scope={"property": prop}, include_unscoped=True)
        assert all(h.chunk.scope.get("property") in (prop, None) for h in hits)
        assert len(hits) == min(k, counts[prop] + 4)
    assert kb.scope_values("property") == ["elm", "oak", "pine"]
    assert kb.search("pet", k=3, scope={"property": "nowhere"}) == []


def test_rescoping_a_file_counts_as_update(tmp_path):
    _write_docs(tmp_path / "d", 2)
    kb = _open(tmp_path / "kb")
    kb.ingest([tmp_path / "d"], scope={"property": "oak"})
    r = kb.ingest([tmp_path / "d"], scope={"property": "pine"})
    assert r.updated == 2 and len(kb) == 2
    assert kb.search("pet", k=5, scope={"property": "oak"}) == []


def test_errors_are_clear(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="ragbot ingest"):
        _open(tmp_path / "nothing", create=False)
    kb = _open(tmp_path / "kb")
    with pytest.raises(InputError, match="no such file"):
        kb.ingest([tmp_path / "missing"])
    with pytest.raises(EmptyKnowledgeBaseError):
        kb.search("anything")
    _write_docs(tmp_path / "d", 1)
    kb.ingest([tmp_path / "d"])
    with pytest.raises(InputError):
        kb.search("   ")
    with pytest.raises(InputError):
        kb.search("pets", scope={"bad key!": "x"})
    with pytest.raises(IndexMismatchError, match="embedder"):
        KnowledgeBase.open(tmp_path / "kb", embedder=HashingEmbedder(32))
    m = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    m["format_version"] = 999
    (tmp_path / "kb" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="format version"):
        _open(tmp_path / "kb", create=False)


def test_skipped_files_are_reported(tmp_path):
    d = tmp_path / "d"
    _write_docs(d, 1)
    (d / "empty.txt").write_text("")
    (d / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    kb = _open(tmp_path / "kb")
    r = kb.ingest([d])
    reasons = {Path(s.path).name: s.reason for s in r.skipped}
    assert set(reasons) == {"empty.txt", "broken.pdf"} and all(reasons.values())
    assert r.added == 1


WORKER = textwrap.dedent("""
    import sys, time
    from ragbot.kb.embedders import HashingEmbedder
    from ragbot.kb import KnowledgeBase

    class Slow(HashingEmbedder):
        def embed_documents(self, texts, show_progress=False):
            time.sleep(0.002 * len(texts))
            return super().embed_documents(texts)

    kb = KnowledgeBase.open(sys.argv[1], embedder=Slow(64), create=True)
    kb.ingest([sys.argv[2]])
    print("done", len(kb))
""")


def test_sigkill_mid_ingest_leaves_previous_kb_intact(tmp_path):
    base, more = tmp_path / "base", tmp_path / "more"
    _write_docs(base, 20, "base-")
    _write_docs(more, 400, "more-")
    kb = _open(tmp_path / "kb")
    kb.ingest([base])
    before = len(kb)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-c", WORKER, str(tmp_path / "kb"), str(more)]
    t = time.perf_counter()  # an unkilled run into a scratch KB measures how long an ingest takes
    scratch = tmp_path / "scratch"
    subprocess.run([sys.executable, "-c", WORKER, str(scratch), str(more)], env=env, check=True, capture_output=True)
    duration = time.perf_counter() - t
    rng = random.Random(1)
    outcomes = set()
    for i in range(6):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reopened = _open(tmp_path / "kb", create=False)
        n = len(reopened)
        assert n in (before, before + 400), f"kill {i}: KB has {n} chunks, neither the old nor the new state"
        assert reopened.search("pet policy", k=3), "the KB must stay searchable"
        outcomes.add(n)
        if n != before:  # the ingest finished before this kill landed
            break
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "done" in final.stdout
    kbf = _open(tmp_path / "kb", create=False)
    assert len(kbf) == before + 400
    gens = sorted(p.name for p in (tmp_path / "kb").glob("chunks-*.sqlite"))
    assert gens == [f"chunks-{kbf.generation}.sqlite"], f"stale generations left behind: {gens}"


@pytest.mark.slow
def test_turn_time_embeddings_are_cached_and_identical(real_embedder):
    calls = []
    model = real_embedder.warm_up()
    real = model.encode
    model.encode = lambda texts, **kw: (calls.append(list(texts)), real(texts, **kw))[1]
    try:
        first = real_embedder.embed_documents(["cache probe one", "cache probe two"])
        again = real_embedder.embed_documents(["cache probe two", "cache probe one", "cache probe three"])
    finally:
        model.encode = real
    assert calls == [["cache probe one", "cache probe two"], ["cache probe three"]]
    assert (again[0] == first[1]).all() and (again[1] == first[0]).all() and again.dtype == np.float32
