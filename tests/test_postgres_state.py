"""The state stores on PostgreSQL (ragbot.state.postgres.PostgresStateDB), against a real
PostgreSQL (conftest_pg.py): each store through its public API, and two "workers" (two
PostgresStateDB connections) sharing keys, tickets, feedback and overrides."""

from __future__ import annotations

import threading
import time

import pytest

from ragbot.types import HandoffTicket, Turn

pytestmark = pytest.mark.slow  # a real PostgreSQL


@pytest.fixture()
def workers(pg_dsn, pg_schema):
    """Two PostgresStateDB objects on the same schema, as two serve machines would hold."""
    from ragbot.state.postgres import PostgresStateDB

    dbs = [PostgresStateDB(pg_dsn, schema=pg_schema) for _ in range(2)]
    yield dbs
    for d in dbs:
        d.close()


def _ticket(tid: str = "t1") -> HandoffTicket:
    return HandoffTicket(ticket_id=tid, session_id="s1", reason="rule intent_human", urgency="normal",
                         summary="wants a person", transcript=(Turn("user", "a person please"),),
                         scope={"property": "oak-street"}, created_at=time.time())


def test_translation_of_sqlite_statements(workers):
    from ragbot.state.tickets import TicketStore

    db = workers[0]
    TicketStore(db)
    assert db.translate("SELECT a FROM t WHERE b = ? AND c LIKE '%x?%'") == \
        "SELECT a FROM t WHERE b = %s AND c LIKE '%%x?%%'"
    assert db.translate("INSERT OR IGNORE INTO tickets (ticket_id) VALUES (?)").endswith("ON CONFLICT DO NOTHING")
    assert "ORDER BY at, ctid" in db.translate("SELECT text FROM ticket_messages ORDER BY at, rowid")
    types = dict(db.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
                          "current_schema() AND table_name = 'tickets'"))
    assert types["created_at"] == "double precision"  # REAL would be float4: 2-minute resolution


def test_ticket_resolved_on_one_worker_is_resolved_for_all(workers):
    from ragbot.state.tickets import TicketStore

    a, b = TicketStore(workers[0]), TicketStore(workers[1])
    a.add(_ticket())
    a.add(_ticket())  # idempotent (INSERT OR IGNORE)
    assert [t.ticket_id for t in b.list(status="open")] == ["t1"]
    b.assign("t1", by="agent-1")
    b.add_message("t1", "agent-1", "On my way.")
    done = a.resolve("t1", by="agent-2")
    assert done.status == "resolved" and b.get("t1").status == "resolved"
    assert [e["status"] for e in a.events("t1")] == ["open", "assigned", "resolved"]
    assert [m["text"] for m in b.messages("t1")] == ["On my way."]
    assert abs(b.get("t1").created_at - time.time()) < 60  # double precision, not float4


def test_keys_created_on_one_worker_verify_on_another(workers):
    from ragbot.state.keys import KeyStore, hash_key

    created = KeyStore(workers[0]).create("client", scope={"property": "oak-street"}, name="oak site")
    other = KeyStore(workers[1])
    assert other.verify(created.key).scope == {"property": "oak-street"}
    stored = [tuple(r) for r in workers[1].query("SELECT * FROM api_keys")]
    assert created.key not in str(stored) and hash_key(created.key) in str(stored)
    other.revoke(created.record.key_id)
    assert KeyStore(workers[0]).verify(created.key) is None and not other.has_active()


def test_turn_log_feedback_and_overrides(workers):
    from ragbot.state.feedback import FeedbackStore
    from ragbot.state.overrides import OverrideStore
    from ragbot.state.turnlog import TurnLog, TurnRecord

    log = TurnLog(workers[0])
    log.record(TurnRecord("m1", "s1", "How much is the deposit?", "It is $500 [1].", "answer", ts=time.time()))
    log.record(TurnRecord("m1", "s1", "How much is the deposit?", "It is $450 [1].", "answer"))  # replaces
    assert TurnLog(workers[1]).get("m1").reply == "It is $450 [1]."
    fb = FeedbackStore(workers[1]).add("m1", "down", reason="wrong", correction="The deposit is $1,000.")
    assert [f.feedback_id for f in FeedbackStore(workers[0]).for_message("m1")] == [fb.feedback_id]
    store = OverrideStore(workers[0])
    ov = store.add("How much is the deposit?", "The deposit is $1,000.", scope={"property": "oak-street"})
    store.edit(ov.override_id, answer="The deposit is $1,100.")
    shared = OverrideStore(workers[1])
    assert shared.get(ov.override_id).answer == "The deposit is $1,100."
    assert [o.version for o in shared.history(ov.override_id)] == [1, 2]


def test_concurrent_writers_serialise(workers):
    """Many threads on two connections add tickets at once: every one is stored exactly once."""
    from ragbot.state.tickets import TicketStore

    stores = [TicketStore(w) for w in workers]
    errors: list[Exception] = []

    def add(i: int) -> None:
        try:
            stores[i % 2].add(_ticket(f"t{i}"))
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(stores[1].list(limit=100)) == 20


def test_conversation_started_on_one_worker_continues_on_another(workers, tmp_path):
    from ragbot.bot import Bot
    from ragbot.kb import KnowledgeBase
    from ragbot.kb.embedders.hashing import HashingEmbedder
    from ragbot.state.postgres import postgres_session_store
    from ragbot.testing import ScriptedGenerator, doubles_config

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "fees.md").write_text("# Fees\n\nThe late fee is $50 after the fifth day.\n")
    bots = []
    for db in workers:
        kb = KnowledgeBase.in_memory(HashingEmbedder(256))
        kb.ingest([tmp_path / "docs"])
        bots.append(Bot(kb, config=doubles_config(), generator=ScriptedGenerator(["The late fee is $50 [1]."]),
                        sessions=postgres_session_store(db)))
    first = bots[0].ask("What is the late fee?", session="portal-42")
    bots[1].ask("And when does it apply?", session="portal-42")
    turns = bots[0].sessions.turns("portal-42")
    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[0].content == "What is the late fee?" and turns[2].content == "And when does it apply?"
    assert bots[1].sessions.messages("portal-42")[1]["message_id"] == first.message_id


def test_open_state_db_picks_the_backend(pg_dsn, pg_schema, tmp_path):
    from ragbot.state.db import StateDB
    from ragbot.state.postgres import PostgresStateDB, open_state_db

    local = open_state_db(tmp_path / "kb")
    shared = open_state_db(pg_dsn, schema=pg_schema)
    assert isinstance(local, StateDB) and isinstance(shared, PostgresStateDB)
    local.close()
    shared.close()
