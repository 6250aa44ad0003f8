"""Server parts without HTTP: KeyStore, TicketStore, the webhook sender, the model pool, the rate
limiter, log scrubbing and the `ragbot keys` commands."""

from __future__ import annotations

import json
import threading
import time

import pytest

from ragbot.errors import ConfigError, InputError
from ragbot.state.db import StateDB
from ragbot.state.keys import KeyStore, hash_key
from ragbot.state.tickets import TicketNotFoundError, TicketStateError, TicketStore
from ragbot.types import HandoffTicket, Turn


@pytest.fixture()
def db(tmp_path):
    d = StateDB(tmp_path / "state.sqlite")
    yield d
    d.close()


def _ticket(tid="t1", sid="s1", scope=None) -> HandoffTicket:
    return HandoffTicket(ticket_id=tid, session_id=sid, reason="rule intent_human", urgency="normal",
                         summary="wants a person", transcript=(Turn("user", "a person please"),),
                         scope=scope or {"property": "oak-street"}, created_at=time.time())


def test_keys_store_only_hashes_and_verify_revoke(db, tmp_path):
    store = KeyStore(db)
    created = store.create("client", scope={"property": "oak-street"}, origins=["https://Oak.Example/"], name="oak site")
    assert created.key.startswith("rb_") and len(created.key) > 40
    raw = (tmp_path / "state.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("state.sqlite-*"))
    assert created.key.encode() not in raw and hash_key(created.key).encode() in raw
    rec = store.verify(created.key)
    assert rec.role == "client" and rec.scope == {"property": "oak-street"} and rec.origins == ("https://oak.example",)
    assert store.verify("rb_wrong") is None and store.verify("") is None
    assert store.all_origins() == {"https://oak.example"} and store.has_active()
    store.revoke(rec.key_id)
    assert store.verify(created.key) is None and not store.has_active()
    assert store.list()[0].revoked_at is not None


@pytest.mark.parametrize("kwargs", [{"role": "owner"}, {"role": "client", "origins": ["not a url"]},
                                    {"role": "client", "scope": {"property": "*"}},
                                    {"role": "client", "scope": {"bad key": "x"}}])
def test_keys_reject_bad_input(db, kwargs):
    with pytest.raises(InputError):
        KeyStore(db).create(**kwargs)
    with pytest.raises(InputError):
        KeyStore(db).revoke("nope")


def test_ticket_lifecycle_with_timestamps(db):
    store = TicketStore(db)
    store(_ticket())
    store(_ticket())  # idempotent per ticket id
    assert [t.status for t in store.list()] == ["open"] and store.list("assigned") == []
    rec = store.assign("t1", by="dana")
    assert rec.status == "assigned" and rec.assigned_to == "dana" and rec.assigned_at >= rec.created_at
    with pytest.raises(TicketStateError):
        store.assign("t1", by="lee")
    store.add_message("t1", "dana", "We are on it")
    rec = store.resolve("t1", by="dana")
    assert rec.status == "resolved" and rec.resolved_at >= rec.assigned_at and rec.resolved_by == "dana"
    with pytest.raises(TicketStateError):
        store.resolve("t1", by="dana")
    with pytest.raises(TicketStateError):
        store.add_message("t1", "dana", "late")
    assert [e["status"] for e in store.events("t1")] == ["open", "assigned", "resolved"]
    assert store.messages("t1")[0]["text"] == "We are on it"
    assert store.for_session("s1").ticket_id == "t1" and store.for_session("zz") is None
    with pytest.raises(TicketNotFoundError):
        store.get("nope")
    with pytest.raises(InputError):
        store.list("closed")


def test_message_to_an_open_ticket_assigns_it(db):
    store = TicketStore(db)
    store(_ticket("t2"))
    assert store.add_message("t2", "lee", "Hello").status == "assigned"
    with pytest.raises(InputError):
        store.add_message("t2", "lee", "  ")


def test_webhook_signs_retries_with_backoff_and_never_blocks():
    httpx = pytest.importorskip("httpx")
    from ragbot.server.webhook import WebhookSender, verify_signature

    calls, gate = [], threading.Event()

    def handler(request):
        gate.wait(5)
        calls.append((time.monotonic(), request))
        return httpx.Response(500 if len(calls) < 3 else 200)

    hook = WebhookSender("https://hooks.example/x", secret="s3cret", base_delay_s=0.05,
                         client=httpx.Client(transport=httpx.MockTransport(handler)))
    t0 = time.perf_counter()
    hook(_ticket("t9"))
    assert time.perf_counter() - t0 < 0.05  # enqueued, not sent, while the receiver hangs
    gate.set()
    assert hook.join(5) and hook.delivered == 1 and hook.failed == 0 and len(calls) == 3
    gaps = [b[0] - a[0] for a, b in zip(calls, calls[1:])]
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095  # 0.05 s, then 0.1 s
    req = calls[-1][1]
    body = req.read()
    assert json.loads(body)["ticket_id"] == "t9"
    assert verify_signature("s3cret", req.headers["x-ragbot-timestamp"], body, req.headers["x-ragbot-signature"])
    assert not verify_signature("other", req.headers["x-ragbot-timestamp"], body, req.headers["x-ragbot-signature"])
    hook.close()


def test_webhook_gives_up_on_a_client_error():
    httpx = pytest.importorskip("httpx")
    from ragbot.server.webhook import WebhookSender

    n = []
    hook = WebhookSender("https://hooks.example/x", base_delay_s=0.01,
                         client=httpx.Client(transport=httpx.MockTransport(lambda r: n.append(1) or httpx.Response(404))))
    hook(_ticket())
    assert hook.join(5) and hook.failed == 1 and len(n) == 1
    hook.close()


def test_model_pool_bounds_the_queue():
    from ragbot.generators import ScriptedGenerator
    from ragbot.server.pool import ModelPool, ModelQueueFull

    release = threading.Event()

    class Slow(ScriptedGenerator):
        def generate(self, messages, **kw):
            release.wait(5)
            return super().generate(messages, **kw)

    pool = ModelPool([Slow(["ok"])], max_queue=1, timeout_s=5)
    msgs = [{"role": "user", "content": "hi"}]
    threads = [threading.Thread(target=pool.generate, args=(msgs,)) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while (pool.busy, pool.waiting) != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (pool.busy, pool.waiting) == (1, 1)
    with pytest.raises(ModelQueueFull) as e:
        pool.generate(msgs)
    assert e.value.retry_after_s >= 1
    release.set()
    for t in threads:
        t.join(5)
    assert (pool.busy, pool.waiting, pool.calls) == (0, 0, 2)
    assert pool.generate(msgs).text == "ok"


def test_default_threads_never_oversubscribe():
    from ragbot.server.pool import default_threads

    assert default_threads(2, 1, 1) == 1 and default_threads(16, 1, 1) == 15 and default_threads(8, 2, 2) == 1
    assert default_threads(1, 1, 1) == 1 and default_threads(2, 2, 1) == 1
    for cores, inst, work in ((2, 1, 1), (16, 2, 3), (8, 2, 2), (4, 4, 1)):
        assert default_threads(cores, inst, work) * inst * work <= cores
    with pytest.raises(ConfigError):
        default_threads(2, 3, 1)


def test_rate_limiter_refills():
    from ragbot.server.limits import RateLimiter

    rl = RateLimiter(per_minute=120)  # 2 per second
    assert all(rl.hit("a") == 0 for _ in range(120))
    assert rl.hit("a") >= 1 and rl.hit("b") == 0
    time.sleep(0.6)
    assert rl.hit("a") == 0


def test_log_fields_are_scrubbed():
    from ragbot.server.logs import scrub_fields

    out = scrub_fields({"path": "/api/conversations/jo.doe@example.com", "error": "call 416-555-0199",
                        "status": 404, "key": "abc123"})
    assert "jo.doe@example.com" not in out["path"] and "416-555-0199" not in out["error"]
    assert out["status"] == 404 and out["key"] == "abc123"


def test_keys_cli(tmp_path):
    from typer.testing import CliRunner

    from ragbot.server.cli import keys_app

    kb = tmp_path / "kb"
    kb.mkdir()
    run = CliRunner().invoke
    r = run(keys_app, ["create", "--kb", str(kb), "--role", "client", "--scope", "property=oak-street",
                       "--origin", "https://oak.example", "--name", "oak", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {"key", "name", "role", "scope"} <= set(out) and out["scope"] == {"property": "oak-street"}
    listed = json.loads(run(keys_app, ["list", "--kb", str(kb), "--json"]).stdout)["keys"]
    assert [k["key_id"] for k in listed] == [out["key_id"]] and "key" not in listed[0]
    assert run(keys_app, ["revoke", out["key_id"], "--kb", str(kb)]).exit_code == 0
    assert KeyStore(StateDB.for_kb(kb)).verify(out["key"]) is None
    bad = run(keys_app, ["create", "--kb", str(kb), "--role", "boss"])
    assert bad.exit_code == 2 and "role must be one of" in bad.output
    assert run(keys_app, ["list", "--kb", str(tmp_path / "missing")]).exit_code == 2


def test_model_pool_runs_instances_in_parallel_and_loads_them_one_at_a_time():
    from ragbot.generators import ScriptedGenerator
    from ragbot.server.pool import ModelPool

    active, peak, lock = [0], [0], threading.Lock()

    class Tracked(ScriptedGenerator):
        def _enter(self):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1

        def warm_up(self):
            self._enter()
            return self

        def generate(self, messages, **kw):
            self._enter()
            return super().generate(messages, **kw)

    pool = ModelPool([Tracked(["a"]), Tracked(["b"])], max_queue=4)
    loaders = [threading.Thread(target=pool.warm_up) for _ in range(3)]
    for t in loaders:
        t.start()
    for t in loaders:
        t.join()
    assert peak[0] == 1  # never two model loads at once
    peak[0] = 0
    msgs = [{"role": "user", "content": "hi"}]
    callers = [threading.Thread(target=pool.generate, args=(msgs,)) for _ in range(4)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert peak[0] == 2 and pool.calls == 4  # both instances busy at once, never more


def test_serialized_session_store_survives_concurrent_writers(tmp_path):
    from ragbot.chat.conversation import SessionStore
    from ragbot.server.limits import Serialized

    store = Serialized(SessionStore(tmp_path / "sessions.sqlite"))
    sids = [store.create() for _ in range(8)]
    errors = []

    def write(sid):
        try:
            for i in range(40):
                store.append(sid, "user" if i % 2 == 0 else "assistant", f"message {i}")
                store.update_state(sid, n=i)
        except Exception as e:  # collected: the assertion below names it
            errors.append(e)

    threads = [threading.Thread(target=write, args=(sid,)) for sid in sids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and all(len(store.turns(sid)) == 40 for sid in sids)
    assert store.state(sids[0])["n"] == 39
