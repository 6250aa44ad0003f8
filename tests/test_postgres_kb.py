"""The PostgreSQL + pgvector knowledge base against a real PostgreSQL (conftest_pg.py): the
conformance suites, scoped search that still returns k hits on both search plans, manifest
checks, the advisory lock, two workers sharing one KB, DSN masking and a real SIGKILL mid-ingest.
Tests that need PostgreSQL are marked slow (a real engine: about 40 s together, 5 s of it the
server's start)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ragbot.errors import IndexMismatchError, KnowledgeBaseError
from ragbot.kb.embedders.hashing import HashingEmbedder
from ragbot.testing.conformance import ChunkStoreConformance, KnowledgeBaseConformance, VectorIndexConformance

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def pg_conns(pg_dsn, pg_schema):
    """Factory of connections into the test's schema (created), closed afterwards."""
    from ragbot.kb.postgres import connect

    conns = []

    def make():
        conns.append(connect(pg_dsn, pg_schema, create_schema=True))
        return conns[-1]

    yield make
    for c in conns:
        c.close()


def _kb(dsn, schema, emb=None, create=True, **cfg):
    from ragbot.kb.postgres import PostgresConfig, open_postgres_kb

    return open_postgres_kb(dsn, embedder=emb or HashingEmbedder(64),
                            postgres=PostgresConfig(schema_name=schema, **cfg), create=create)


# ----------------------------------------------------------------------------- conformance
@pytest.mark.slow
class TestPgVectorIndexExact(VectorIndexConformance):
    @pytest.fixture()
    def make_index(self, pg_conns):
        from ragbot.kb.pgvector_index import PgVectorIndex

        return lambda dim: PgVectorIndex(pg_conns(), dim).create()


@pytest.mark.slow
class TestPgVectorIndexIterative(VectorIndexConformance):
    """exact_scan_max=0: every filtered search takes the HNSW iterative-scan plan."""

    @pytest.fixture()
    def make_index(self, pg_conns):
        from ragbot.kb.pgvector_index import PgVectorIndex

        return lambda dim: PgVectorIndex(pg_conns(), dim, exact_scan_max=0).create()


@pytest.mark.slow
class TestPgChunkStore(ChunkStoreConformance):
    @pytest.fixture()
    def make_store(self, pg_conns):
        from ragbot.kb.postgres import SCHEMA_SQL, PgChunkStore

        def make():
            conn = pg_conns()
            conn.execute(SCHEMA_SQL)
            return PgChunkStore(conn)
        return make


@pytest.mark.slow
class TestPostgresKB(KnowledgeBaseConformance):
    @pytest.fixture()
    def make_kb(self, pg_dsn, pg_schema):
        kbs = []

        def make(emb):
            kbs.append(_kb(pg_dsn, pg_schema, emb))
            return kbs[-1]
        yield make
        for kb in kbs:
            kb.close()


