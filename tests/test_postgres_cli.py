"""`ragbot ingest / search / ask` with `--kb postgresql://...` against a real PostgreSQL
(conftest_pg.py), in subprocesses as a user runs them; the DSN's password never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "ragbot.cli", *args], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=900)
    if check:
        assert out.returncode == 0, out.stderr[-2000:]
    return out


def test_ingest_search_ask_on_postgres(pg_dsn, tmp_path):
    from urllib.parse import urlsplit

    parts, dsn = urlsplit(pg_dsn), pg_dsn  # the KB lives in the default schema "ragbot" (kb.postgres.schema_name)
    first = _cli("ingest", str(REPO / "knowledge" / "common"), "--kb", dsn, "--json")
    report = json.loads(first.stdout.strip().splitlines()[-1])
    assert report["added"] >= 3 and report["chunks"] > 0
    again = json.loads(_cli("ingest", str(REPO / "knowledge" / "common"), "--kb", dsn, "--json").stdout.splitlines()[-1])
    assert again["unchanged"] == report["added"] and again["new_chunks"] == 0
    hits = json.loads(_cli("search", "office hours", "--kb", dsn, "--json").stdout.splitlines()[-1])["hits"]
    assert hits and "faq" in hits[0]["source"]
    reply = json.loads(_cli("ask", "What are your office hours?", "--kb", dsn, "--session", "pg-1", "--json")
                       .stdout.splitlines()[-1])
    assert reply["session_id"] == "pg-1" and reply["decision"] == "answer" and reply["rule"] == "faq"
    _cli("ask", "Where do I pay rent?", "--kb", dsn, "--session", "pg-1", "--json")
    from ragbot.state.postgres import open_state_db, postgres_session_store

    db = open_state_db(dsn)  # the KB's state schema (ragbot_state): a second process continues the session
    try:
        turns = postgres_session_store(db).turns("pg-1")
        assert [t.content for t in turns if t.role == "user"] == ["What are your office hours?", "Where do I pay rent?"]
    finally:
        db.close()
    if parts.password:
        assert parts.password not in first.stdout + first.stderr
