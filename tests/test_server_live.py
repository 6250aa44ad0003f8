"""A live uvicorn on 127.0.0.1 driven by the official `openai` client: non-streaming, streaming and
extra_body. The fast test runs on the hashing embedder and a scripted generator; the slow one on
the real models over the bundled knowledge/ KB."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")

from ragbot.server import ServeSettings, create_app  # noqa: E402
from ragbot.testing import free_port  # noqa: E402
from test_server_api import DEPOSIT, HOURS, HUMAN, make_bot  # noqa: E402


@contextlib.contextmanager
def live_server(bot, **settings):
    """Run create_app(bot) under uvicorn in a thread; yields the base URL once the models are ready."""
    port = free_port()
    app = create_app(bot, ServeSettings(kb=str(bot.kb.root), port=port, **settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not (server.started and app.state.ragbot.ready.is_set()):
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def _client(base: str):
    import httpx

    # trust_env=False: no proxy from the environment between the client and 127.0.0.1
    return openai.OpenAI(base_url=base + "/v1", api_key="unused-in-open-mode", max_retries=0,
                         http_client=httpx.Client(trust_env=False, timeout=120))


def _check_openai_client(base: str, scope: dict, answer_q: str, fact: str) -> None:
    client = _client(base)
    assert [m.id for m in client.models.list().data] == ["ragbot"]
    # non-streaming, with the ragbot extras through extra_body
    r = client.chat.completions.create(model="ragbot", messages=[{"role": "user", "content": answer_q}],
                                       extra_body={"scope": scope})
    rb = r.model_extra["ragbot"]
    assert r.choices[0].message.content == rb["text"] and rb["decision"] == "answer", rb
    assert fact in r.choices[0].message.content and rb["sources"] and rb["message_id"]
    sid = r.model_extra["session_id"]
    # streaming in the same session (extra_body session_id): verified text only, [DONE] handled by the client
    stream = client.chat.completions.create(model="ragbot", stream=True, messages=[{"role": "user", "content": HUMAN}],
                                            extra_body={"session_id": sid})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1].model_extra["ragbot"]
    assert chunks[-1].choices[0].finish_reason == "stop" and last["session_id"] == sid
    assert last["decision"] == "handoff" and last["ticket"]["ticket_id"] and text == last["text"]
    # errors come back as the client's typed exceptions
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="ragbot", messages=[{"role": "assistant", "content": "hi"}])


def test_openai_client_against_live_uvicorn(kb_dir):
    bot = make_bot(kb_dir)
    with live_server(bot) as base:
        _check_openai_client(base, {"property": "pine-avenue"}, DEPOSIT, "$2,000")
        r = _client(base).chat.completions.create(model="ragbot", messages=[{"role": "user", "content": HOURS}])
        assert r.model_extra["ragbot"]["rule"] == "faq"


def test_openai_client_with_a_key(kb_dir):
    from ragbot.state.db import StateDB
    from ragbot.state.keys import KeyStore

    key = KeyStore(StateDB.for_kb(kb_dir)).create("client", scope={"property": "pine-avenue"}).key
    with live_server(make_bot(kb_dir)) as base:
        with pytest.raises(openai.AuthenticationError):
            _client(base).models.list()
        import httpx

        client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0,
                               http_client=httpx.Client(trust_env=False, timeout=60))
        r = client.chat.completions.create(model="ragbot", messages=[{"role": "user", "content": DEPOSIT}])
        assert "$2,000" in r.choices[0].message.content  # the key's scope applies without asking
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(model="ragbot", messages=[{"role": "user", "content": DEPOSIT}],
                                           extra_body={"scope": {"property": "oak-street"}})


@pytest.mark.slow
def test_openai_client_real_models(knowledge_kb_dir, real_embedder):
    from ragbot.bot import Bot

    bot = Bot.open(knowledge_kb_dir, embedder=real_embedder)  # the real GGUF generator, loaded at start
    with live_server(bot) as base:
        _check_openai_client(base, {"property": "oak-street"}, "How much is the security deposit?", "$")


@pytest.mark.slow
def test_serve_command_binds_loopback_without_keys(knowledge_kb_dir):
    """`ragbot serve --host 0.0.0.0` with no keys says so, binds 127.0.0.1 and becomes ready."""
    import os
    import subprocess
    import sys

    import httpx

    port = free_port()
    code = "import typer; from ragbot.server.cli import serve; typer.run(serve)"
    proc = subprocess.Popen([sys.executable, "-c", code, "--kb", str(knowledge_kb_dir), "--host", "0.0.0.0",
                             "--port", str(port)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"))
    try:
        deadline, ready = time.monotonic() + 180, False
        with httpx.Client(trust_env=False) as client:
            while time.monotonic() < deadline and proc.poll() is None and not ready:
                with contextlib.suppress(httpx.HTTPError):
                    ready = client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
                time.sleep(0.5)
            assert ready, "the server did not become ready"
            r = client.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                            json={"messages": [{"role": "user", "content": "What are your office hours?"}]}, timeout=120)
            assert r.status_code == 200 and r.json()["ragbot"]["rule"] == "faq"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "binds to 127.0.0.1 only" in err and "open mode" in err
