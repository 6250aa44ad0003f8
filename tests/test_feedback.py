"""Turn log, feedback store, retention and the feedback / sessions CLI (typer CliRunner)."""

from __future__ import annotations

import json
import time

import pytest
import typer
from typer.testing import CliRunner

from ragbot.chat.conversation import JsonlHandoffHandler, SessionStore
from ragbot.errors import InputError
from ragbot.state.db import StateDB
from ragbot.state.feedback import FeedbackStore
from ragbot.state.retention import Transcripts
from ragbot.state.turnlog import MessageNotFoundError, TurnLog, TurnRecord
from ragbot.tune.feedback_cli import feedback_app, overrides_app, sessions_app
from ragbot.types import Decision, HandoffTicket, Reply, Source, Turn

EMAIL, PHONE, CARD = "jane.roe@example.com", "(415) 555-0132", "4111 1111 1111 1111"


@pytest.fixture()
def stores(tmp_path):
    db = StateDB.for_kb(tmp_path)
    log = TurnLog(db)
    return db, log, FeedbackStore(db, log)


def _rec(mid="m1", sid="s1", question="Is there guest parking?", ts=None, **kw):
    return TurnRecord(message_id=mid, session_id=sid, question=question, reply=kw.pop("reply", "No idea."),
                      decision=kw.pop("decision", "handoff"), rule=kw.pop("rule", "out_of_scope"),
                      ts=ts or time.time(), **kw)


def test_turn_log_scrubs_pii_from_every_text_field(stores):
    _, log, _ = stores
    log.record(_rec(question=f"My email is {EMAIL}, call me at {PHONE}. Is there guest parking?",
                    reply=f"Card {CARD} noted.", reason=f"rule x: customer {EMAIL}",
                    signals={"quote": f"reach me at {EMAIL}", "top_score": 0.4}, scope={"property": "oak-street"},
                    sources=({"source": "faq.csv", "page": None, "score": 0.4, "doc_type": "faq", "chunk_id": "c1"},)))
    got = log.get("m1")
    stored = json.dumps(got.to_dict())
    for pii in (EMAIL, PHONE, CARD):
        assert pii not in stored
    assert "<EMAIL>" in got.question and "<PHONE>" in got.question and "<CARD>" in got.reply
    assert got.signals["top_score"] == 0.4 and got.scope == {"property": "oak-street"}
    assert got.sources[0]["chunk_id"] == "c1" and got.question.endswith("Is there guest parking?")


def test_turn_record_from_reply_keeps_what_feedback_needs(stores):
    from ragbot.chat.gate import GateSignals

    _, log, fb = stores
    reply = Reply(text="The deposit is $1,450 [1].", decision=Decision.ANSWER, confidence=0.8,
                  reason="rule grounded_answer: ...", session_id="s9", rule="grounded_answer",
                  sources=(Source("oak_lease.md", None, 0.71, "lease", chunk_id="abc"),),
                  signals=GateSignals(top_score=0.71, intents={"contact": f"mail {EMAIL}"}),
                  timings_ms={"total": 812.5}, message_id="m-r")
    rec = log.record(TurnRecord.from_reply(reply, "How much is the deposit?", user_id="u1",
                                           scope={"property": "oak-street"}))
    assert rec.message_id == "m-r" and rec.decision == "answer" and rec.latency_ms == 812.5
    assert rec.sources[0]["chunk_id"] == "abc" and rec.signals["top_score"] == 0.71
    assert EMAIL not in json.dumps(rec.signals) and "<EMAIL>" in rec.signals["intents"]["contact"]
    item = fb.add("m-r", "up", who="u1")
    [(f, turn)] = fb.with_turns()
    assert f == item and turn.question == "How much is the deposit?" and turn.reason == "rule grounded_answer: ..."


def test_feedback_validation_names_the_field(stores):
    _, log, fb = stores
    log.record(_rec())
    with pytest.raises(InputError, match="'rating'"):
        fb.add("m1", "sideways")
    with pytest.raises(InputError, match="'reason'"):
        fb.add("m1", "down", reason="boring")
    with pytest.raises(InputError, match="'correction'"):
        fb.add("m1", "down", correction=42)
    with pytest.raises(InputError, match="'correction'.*shorten"):
        fb.add("m1", "down", correction="x" * 5000)
    with pytest.raises(MessageNotFoundError, match="unknown message_id 'nope'"):
        fb.add("nope", "up")
    assert fb.list() == []


