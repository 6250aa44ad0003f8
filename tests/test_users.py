"""Users' preferences: the store (state/users.py), the rules that read them from messages
(chat/preferences.py), showing-request phrasing (chat/showings.py), `ragbot users` and
/api/users/{id}."""

from __future__ import annotations

import json

import pytest

from ragbot.chat.preferences import defaults, in_mind, is_forget_request, merge, stated
from ragbot.chat.showings import ShowingTicket, availability, is_showing_request, ticket_summary
from ragbot.errors import InputError
from ragbot.state.db import StateDB
from ragbot.state.users import UserStore


@pytest.fixture()
def store(tmp_path):
    return UserStore(StateDB(tmp_path / "state.sqlite"))


def test_store_keeps_each_preference_with_its_message_and_forgets(store):
    store.update("ann", {"budget": 1400.0, "cats": 2}, "I have 2 cats, budget $1,400", "s1", "m1")
    store.update("ann", {"contact": "602-555-0147"}, "call me at 602-555-0147", "s2", "m2")
    p = store.get("ann")
    assert p.values() == {"budget": 1400.0, "cats": 2, "contact": "602-555-0147"}
    assert p.preferences["budget"].session_id == "s1" and p.preferences["contact"].message_id == "m2"
    assert "0147" not in p.preferences["contact"].message  # the stating message is stored scrubbed
    assert p.to_dict(scrub=True)["preferences"]["contact"]["value"] == "***47"
    store.update("ann", {"budget": 1500.0}, "make it 1500", "s3", "m3")
    assert store.values("ann")["budget"] == 1500.0 and store.users() == ["ann"]
    assert store.forget("ann") == 3 and store.values("ann") == {} and store.users() == []


def test_store_rejects_bad_ids_keys_and_values(store):
    with pytest.raises(InputError, match="user id"):
        store.get("bad id with spaces")
    with pytest.raises(InputError, match="preference 'shoe_size' is unknown"):
        store.update("ann", {"shoe_size": 9})
    with pytest.raises(InputError, match="not a number or text"):
        store.update("ann", {"budget": object()})


@pytest.mark.parametrize("text,want", [
    ("I have 2 cats and my budget is $1,400", {"cats": 2, "budget": 1400.0}),
    ("we have a dog", {"dogs": 1}),
    ("my two dogs and I", {"dogs": 2}),
    ("at least 3 bedrooms please", {"bedrooms": 3.0}),
    ("text me at 555-201-3344", {"contact_channel": "text", "contact": "555-201-3344"}),
    ("my email is ann@example.com", {"contact": "ann@example.com", "contact_channel": "email"}),
    ("Can we talk in Spanish?", {"language": "Spanish"}),
    ("call me please", {"contact_channel": "phone"}),
    ("What are your office hours?", {}),
    ("cheapest studio", {}),  # a studio search states no bedroom minimum
])
def test_stated_preferences(text, want):
    assert stated(text, ["phoenix"]) == want


def test_merge_keeps_a_known_pet_count_and_defaults_name_what_they_use():
    assert merge({"cats": 2}, {"cats": 0, "budget": 900.0}) == {"cats": 2, "budget": 900.0}
    cs = defaults({"cats": 2, "budget": 1400.0, "city": "phoenix", "language": "Spanish"}, ["phoenix"])
    assert {(c.field, c.op, c.value) for c in cs} == {("cats_allowed", "=", True), ("price", "<=", 1400.0),
                                                      ("city", "=", "phoenix")}
    assert defaults({"city": "atlantis"}, ["phoenix"]) == ()
    assert in_mind({"cats": 2, "budget": 1400.0}, {"cats_allowed", "price"}).startswith(
        "With your 2 cats and $1,400 budget in mind")
    assert in_mind({"cats": 2}, set()) == ""


@pytest.mark.parametrize("text", ["forget my preferences", "Please delete my saved details",
                                  "clear what I told you", "erase my data"])
def test_forget_requests(text):
    assert is_forget_request(text)


@pytest.mark.parametrize("text", ["Don't forget to fix my sink", "what are my preferences?", "forget it"])
def test_not_forget_requests(text):
    assert not is_forget_request(text)