# ----------------------------------------------------------------------------- scoped search
@pytest.mark.slow
@pytest.mark.parametrize("exact_scan_max", [20_000, 0], ids=["exact-scan", "hnsw-iterative"])
def test_small_scope_still_returns_k_hits(pg_conns, exact_scan_max):
    """1% of 3000 vectors allowed: both plans return all k hits, equal to brute force."""
    from ragbot.kb.pgvector_index import PgVectorIndex

    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((3000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    idx = PgVectorIndex(pg_conns(), 32, exact_scan_max=exact_scan_max, max_scan_tuples=200_000).create()
    idx.add(vecs, np.arange(3000, dtype=np.int64))
    allowed = np.sort(rng.choice(3000, size=30, replace=False)).astype(np.int64)
    q = vecs[:5] + 0.1 * rng.standard_normal((5, 32)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    scores, got = idx.search(q, 10, allowed_ids=allowed)
    want = allowed[np.argsort(-(q @ vecs[allowed].T), axis=1)[:, :10]]
    assert (got >= 0).all(), "fewer than k hits came back"
    assert (got == want).all()
    assert np.allclose(scores, np.take_along_axis(q @ vecs.T, got, axis=1), atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all(), "hits are not sorted best first"


# ----------------------------------------------------------------------------- KB behaviour
def _docs(tmp_path: Path, n: int = 3, prefix: str = "doc") -> Path:
    d = tmp_path / f"{prefix}s"
    d.mkdir(exist_ok=True)
    for i in range(n):
        (d / f"{prefix}{i}.md").write_text(f"# {prefix} {i}\n\nThe late fee for unit {i} is ${10 * (i + 1)}.\n")
    return d


@pytest.mark.slow
def test_manifest_checks_embedder_and_dimension(pg_dsn, pg_schema, tmp_path):
    kb = _kb(pg_dsn, pg_schema, HashingEmbedder(64))
    kb.ingest([_docs(tmp_path)])
    kb.close()
    with pytest.raises(IndexMismatchError, match="embedder"):
        _kb(pg_dsn, pg_schema, HashingEmbedder(32), create=False)
    with pytest.raises(KnowledgeBaseError, match="no knowledge base"):
        _kb(pg_dsn, pg_schema + "x", create=False)
    reopened = _kb(pg_dsn, pg_schema, HashingEmbedder(64), create=False)
    assert len(reopened) == 3 and reopened.manifest["embedder"]["dim"] == 64
    reopened.close()


@pytest.mark.slow
def test_two_workers_share_one_kb(pg_dsn, pg_schema, tmp_path):
    """A second KnowledgeBase object (another worker) sees what the first ingests: its reader
    notices the new generation with one query and reloads."""
    writer = _kb(pg_dsn, pg_schema)
    writer.ingest([_docs(tmp_path, 2)])
    reader = _kb(pg_dsn, pg_schema, create=False)
    assert {h.chunk.source for h in reader.search("late fee", k=5)} == {"doc0.md", "doc1.md"}
    writer.ingest([_docs(tmp_path, 2, prefix="extra")], scope={"property": "oak"})
    storage = reader.storage
    assert storage.current_generation(reader.store) == writer.generation == reader.generation + 1
    reader.reload()
    assert {h.chunk.source for h in reader.search("late fee", k=5, scope={"property": "oak"})} == {
        "extra0.md", "extra1.md"}
    writer.close()
    reader.close()


@pytest.mark.slow
def test_concurrent_ingests_wait_on_the_advisory_lock(pg_dsn, pg_schema, tmp_path, caplog):
    first = _kb(pg_dsn, pg_schema)
    second = _kb(pg_dsn, pg_schema)
    done = threading.Event()
    with caplog.at_level(logging.WARNING, logger="ragbot.kb.postgres"):
        with first.storage.write_lock():
            t = threading.Thread(target=lambda: (second.ingest([_docs(tmp_path)]), done.set()))
            t.start()
            time.sleep(1.0)
            assert not done.is_set(), "the second ingest did not wait for the lock"
        t.join(30)
    assert done.is_set() and len(second) == 3
    assert any("holds its advisory lock; waiting" in r.getMessage() for r in caplog.records)
    first.close()
    second.close()


def test_password_is_masked():
    from ragbot.kb.postgres import PostgresStorage, mask_dsn

    assert mask_dsn("postgresql://bob:s3cret@db.example:5432/kb?sslmode=require") == \
        "postgresql://bob:***@db.example:5432/kb?sslmode=require"
    assert mask_dsn("host=db user=bob password='s3 cret' dbname=kb") == "host=db user=bob password=*** dbname=kb"
    storage = PostgresStorage("postgresql://bob:s3cret@127.0.0.1:1/kb")
    assert "s3cret" not in storage.location
    with pytest.raises(KnowledgeBaseError) as e:
        storage.exists()
    assert "s3cret" not in str(e.value) and "bob:***@127.0.0.1" in str(e.value)


def test_dsn_from_environment(monkeypatch):
    from ragbot.errors import ConfigError
    from ragbot.kb.postgres import PostgresStorage

    monkeypatch.delenv("RAGBOT_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="RAGBOT_DATABASE_URL"):
        PostgresStorage()
    monkeypatch.setenv("RAGBOT_DATABASE_URL", "postgresql://u:pw@h/db")
    assert PostgresStorage().location.startswith("postgresql://u:***@h/db")


# ----------------------------------------------------------------------------- kill mid-ingest
KILL_SCRIPT = """
import sys
from ragbot.kb.embedders.hashing import HashingEmbedder
from ragbot.kb.postgres import PostgresConfig, open_postgres_kb
kb = open_postgres_kb(sys.argv[1], embedder=HashingEmbedder(64), postgres=PostgresConfig(schema_name=sys.argv[2]))
kb.ingest([sys.argv[3]])
print("finished", flush=True)
"""


def _writing_backend(dsn: str) -> bool:
    """True while some ragbot connection has an open transaction that has written (backend_xid)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ragbot' "
                           "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()").fetchone()
    return row[0] > 0


@pytest.mark.slow
def test_sigkill_mid_ingest_leaves_previous_state(pg_dsn, pg_schema, tmp_path):
    kb = _kb(pg_dsn, pg_schema)
    kb.ingest([_docs(tmp_path, 3)])
    before = (kb.storage.load().manifest["generation"], len(kb), [f.path for f in kb.files()])
    big = tmp_path / "big"
    big.mkdir()
    for i in range(400):  # about 12k chunks: seconds of writing inside one transaction
        (big / f"f{i}.md").write_text("\n\n".join(f"Paragraph {j} of file {i}: " + "words " * 120 for j in range(30)))
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, pg_dsn, pg_schema, str(big)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = time.monotonic() + 120
        while not _writing_backend(pg_dsn):
            assert proc.poll() is None, f"the ingest ended before it could be killed: {proc.stderr.read()[-500:]}"
            assert time.monotonic() < deadline, "the ingest never started writing"
            time.sleep(0.05)
        time.sleep(0.3)  # deeper into the transaction
        assert proc.poll() is None, "the ingest finished before the kill; make the folder bigger"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert proc.returncode == -signal.SIGKILL and b"finished" not in proc.stdout.read()
    fresh = _kb(pg_dsn, pg_schema, create=False)
    after = (fresh.storage.load().manifest["generation"], len(fresh), [f.path for f in fresh.files()])
    assert after == before
    assert fresh.store.counts() == (3, 3) and fresh.search("late fee unit 2", k=1)[0].chunk.source == "doc2.md"
    report = fresh.ingest([_docs(tmp_path, 4)])  # the lock died with the killed connection
    assert report.added == 1 and len(fresh) == 4
    kb.close()
    fresh.close()


@pytest.mark.slow
def test_bot_answers_from_a_postgres_kb(pg_dsn, pg_schema, tmp_path):
    """Bot (what ask, eval and serve use) over the Postgres KB, with the scripted generator."""
    from ragbot.bot import Bot
    from ragbot.testing import ScriptedGenerator, doubles_config

    kb = _kb(pg_dsn, pg_schema, HashingEmbedder(256))
    kb.ingest([_docs(tmp_path, 3)], scope={"property": "oak"})
    gen = ScriptedGenerator(lambda msgs: "The late fee for unit 2 is $30 [1].")
    reply = Bot(kb, config=doubles_config(), generator=gen).ask("What is the late fee for unit 2?",
                                                                 scope={"property": "oak"})
    assert "doc2.md" in [s.source for s in reply.sources], reply
    assert any("$30" in m["content"] for m in gen.calls[0]), "the passage from Postgres is not in the prompt"
    kb.close()
