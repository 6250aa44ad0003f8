"""`ragbot eval` and two `ragbot serve` processes on one PostgreSQL knowledge base
(`--kb postgresql://...`, settings from `--config FILE`), run as a user runs them, with the real
embedder and GGUF:

- `ragbot eval` on the Postgres KB decides every case as on a directory KB built from the same files;
- keys made with `ragbot keys create` work on both workers; a conversation started on one worker
  continues on the other (its scope and transcript); a ticket handed off on one is in the other's
  inbox, an agent reply sent on one shows on the other, and a ticket resolved on one is resolved
  for both, after which the bot answers again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from ragbot.testing import free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
CASES = ("pine-deposit-named", "pine-late-fee", "oak-deposit", "pine-dog")


def _cli(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "ragbot.cli", *args], capture_output=True, text=True, env=ENV,
                         cwd=REPO, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _ingest_knowledge(kb: str, *extra: str) -> None:
    _cli("ingest", str(REPO / "knowledge" / "common"), "--kb", kb, *extra, "--json")
    for prop in ("oak-street", "pine-avenue"):
        _cli("ingest", str(REPO / "knowledge" / "properties" / prop), "--kb", kb, "--scope", f"property={prop}",
             *extra, "--json")


@pytest.fixture(scope="module")
def pg_kb(pg_dsn, tmp_path_factory):
    """The bundled knowledge/ ingested into schema "serve_test" (its state in "serve_test_state")."""
    config = tmp_path_factory.mktemp("cfg") / "ragbot.json"
    config.write_text(json.dumps({"kb": {"postgres": {"schema_name": "serve_test"}},
                                  "prompt": {"business_name": "Harborview Property Management"}}))
    _ingest_knowledge(pg_dsn, "--config", str(config))
    return pg_dsn, str(config)


def test_eval_on_postgres_decides_as_on_a_directory_kb(pg_kb, tmp_path):
    dsn, config = pg_kb
    rows = [json.loads(line) for line in (REPO / "knowledge" / "eval.jsonl").read_text().splitlines() if line.strip()]
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(r) + "\n" for r in rows if r["id"] in CASES))
    directory = tmp_path / "kb"
    _ingest_knowledge(str(directory))
    (directory / "config.json").write_text(Path(config).read_text())
    on_pg = json.loads(_cli("eval", str(cases), "--kb", dsn, "--config", config, "--json").splitlines()[-1])
    on_dir = json.loads(_cli("eval", str(cases), "--kb", str(directory), "--json").splitlines()[-1])
    assert len(on_pg["cases"]) == len(CASES)
    assert [c["predicted"] for c in on_pg["cases"]] == [c["predicted"] for c in on_dir["cases"]]
    assert on_pg["metrics"]["decision_accuracy"] >= 0.75, on_pg["metrics"]
    assert on_pg["metrics"]["hit_at_5"] == 1.0


def _serve(dsn: str, config: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ragbot.cli", "serve", "--kb", dsn, "--config", config,
                             "--port", str(port)], env=ENV, cwd=REPO, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(procs, bases, logs) -> None:
    deadline = time.monotonic() + 300
    for proc, base, log in zip(procs, bases, logs):
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "ragbot serve did not become ready: " + log.read_text()[-3000:]
            try:
                if httpx.get(base + "/readyz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)


def _key(dsn: str, config: str, role: str) -> dict[str, str]:
    created = json.loads(_cli("keys", "create", "--kb", dsn, "--config", config, "--role", role, "--name",
                              f"two-workers-{role}", "--json").splitlines()[-1])
    return {"Authorization": f"Bearer {created['key']}"}


def test_two_serve_workers_share_conversations_tickets_and_keys(pg_kb, tmp_path):
    dsn, config = pg_kb
    client, agent = _key(dsn, config, "client"), _key(dsn, config, "agent")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    started = [_serve(dsn, config, log) for log in logs]
    procs, (a, b) = [p for p, _ in started], [base for _, base in started]
    try:
        _wait_ready(procs, (a, b), logs)
        http = httpx.Client(timeout=300, trust_env=False)
        assert http.post(f"{b}/api/conversations", json={}).status_code == 401  # keys are shared: no open mode
        sid = http.post(f"{a}/api/conversations", json={"scope": {"property": "pine-avenue"}},
                        headers=client).json()["session_id"]
        first = http.post(f"{a}/api/conversations/{sid}/messages", json={"text": "What are your office hours?"},
                          headers=client).json()
        assert first["decision"] == "answer", first
        # the scope chosen on worker A applies on worker B
        deposit = http.post(f"{b}/api/conversations/{sid}/messages", json={"text": "How much is the security deposit?"},
                            headers=client).json()
        assert deposit["decision"] == "answer" and "2,000" in deposit["text"], deposit
        assert all("pine_avenue" in s["source"] for s in deposit["sources"]), deposit["sources"]
        human = http.post(f"{b}/api/conversations/{sid}/messages", json={"text": "I want to talk to a person"},
                          headers=client).json()
        assert human["decision"] == "handoff" and human["handoff"], human
        ticket_id = human["handoff"]["ticket_id"]
        # worker A's inbox has the ticket handed off on B; A's transcript has B's turns
        assert ticket_id in [t["ticket_id"] for t in http.get(f"{a}/api/tickets?status=open", headers=agent).json()["tickets"]]
        transcript = http.get(f"{a}/api/conversations/{sid}", headers=client).json()
        assert transcript["handed_off"] and [m["role"] for m in transcript["messages"]][:6] == ["user", "assistant"] * 3
        assert http.post(f"{a}/api/tickets/{ticket_id}/messages", json={"text": "Hi, this is Dana."},
                         headers=agent).status_code == 200
        on_b = http.get(f"{b}/api/conversations/{sid}", headers=client).json()
        assert on_b["messages"][-1]["role"] == "agent" and on_b["messages"][-1]["content"] == "Hi, this is Dana."
        assert http.post(f"{b}/api/tickets/{ticket_id}/resolve", headers=agent).json()["status"] == "resolved"
        assert http.get(f"{a}/api/tickets/{ticket_id}", headers=agent).json()["status"] == "resolved"
        again = http.post(f"{a}/api/conversations/{sid}/messages", json={"text": "What are your office hours?"},
                          headers=client).json()
        assert again["decision"] == "answer", again
        # another client key does not see the conversation on either worker
        other = _key(dsn, config, "client")
        assert http.get(f"{b}/api/conversations/{sid}", headers=other).status_code == 404
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    for log in logs:  # the DSN's password (when it has one) and the keys never reach the logs
        text = log.read_text()
        assert client["Authorization"].split()[1] not in text and agent["Authorization"].split()[1] not in text