@pytest.mark.parametrize("text,when", [
    ("I'd like to see it on Saturday", "Saturday"),
    ("Can I tour the second one next Tuesday at 5pm?", "next Tuesday at 5pm"),
    ("could we visit tomorrow afternoon", "tomorrow afternoon"),
    ("please schedule a showing", None),
    ("I want to view that apartment this weekend", "this weekend"),
    ("can I come and see the place on Dec 3 between 2pm and 4pm", "Dec 3 between 2pm and 4pm"),
])
def test_showing_requests_and_availability(text, when):
    assert is_showing_request(text)
    assert availability(text) == when


@pytest.mark.parametrize("text", ["Can I see the lease?", "I'd like to see the pet policy", "What is the price?",
                                  "Can I see the floor plans?", "How much is the deposit?"])
def test_not_showing_requests(text):
    assert not is_showing_request(text)


def test_showing_ticket_serialises_its_details():
    showing = {"listing": {"source": "homes.csv#A1", "title": "Desert studio"}, "availability": "Saturday",
               "contact": {"phone": "602-555-0147", "channel": "phone"}, "preferences": {"cats": 2}}
    t = ShowingTicket(ticket_id="t1", session_id="s", reason="r", urgency="normal", summary=ticket_summary(showing),
                      transcript=(), rule="showing_request", showing=showing)
    d = json.loads(json.dumps(t.to_dict()))
    assert d["showing"]["listing"]["source"] == "homes.csv#A1" and d["rule"] == "showing_request"
    assert "Desert studio" in d["summary"] and "Saturday" in d["summary"]


def test_users_cli_show_and_forget(tmp_path):
    from typer.testing import CliRunner

    from ragbot.state.users_cli import users_app

    UserStore(StateDB(tmp_path / "state.sqlite")).update("ann", {"budget": 1400.0}, "budget 1400", "s1", "m1")
    run = CliRunner().invoke
    out = run(users_app, ["show", "ann", "--kb", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["preferences"]["budget"]["value"] == 1400.0
    out = run(users_app, ["forget", "ann", "--kb", str(tmp_path), "--json"])
    assert json.loads(out.stdout) == {"user_id": "ann", "deleted": 1}
    out = run(users_app, ["show", "ann", "--kb", str(tmp_path)])
    assert "no saved preferences" in out.stdout
    out = run(users_app, ["show", "ann", "--kb", str(tmp_path / "missing")])
    assert out.exit_code == 2


def test_users_api_get_and_delete(tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("prometheus_client")
    from fastapi.testclient import TestClient

    from ragbot.bot import Bot
    from ragbot.generators import ScriptedGenerator
    from ragbot.kb import KnowledgeBase
    from ragbot.kb.embedders import HashingEmbedder
    from ragbot.server import ServeSettings, create_app
    from ragbot.server.users_api import router
    from ragbot.testing import doubles_config

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "faq.csv").write_text("question,answer\nWhat are your hours?,9 to 5.\n")
    KnowledgeBase.open(tmp_path / "kb", embedder=HashingEmbedder(64), create=True).ingest([tmp_path / "docs"])
    bot = Bot.open(tmp_path / "kb", config=doubles_config(), embedder=HashingEmbedder(64),
                   generator=ScriptedGenerator(["x"]), urgency=None)
    bot.users.update("ann", {"budget": 1400.0, "contact": "ann@example.com"}, "budget 1400", "s1", "m1")
    app = create_app(bot, ServeSettings(kb=str(tmp_path / "kb")))
    if not any(getattr(r, "path", "").startswith("/api/users") for r in app.routes):
        app.include_router(router())
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        got = c.get("/api/users/ann")
        assert got.status_code == 200 and got.json()["preferences"]["budget"]["value"] == 1400.0
        assert got.json()["preferences"]["contact"]["value"] == "ann@example.com"  # open mode acts as admin
        assert c.get("/api/users/bad%20id").status_code == 400
        assert c.delete("/api/users/ann").json() == {"user_id": "ann", "deleted": 2}
        assert c.get("/api/users/ann").json()["preferences"] == {}