def test_several_feedback_rows_per_reply_and_the_join_keeps_each_side(stores):
    _, log, fb = stores
    log.record(_rec(reason="rule out_of_scope: top 0.1"))
    a = fb.add("m1", "DOWN ", reason="wrong", who="user-1", ts=100.0)
    b = fb.add("m1", "down", reason="should_handoff", correction="  Guests park   in lot B. ", who="agent", ts=200.0)
    assert [f.feedback_id for f in fb.for_message("m1")] == [a.feedback_id, b.feedback_id]
    assert a.rating == "down" and b.correction == "Guests park in lot B."
    pairs = fb.with_turns()
    assert [p[0].reason for p in pairs] == ["wrong", "should_handoff"]
    assert all(p[1].reason == "rule out_of_scope: top 0.1" for p in pairs)  # the turn's, not the feedback's
    assert [f.feedback_id for f, _ in fb.with_turns(since=150.0)] == [b.feedback_id]
    assert fb.get(b.feedback_id) == b


# ---------------------------------------------------------------------- retention
@pytest.fixture()
def kb_with_history(tmp_path, stores):
    db, log, fb = stores
    sessions = SessionStore(tmp_path / "sessions.sqlite")
    old, new = time.time() - 40 * 86400, time.time()
    for sid, ts, user in (("old", old, "u1"), ("new", new, "u1"), ("other", new, "u2")):
        sessions.create(sid)
        sessions.append(sid, "user", f"Hi, I'm Jane Roe, my email is {EMAIL}")
        sessions.append(sid, "assistant", "A person will follow up.", "handoff")
        log.record(_rec(mid=f"m-{sid}", sid=sid, ts=ts, user_id=user, question=f"my email is {EMAIL}"))
        fb.add(f"m-{sid}", "down", correction=f"Write to {EMAIL}", ts=ts)
        JsonlHandoffHandler(tmp_path / "handoffs.jsonl")(HandoffTicket(
            ticket_id=f"t-{sid}", session_id=sid, reason="r", urgency="normal", summary=f"customer {EMAIL}",
            transcript=(Turn("user", f"my email is {EMAIL}"),), created_at=ts))
    sessions._conn.execute("UPDATE sessions SET updated_at = ? WHERE id = 'old'", (old,))
    sessions._conn.commit()
    sessions.close()
    return tmp_path


def test_purge_scrub_keeps_recent_conversations_untouched(kb_with_history):
    t = Transcripts.for_kb(kb_with_history)
    rep = t.purge(30, "scrub")
    assert rep.sessions == 1 and rep.rows["session_turns"] == 1 and rep.rows["handoffs"] == 1
    old, new = t.export(session_id="old")["sessions"][0], t.export(session_id="new")["sessions"][0]
    assert EMAIL not in json.dumps(old) and "<EMAIL>" in old["transcript"][0]["content"]
    assert EMAIL in new["transcript"][0]["content"] and EMAIL in new["feedback"][0]["correction"]


