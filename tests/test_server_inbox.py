"""The handoff inbox over HTTP (lifecycle, scopes, the person's replies in the customer's
conversation, the webhook handler) and the JSON access log."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from ragbot.server import ServeSettings, create_app  # noqa: E402
from test_server_api import HOURS, HUMAN, LOCAL, auth, err, keys, make_bot, serve  # noqa: E402,F401


# ---------------------------------------------------------------------------- handoff inbox
def test_handoff_inbox_lifecycle(kb_dir):
    got = []
    app = create_app(make_bot(kb_dir), ServeSettings(kb=str(kb_dir)), webhook=got.append, load_in_background=False)
    store = keys(kb_dir)
    client, agent = store.create("client").key, store.create("agent", name="Dana").key
    oak_agent = store.create("agent", scope={"property": "oak-street"}).key
    with TestClient(app, client=LOCAL) as c:
        sid = c.post("/api/conversations", json={"scope": {"property": "pine-avenue"}}, headers=auth(client)).json()["session_id"]
        r = c.post(f"/api/conversations/{sid}/messages", json={"text": HUMAN}, headers=auth(client)).json()
        assert r["decision"] == "handoff" and r["handoff"]["ticket_id"]
        tid = r["handoff"]["ticket_id"]
        assert [t.ticket_id for t in got] == [tid]  # the webhook handler saw the new ticket
        assert [t["ticket_id"] for t in c.get("/api/tickets?status=open", headers=auth(agent)).json()["tickets"]] == [tid]
        assert c.get("/api/tickets", headers=auth(oak_agent)).json()["tickets"] == []  # another property's ticket
        err(c.get(f"/api/tickets/{tid}", headers=auth(oak_agent)), 404, "not_found_error")
        err(c.get("/api/tickets?status=closed", headers=auth(agent)), 400, "invalid_request_error")
        d = c.get(f"/api/tickets/{tid}", headers=auth(agent)).json()
        assert d["status"] == "open" and d["urgency"] and d["reason"] and d["summary"] and d["scope"] == {"property": "pine-avenue"}
        assert "sources" in d and d["transcript"][0]["content"] == HUMAN
        # while handed off, the bot does not answer
        again = c.post(f"/api/conversations/{sid}/messages", json={"text": "hello?"}, headers=auth(client)).json()
        assert again["rule"] == "handed_off"
        assert c.post(f"/api/tickets/{tid}/assign", json={}, headers=auth(agent)).json()["status"] == "assigned"
        err(c.post(f"/api/tickets/{tid}/assign", headers=auth(agent)), 409, "conflict_error")
        err(c.post(f"/api/tickets/{tid}/messages", json={"text": " "}, headers=auth(agent)), 422, "invalid_request_error")
        c.post(f"/api/tickets/{tid}/messages", json={"text": "Hi, Dana here. How can I help?"}, headers=auth(agent))
        t = c.get(f"/api/conversations/{sid}", headers=auth(client)).json()
        assert t["handed_off"] is True and t["ticket_status"] == "assigned"
        person = [m for m in t["messages"] if m["role"] == "agent"]
        assert person and person[0]["content"] == "Hi, Dana here. How can I help?" and person[0]["name"] == "Dana"
        d = c.post(f"/api/tickets/{tid}/resolve", headers=auth(agent)).json()
        assert d["status"] == "resolved" and [e["status"] for e in d["events"]] == ["open", "assigned", "resolved"]
        assert d["created_at"] <= d["assigned_at"] <= d["resolved_at"]
        err(c.post(f"/api/tickets/{tid}/resolve", headers=auth(agent)), 409, "conflict_error")
        err(c.post(f"/api/tickets/{tid}/messages", json={"text": "late"}, headers=auth(agent)), 409, "conflict_error")
        back = c.post(f"/api/conversations/{sid}/messages", json={"text": HOURS}, headers=auth(client)).json()
        assert back["rule"] != "handed_off" and back["decision"] == "answer"  # the bot answers again
        assert c.get("/api/tickets?status=resolved", headers=auth(agent)).json()["tickets"][0]["ticket_id"] == tid
        err(c.get("/api/tickets/nope", headers=auth(agent)), 404, "not_found_error")


def test_access_log_is_json_and_scrubbed(serve, caplog):
    import logging

    log = logging.getLogger("ragbot.access")
    log.addHandler(caplog.handler)
    try:
        c = serve()
        sid = c.post("/api/conversations", json={}).json()["session_id"]
        c.post(f"/api/conversations/{sid}/messages", json={"text": HOURS})
        c.get("/api/conversations/jo.doe@example.com")
    finally:
        log.removeHandler(caplog.handler)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ragbot.access"]
    turn = next(x for x in lines if x["path"].endswith("/messages"))
    assert turn["session"] == sid and turn["decision"] == "answer" and turn["rule"] == "faq" and turn["ms"] > 0
    assert turn["status"] == 200 and turn["model"] is False
    assert not any("jo.doe@example.com" in json.dumps(x) for x in lines) and any("<EMAIL>" in x["path"] for x in lines)
