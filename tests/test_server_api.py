"""The HTTP server through FastAPI's TestClient: every endpoint and every error of docs/http-api.md,
on a tiny KB (conftest `kb_dir`) with the hashing embedder and a scripted generator (milliseconds per turn)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

from fastapi.testclient import TestClient  # noqa: E402

from ragbot.bot import Bot  # noqa: E402
from ragbot.generators import ScriptedGenerator  # noqa: E402
from ragbot.kb.embedders import HashingEmbedder  # noqa: E402
from ragbot.server import ServeSettings, create_app  # noqa: E402
from ragbot.state.db import StateDB  # noqa: E402
from ragbot.state.keys import KeyStore  # noqa: E402
from ragbot.testing import doubles_config  # noqa: E402

DEPOSIT = "How much is the security deposit?"
HOURS = "What are your office hours?"
HUMAN = "I want to talk to a real person now"
LOCAL = ("127.0.0.1", 50000)


def make_bot(kb_dir: Path, generator=None) -> Bot:
    gen = generator or ScriptedGenerator(["The security deposit is $2,000 [1]."])
    return Bot.open(kb_dir, config=doubles_config(), embedder=HashingEmbedder(256), generator=gen)


@pytest.fixture()
def serve(kb_dir):
    """serve(**settings) -> a started TestClient over a fresh app (from 127.0.0.1)."""
    clients = []

    def start(generator=None, client=LOCAL, **settings):
        app = create_app(make_bot(kb_dir, generator), ServeSettings(kb=str(kb_dir), **settings),
                         load_in_background=False)
        c = TestClient(app, client=client)
        c.__enter__()
        clients.append(c)
        return c

    yield start
    for c in clients:
        c.__exit__(None, None, None)


def keys(kb_dir) -> KeyStore:
    return KeyStore(StateDB.for_kb(kb_dir))


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def err(r, status: int, type_: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["type"] == type_ and body["error"]["message"], body
    return body["error"]


# ---------------------------------------------------------------------------- health, pages, metrics
def test_health_ready_and_metrics(serve):
    c = serve()
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/readyz").status_code == 200
    sid = c.post("/api/conversations", json={}).json()["session_id"]
    c.post(f"/api/conversations/{sid}/messages", json={"text": HOURS})
    text = c.get("/metrics").text
    assert 'ragbot_turns_total{decision="answer"} 1.0' in text
    assert 'ragbot_turn_seconds_count{kind="nomodel"} 1.0' in text
    assert "ragbot_model_queue_depth 0.0" in text and "ragbot_http_requests_total" in text


def test_readyz_is_503_until_the_models_load(kb_dir):
    release = threading.Event()

    class SlowLoad(ScriptedGenerator):
        def warm_up(self):
            release.wait(10)
            return self

    app = create_app(make_bot(kb_dir, SlowLoad(["x"])), ServeSettings(kb=str(kb_dir)))
    with TestClient(app, client=LOCAL) as c:
        err(c.get("/readyz"), 503, "server_overloaded")
        assert c.get("/healthz").status_code == 200
        release.set()
        assert app.state.ragbot.ready.wait(5)
        assert c.get("/readyz").json()["status"] == "ready"


def test_demo_page_and_static_files(serve, kb_dir, monkeypatch, tmp_path):
    from ragbot.server import pages

    static = tmp_path / "static"
    static.mkdir()
    (static / "demo.html").write_text('<script src="/widget.js" data-key="{{CLIENT_KEY}}"></script>')
    (static / "widget.js").write_text("console.log('widget')")
    monkeypatch.setattr(pages, "STATIC_DIR", static)
    keys(kb_dir).create("admin")
    c = serve(demo=True)
    html = c.get("/").text
    key = html.split('data-key="')[1].split('"')[0]
    assert key.startswith("rb_") and keys(kb_dir).verify(key).role == "client"
    assert c.get("/widget.js").headers["content-type"].startswith("application/javascript")
    err(c.get("/static/..%2Fdemo.html"), 404, "not_found_error")
    err(c.get("/inbox"), 404, "not_found_error")  # no inbox.html in this static folder
    c.__exit__(None, None, None)
    assert keys(kb_dir).verify(key) is None  # the demo key is revoked at shutdown


def test_no_demo_page_without_demo(serve):
    err(serve().get("/"), 404, "not_found_error")


# ---------------------------------------------------------------------------- auth and scope
def test_open_mode_only_for_loopback_clients(serve):
    assert serve().get("/v1/models").status_code == 200
    e = err(serve(client=("10.1.2.3", 4000)).get("/v1/models"), 401, "authentication_error")
    assert "keys create" in e["message"]


def test_missing_unknown_and_revoked_keys_get_401(serve, kb_dir):
    store = keys(kb_dir)
    k = store.create("client")
    store.create("admin")  # still a key left after the revocation below: no open mode
    c = serve()
    err(c.get("/v1/models"), 401, "authentication_error")
    err(c.get("/v1/models", headers=auth("rb_nope")), 401, "authentication_error")
    assert c.get("/v1/models", headers=auth(k.key)).status_code == 200
    store.revoke(k.record.key_id)
    err(c.get("/v1/models", headers=auth(k.key)), 401, "authentication_error")


def test_roles(serve, kb_dir):
    store = keys(kb_dir)
    client, agent, admin = (store.create(r).key for r in ("client", "agent", "admin"))
    c = serve()
    assert "agent" in err(c.get("/api/tickets", headers=auth(client)), 403, "permission_error")["message"]
    assert c.get("/api/tickets", headers=auth(agent)).status_code == 200
    err(c.get("/metrics", headers=auth(agent)), 403, "permission_error")
    assert c.get("/metrics", headers=auth(admin)).status_code == 200


def test_client_scope_may_be_narrowed_never_replaced_or_widened(serve, kb_dir):
    k = keys(kb_dir).create("client", scope={"property": "pine-avenue"}).key
    c = serve()
    e = err(c.post("/api/conversations", json={"scope": {"property": "oak-street"}}, headers=auth(k)), 403,
            "permission_error")
    assert "narrow" in e["message"] and "not widen or replace" in e["message"]
    err(c.post("/api/conversations", json={"scope": {"property": "*"}}, headers=auth(k)), 403, "permission_error")
    err(c.post("/v1/chat/completions", headers=auth(k), json={
        "messages": [{"role": "user", "content": DEPOSIT}], "scope": {"property": "oak-street"}}), 403, "permission_error")
    sid = c.post("/api/conversations", json={"scope": {"property": "pine-avenue"}}, headers=auth(k)).json()["session_id"]
    assert c.app.state.ragbot.bot.sessions.state(sid)["scope"] == {"property": "pine-avenue"}
    unscoped = keys(kb_dir).create("client").key  # narrowing an unscoped key to one property is allowed
    sid = c.post("/api/conversations", json={"scope": {"property": "oak-street"}}, headers=auth(unscoped)).json()
    assert c.app.state.ragbot.bot.sessions.state(sid["session_id"])["scope"] == {"property": "oak-street"}
    # no request scope: the key's scope still applies (no clarification between the two leases)
    sid = c.post("/api/conversations", json={}, headers=auth(k)).json()["session_id"]
    r = c.post(f"/api/conversations/{sid}/messages", json={"text": DEPOSIT}, headers=auth(k)).json()
    assert r["decision"] == "answer" and r["sources"][0]["source"] == "pine_lease.md", r


def test_cors_only_for_the_keys_origins(serve, kb_dir):
    store = keys(kb_dir)
    k = store.create("client", origins=["https://oak.example"]).key
    other = store.create("client").key
    c = serve()
    pre = {"Origin": "https://oak.example", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type"}
    r = c.options("/api/conversations", headers=pre)
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "https://oak.example"
    assert "Authorization" in r.headers["access-control-allow-headers"]
    r = c.options("/api/conversations", headers={**pre, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = c.get("/v1/models", headers={**auth(k), "Origin": "https://oak.example"})
    assert r.headers["access-control-allow-origin"] == "https://oak.example"
    for key, origin in ((k, "https://evil.example"), (other, "https://oak.example")):
        r = c.get("/v1/models", headers={**auth(key), "Origin": origin})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


# ---------------------------------------------------------------------------- conversations
def test_conversation_answer_transcript_and_feedback(serve):
    c = serve()
    sid = c.post("/api/conversations", json={"scope": {"property": "pine-avenue"}}).json()["session_id"]
    r = c.post(f"/api/conversations/{sid}/messages", json={"text": DEPOSIT})
    body = r.json()
    assert r.status_code == 200 and body["decision"] == "answer" and "$2,000" in body["text"]
    for field in ("confidence", "reason", "rule", "sources", "handoff", "timings_ms", "session_id", "message_id", "options"):
        assert field in body
    assert body["session_id"] == sid and body["sources"][0]["source"] == "pine_lease.md"
    t = c.get(f"/api/conversations/{sid}").json()
    assert [m["role"] for m in t["messages"]] == ["user", "assistant"] and t["handed_off"] is False
    assert t["messages"][1]["content"] == body["text"]
    f = c.post(f"/api/messages/{body['message_id']}/feedback", json={"rating": "down", "reason": "wrong"})
    assert f.json()["message_id"] == body["message_id"] and f.json()["rating"] == "down"
    assert [x.rating for x in c.app.state.ragbot.feedback.for_message(body["message_id"])] == ["down"]
    err(c.post(f"/api/messages/{body['message_id']}/feedback", json={"rating": "meh"}), 422, "invalid_request_error")
    err(c.post("/api/messages/nope/feedback", json={"rating": "up"}), 404, "not_found_error")


def test_streamed_message_is_sse_ending_with_the_reply(serve):
    c = serve()
    sid = c.post("/api/conversations", json={}).json()["session_id"]
    with c.stream("POST", f"/api/conversations/{sid}/messages", json={"text": HOURS, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in r.read().decode().split("\n\n") if f.strip()]
    events = [(f.split("\n")[0].removeprefix("event: "), json.loads(f.split("data: ", 1)[1])) for f in frames]
    assert events[-1][0] == "reply" and events[-1][1]["rule"] == "faq"
    streamed = "".join(d["text"] for name, d in events if name == "token")
    assert streamed == "" or events[-1][1]["text"].startswith(streamed[:20])


def test_clarify_options_then_choice(serve):
    c = serve()
    sid = c.post("/api/conversations", json={}).json()["session_id"]
    r = c.post(f"/api/conversations/{sid}/messages", json={"text": DEPOSIT}).json()
    assert r["decision"] == "clarify" and len(r["options"]) == 2, r
    pine = next(o for o in r["options"] if "Pine" in o or "pine" in o)
    r2 = c.post(f"/api/conversations/{sid}/messages", json={"text": pine}).json()
    assert r2["decision"] == "answer" and "$2,000" in r2["text"], r2


def test_a_client_sees_only_its_own_conversations(serve, kb_dir):
    store = keys(kb_dir)
    a, b, admin = store.create("client").key, store.create("client").key, store.create("admin").key
    c = serve()
    sid = c.post("/api/conversations", json={}, headers=auth(a)).json()["session_id"]
    assert c.get(f"/api/conversations/{sid}", headers=auth(a)).status_code == 200
    err(c.get(f"/api/conversations/{sid}", headers=auth(b)), 404, "not_found_error")
    err(c.post(f"/api/conversations/{sid}/messages", json={"text": HOURS}, headers=auth(b)), 404, "not_found_error")
    err(c.post("/v1/chat/completions", headers=auth(b), json={"session_id": sid,
        "messages": [{"role": "user", "content": HOURS}]}), 404, "not_found_error")
    assert c.get(f"/api/conversations/{sid}", headers=auth(admin)).status_code == 200
    err(c.get("/api/conversations/unknown123"), 401, "authentication_error")  # keys exist: header needed


def test_unknown_conversation_is_404(serve):
    err(serve().post("/api/conversations/nope/messages", json={"text": HOURS}), 404, "not_found_error")


# ---------------------------------------------------------------------------- errors and limits
def test_size_limits_413_and_422(serve):
    c = serve(max_body_bytes=1000)
    sid = c.post("/api/conversations", json={}).json()["session_id"]
    e = err(c.post(f"/api/conversations/{sid}/messages", json={"text": "x" * 2000}), 413, "request_too_large")
    assert "1000" in e["message"]
    c2 = serve()
    sid = c2.post("/api/conversations", json={}).json()["session_id"]
    e = err(c2.post(f"/api/conversations/{sid}/messages", json={"text": "word " * 600}), 422, "invalid_request_error")
    assert "2000" in e["message"]
    err(c2.post(f"/api/conversations/{sid}/messages", json={"text": "   "}), 422, "invalid_request_error")
    err(c2.post(f"/api/conversations/{sid}/messages", json={}), 422, "invalid_request_error")
    r = c2.post(f"/api/conversations/{sid}/messages", content=b"{not json", headers={"Content-Type": "application/json"})
    err(r, 400, "invalid_request_error")
    assert [m["role"] for m in c2.get(f"/api/conversations/{sid}").json()["messages"]] == []


def test_rate_limits_429_per_session_and_per_key(serve):
    c = serve(rate_session_per_min=2, rate_key_per_min=4)
    sid = c.post("/api/conversations", json={}).json()["session_id"]
    for _ in range(2):
        assert c.post(f"/api/conversations/{sid}/messages", json={"text": HOURS}).status_code == 200
    r = c.post(f"/api/conversations/{sid}/messages", json={"text": HOURS})
    assert "session" in err(r, 429, "rate_limit_error")["message"] and int(r.headers["retry-after"]) >= 1
    sid2 = c.post("/api/conversations", json={}).json()["session_id"]  # 4th request of the key
    r = c.post(f"/api/conversations/{sid2}/messages", json={"text": HOURS})
    assert "key" in err(r, 429, "rate_limit_error")["message"] and int(r.headers["retry-after"]) >= 1
    assert 'ragbot_rejected_total{reason="rate_limited"} 2.0' in c.get("/metrics").text


class BlockingGenerator(ScriptedGenerator):
    """A scripted generator whose calls wait until `release` is set."""

    def __init__(self):
        super().__init__(["The security deposit is $2,000 [1]."])
        self.release, self.entered = threading.Event(), threading.Event()

    def generate(self, messages, **kw):
        self.entered.set()
        assert self.release.wait(10)
        return super().generate(messages, **kw)


def test_full_model_queue_is_503_while_non_model_turns_still_answer(serve):
    gen = BlockingGenerator()
    c = serve(generator=gen, queue_size=0)
    sids = [c.post("/api/conversations", json={"scope": {"property": "pine-avenue"}}).json()["session_id"]
            for _ in range(3)]
    first = {}
    t = threading.Thread(target=lambda: first.update(
        r=c.post(f"/api/conversations/{sids[0]}/messages", json={"text": DEPOSIT})))
    t.start()
    assert gen.entered.wait(5)  # the only instance is busy, and no turn may wait
    r = c.post(f"/api/conversations/{sids[1]}/messages", json={"text": DEPOSIT})
    assert err(r, 503, "server_overloaded") and int(r.headers["retry-after"]) >= 1
    r = c.post(f"/api/conversations/{sids[2]}/messages", json={"text": HOURS})  # FAQ: no model needed
    assert r.status_code == 200 and r.json()["rule"] == "faq"
    gen.release.set()
    t.join(10)
    assert first["r"].status_code == 200 and first["r"].json()["decision"] == "answer"
    assert 'ragbot_rejected_total{reason="queue_full"} 1.0' in c.get("/metrics").text


# ---------------------------------------------------------------------------- OpenAI-compatible API
def test_v1_models_and_completion(serve):
    c = serve()
    assert c.get("/v1/models").json()["data"][0]["id"] == "ragbot"
    r = c.post("/v1/chat/completions", json={"model": "anything", "messages": [
        {"role": "system", "content": "be nice"}, {"role": "user", "content": HOURS}], "user": "u1"}).json()
    assert r["object"] == "chat.completion" and "9 a.m." in r["choices"][0]["message"]["content"]
    rb = r["ragbot"]
    assert rb["decision"] == "answer" and rb["rule"] == "faq" and rb["session_id"] == r["session_id"]
    assert {"confidence", "reason", "sources", "message_id", "ticket"} <= set(rb)


def test_v1_history_session_and_metadata(serve):
    c = serve()
    msgs = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi, how can I help?"},
            {"role": "user", "content": HOURS}]
    r = c.post("/v1/chat/completions", json={"messages": msgs}).json()
    sid = r["session_id"]
    hist = c.get(f"/api/conversations/{sid}").json()["messages"]
    assert [m["content"] for m in hist[:3]] == ["Hello", "Hi, how can I help?", HOURS]
    r2 = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": HUMAN}],
                                               "metadata": {"session_id": sid}}).json()
    assert r2["session_id"] == sid and r2["ragbot"]["decision"] == "handoff" and r2["ragbot"]["ticket"]["ticket_id"]
    assert len(c.get(f"/api/conversations/{sid}").json()["messages"]) == 6  # history not re-added
    r3 = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": HOURS}],
                                               "session_id": "my-own-id-1"}).json()
    assert r3["session_id"] == "my-own-id-1"


def test_v1_stream_chunks_end_with_ragbot_object_and_done(serve):
    c = serve()
    with c.stream("POST", "/v1/chat/completions", json={"stream": True, "messages": [
            {"role": "user", "content": HOURS}]}) as r:
        lines = [ln for ln in r.read().decode().split("\n") if ln.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln[6:]) for ln in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert len({ch["id"] for ch in chunks}) == 1 and all(ch["object"] == "chat.completion.chunk" for ch in chunks)
    text = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks)
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop" and last["ragbot"]["rule"] == "faq"
    assert text == last["ragbot"]["text"] and "9 a.m." in text


def test_v1_errors_use_openai_shape(serve):
    c = serve()
    err(c.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]}), 400,
        "invalid_request_error")
    err(c.post("/v1/chat/completions", json={"messages": "nope"}), 422, "invalid_request_error")
    err(c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "w " * 1500}]}), 422,
        "invalid_request_error")
    err(c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": HOURS}],
                                             "metadata": {"scope": "{bad"}}), 400, "invalid_request_error")


def test_time_to_first_token_counts_streamed_turns_only(serve):
    c = serve()
    sid = c.post("/api/conversations", json={}).json()["session_id"]
    c.post(f"/api/conversations/{sid}/messages", json={"text": HOURS})
    assert "ragbot_time_to_first_token_seconds_count 0.0" in c.get("/metrics").text
    c.post(f"/api/conversations/{sid}/messages", json={"text": HOURS, "stream": True})
    assert "ragbot_time_to_first_token_seconds_count 1.0" in c.get("/metrics").text


def test_feedback_approved_into_an_override_and_the_admin_report(serve):
    c = serve()  # open mode (no keys): loopback requests act as admin
    sid = c.post("/api/conversations", json={"scope": {"property": "pine-avenue"}}).json()["session_id"]
    body = c.post(f"/api/conversations/{sid}/messages", json={"text": DEPOSIT}).json()
    f = c.post(f"/api/messages/{body['message_id']}/feedback",
               json={"rating": "down", "reason": "wrong", "correction": "The deposit at Pine Avenue is $2,000 flat."})
    o = c.post(f"/api/feedback/{f.json()['feedback_id']}/approve", json={"scope": {"property": "pine-avenue"}})
    assert o.status_code == 200, o.text
    again = c.post(f"/api/conversations/{sid}/messages", json={"text": DEPOSIT}).json()
    assert again["rule"] == "override" and again["text"] == "The deposit at Pine Avenue is $2,000 flat."
    page = c.get("/api/report")
    assert page.status_code == 200 and "ragbot monitoring report" in page.text
    assert c.get("/api/report", params={"format": "json"}).json()["turns"] >= 2
    err(c.get("/api/report", params={"format": "pdf"}), 422, "invalid_request_error")