def test_purge_drop_deletes_old_conversations_everywhere(kb_with_history):
    t = Transcripts.for_kb(kb_with_history)
    rep = t.purge(30, "drop")
    assert rep.sessions == 1 and rep.rows["turn_log"] == 1 and rep.rows["feedback"] == 1
    assert t.export(session_id="old")["sessions"][0] == {"session_id": "old", "turns": [], "feedback": [],
                                                          "transcript": [], "tickets": [], "handoffs": []}
    lines = (kb_with_history / "handoffs.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["session_id"] for x in lines) == ["new", "other"]
    with pytest.raises(InputError, match="mode"):
        t.purge(30, "shred")


def test_export_and_delete_by_user(kb_with_history):
    t = Transcripts.for_kb(kb_with_history)
    data = t.export(user_id="u1")
    assert sorted(s["session_id"] for s in data["sessions"]) == ["new", "old"]
    assert all(s["turns"] and s["transcript"] and s["handoffs"] for s in data["sessions"])
    rep = t.delete(user_id="u1")
    assert rep.sessions == 2 and rep.rows["sessions"] == 2 and rep.rows["turn_log"] == 2
    assert t.turnlog.session_ids() == ["other"]
    with pytest.raises(InputError, match="exactly one"):
        t.delete()


# ---------------------------------------------------------------------- CLI
def _app():
    app = typer.Typer()
    app.add_typer(feedback_app, name="feedback")
    app.add_typer(overrides_app, name="overrides")
    app.add_typer(sessions_app, name="sessions")
    return app


def _run(*args):
    return CliRunner().invoke(_app(), [str(a) for a in args])


def test_cli_feedback_round_trip_to_an_approved_override(tmp_path, stores):
    _, log, _ = stores
    log.record(_rec(scope={"property": "oak-street"}))
    r = _run("feedback", "add", "m1", "--kb", tmp_path, "--down", "--reason", "wrong",
             "--correction", "Guests park in lot B with a free permit.", "--json")
    assert r.exit_code == 0, r.output
    fid = json.loads(r.stdout)["feedback_id"]
    listed = json.loads(_run("feedback", "list", "--kb", tmp_path, "--json").stdout)["feedback"]
    assert [f["feedback_id"] for f in listed] == [fid] and listed[0]["reason"] == "wrong"
    r = _run("feedback", "approve", fid, "--kb", tmp_path, "--author", "ana", "--json")
    ov = json.loads(r.stdout)
    assert ov["scope"] == {"property": "oak-street"} and ov["answer"].startswith("Guests park in lot B")
    r = _run("feedback", "approve", fid, "--kb", tmp_path, "--scope", "property=pine-avenue", "--json")
    assert json.loads(r.stdout)["scope"] == {"property": "pine-avenue"}
    assert len(json.loads(_run("overrides", "list", "--kb", tmp_path, "--json").stdout)["overrides"]) == 2


def test_cli_errors_exit_2_with_the_reason(tmp_path, stores):
    _, log, _ = stores
    log.record(_rec())
    r = _run("feedback", "add", "m1", "--kb", tmp_path, "--down", "--reason", "boring")
    assert r.exit_code == 2 and "'reason'" in r.output
    r = _run("feedback", "add", "zzz", "--kb", tmp_path, "--up")
    assert r.exit_code == 2 and "unknown message_id 'zzz'" in r.output
    r = _run("feedback", "add", "m1", "--kb", tmp_path)
    assert r.exit_code == 2 and "--up or --down" in r.output


def test_cli_overrides_versions_and_sessions(kb_with_history):
    kb = kb_with_history
    oid = json.loads(_run("overrides", "add", "--kb", kb, "--question", "Is there guest parking?", "--answer",
                          "Yes, lot B.", "--author", "ana", "--json").stdout)["override_id"]
    assert _run("overrides", "edit", oid, "--kb", kb, "--answer", "Yes, lot C.", "--author", "bo").exit_code == 0
    assert _run("overrides", "disable", oid, "--kb", kb).exit_code == 0
    hist = json.loads(_run("overrides", "history", oid, "--kb", kb, "--json").stdout)["versions"]
    assert [(v["version"], v["answer"], v["active"], v["author"]) for v in hist] == [
        (1, "Yes, lot B.", True, "ana"), (2, "Yes, lot C.", True, "bo"), (3, "Yes, lot C.", False, None)]
    assert json.loads(_run("overrides", "list", "--kb", kb, "--json").stdout)["overrides"] == []
    data = json.loads(_run("sessions", "export", "--kb", kb, "--session", "new").stdout)
    assert data["sessions"][0]["turns"][0]["message_id"] == "m-new"
    r = _run("sessions", "purge", "--kb", kb, "--older-than-days", 30, "--mode", "drop", "--json")
    assert json.loads(r.stdout)["sessions"] == 1
    r = _run("sessions", "delete", "--kb", kb, "--session", "new", "--json")
    assert json.loads(r.stdout)["rows"]["turn_log"] == 1
