"""Curated overrides: versions, approval from feedback, scope rules, the embedding cache, the
vectorised match against a brute-force loop, and (slow) a paraphrase with the real MiniLM."""

from __future__ import annotations

import numpy as np
import pytest
from rapidfuzz import fuzz

from ragbot.errors import InputError
from ragbot.kb.embedders import HashingEmbedder
from ragbot.state.db import StateDB
from ragbot.state.feedback import FeedbackStore
from ragbot.state.overrides import OverrideNotFoundError, OverrideStore
from ragbot.state.turnlog import TurnLog, TurnRecord

OAK, PINE = {"property": "oak-street"}, {"property": "pine-avenue"}
LOOSE = {"min_score": 0.5, "min_ratio": 60}  # hashing-embedder cosines are lower than MiniLM's


class CountingEmbedder(HashingEmbedder):
    def __init__(self, dim=256):
        super().__init__(dim)
        self.texts = 0

    def embed_documents(self, texts, show_progress=False):
        self.texts += len(texts)
        return super().embed_documents(texts, show_progress)


@pytest.fixture()
def db(tmp_path):
    return StateDB.for_kb(tmp_path)


def test_versions_record_who_and_when(db):
    store = OverrideStore(db)
    ov = store.add("Is there guest parking?", "Yes, in lot B.", OAK, author="ana")
    v2 = store.edit(ov.override_id, answer="Yes, in lot C.", author="bo")
    v3 = store.disable(ov.override_id, author="cy")
    hist = store.history(ov.override_id)
    assert [(h.version, h.answer, h.active, h.author) for h in hist] == [
        (1, "Yes, in lot B.", True, "ana"), (2, "Yes, in lot C.", True, "bo"), (3, "Yes, in lot C.", False, "cy")]
    assert hist[0].ts <= v2.ts <= v3.ts and v3.scope == OAK
    assert store.list() == [] and store.list(include_disabled=True) == [v3]
    assert store.get(ov.override_id, version=1).answer == "Yes, in lot B."
    assert store.set_active(ov.override_id, True).version == 4 and store.list()[0].answer == "Yes, in lot C."
    with pytest.raises(OverrideNotFoundError):
        store.get("nope")
    with pytest.raises(InputError, match="'answer'"):
        store.add("Q?", "  ")
    with pytest.raises(InputError, match="scope"):
        store.add("Q?", "A.", {"bad key!": "x"})


def test_approve_takes_the_turns_question_and_scope(db):
    log = TurnLog(db)
    fb = FeedbackStore(db, log)
    log.record(TurnRecord("m1", "s1", "Hi, my email is a.b@example.com. Where can guests park?", "I don't know.",
                          "handoff", "out_of_scope", scope=OAK))
    with pytest.raises(InputError, match="no correction"):
        OverrideStore(db).approve(fb.add("m1", "down", "wrong"), log)
    ov = OverrideStore(db).approve(fb.add("m1", "down", "wrong", "Guests park in lot B."), log, author="ana")
    assert ov.scope == OAK and ov.answer == "Guests park in lot B." and ov.feedback_id
    assert "a.b@example.com" not in ov.question and ov.question.endswith("Where can guests park?")


def test_scope_rules(db):
    store, emb = OverrideStore(db, **LOOSE), HashingEmbedder(256)
    scoped = store.add("Is there guest parking?", "Oak: lot B.", OAK)
    q = "Is there guest parking at all?"
    assert store.match(q, OAK, emb).override_id == scoped.override_id
    assert store.match(q, {**OAK, "unit": "4"}, emb).override_id == scoped.override_id
    assert store.match(q, PINE, emb) is None
    assert store.match(q, {}, emb) is None and store.match(q, None, emb) is None
    anywhere = store.add("Is there guest parking?", "Ask your property.")
    assert store.match(q, PINE, emb).override_id == anywhere.override_id
    assert store.match(q, None, emb).override_id == anywhere.override_id
    assert store.match(q, OAK, emb).override_id == scoped.override_id  # the scoped one wins in its scope
    assert store.match("Can I have a cat?", OAK, emb) is None
    store.disable(scoped.override_id)
    assert store.match(q, OAK, emb).override_id == anywhere.override_id


def test_scope_name_left_out_of_a_scoped_comparison(db):
    store, emb = OverrideStore(db, **LOOSE), HashingEmbedder(256)
    store.add("Is there guest parking at Oak Street?", "Lot B.", OAK)
    m = store.match("Is there guest parking?", OAK, emb)
    raw_cos = float(emb.embed_query("Is there guest parking?") @ emb.embed_query("Is there guest parking at Oak Street?"))
    raw_ratio = fuzz.token_set_ratio("is there guest parking?", "is there guest parking at oak street?")
    assert m is not None and m.score > raw_cos + 0.1 and m.ratio > raw_ratio


def test_embeddings_are_cached_per_embedder_and_version(db):
    store, emb = OverrideStore(db, **LOOSE), CountingEmbedder()
    ov = store.add("Is there guest parking?", "Lot B.")
    store.add("Can I keep a bike inside?", "Yes.")
    store.match("guest parking?", None, emb)
    assert emb.texts == 2 + 1  # both questions, then the user's
    emb.texts = 0
    OverrideStore(db, **LOOSE).match("guest parking?", None, emb)  # a new store reads the table's blobs
    assert emb.texts == 1
    rows = db.query("SELECT embedder, dim, length(vector) FROM override_vectors")
    assert {tuple(r) for r in rows} == {("hashing-256", 256, 256 * 4)}
    store.edit(ov.override_id, question="Do visitors have parking?")
    emb.texts = 0
    assert store.match("Do visitors have parking?", None, emb).version == 2
    assert emb.texts == 1 + 1  # only the new version is embedded
    other = CountingEmbedder(64)
    store.match("guest parking?", None, other)
    assert {r[0] for r in db.query("SELECT DISTINCT embedder FROM override_vectors")} == {"hashing-256", "hashing-64"}


def _brute_force(store, question, scope, emb, min_score, min_ratio):
    """The rules of OverrideStore.match, one override at a time (no matrix, no cache)."""
    from ragbot.state.overrides import _strip_scope

    best = None
    for o in store.list():
        if not all((scope or {}).get(k) == v for k, v in o.scope.items()):
            continue
        user_q = _strip_scope(question, scope or {}) if o.scope else question
        oq = _strip_scope(o.question, o.scope)
        sim = float(emb.embed_query(user_q) @ emb.embed_query(oq))
        ratio = fuzz.token_set_ratio(user_q.lower(), oq.lower())
        if sim >= min_score and ratio >= min_ratio:
            rank = (bool(o.scope), sim)
            if best is None or rank > best[0]:
                best = (rank, o.override_id)
    return None if best is None else best[1]


def test_matrix_match_agrees_with_a_brute_force_loop(db):
    rng = np.random.default_rng(7)
    words = "guest parking bike storage package locker pool gym rent deposit pet cat dog laundry key fob".split()
    store, emb = OverrideStore(db), HashingEmbedder(128)
    for i in range(300):
        q = " ".join(rng.choice(words, size=rng.integers(3, 6))) + "?"
        store.add(q, f"answer {i}", [{}, OAK, PINE][i % 3])
    agree = hits = 0
    for _ in range(60):
        q = " ".join(rng.choice(words, size=rng.integers(3, 6))) + "?"
        scope = [None, OAK, PINE][int(rng.integers(3))]
        got = store.match(q, scope, emb, min_score=0.4, min_ratio=50)
        want = _brute_force(store, q, scope, emb, 0.4, 50)
        agree += (got.override_id if got else None) == want
        hits += want is not None
    assert agree == 60 and hits >= 10


@pytest.mark.slow
def test_paraphrase_matches_in_its_scope_only_with_minilm(db, real_embedder):
    log = TurnLog(db)
    fb = FeedbackStore(db, log)
    log.record(TurnRecord("m1", "s1", "Is there guest parking?", "I don't know.", "handoff", "out_of_scope",
                          scope={"property": "oak-street"}))
    item = fb.add("m1", "down", "wrong", "Yes: guests park free in lot B with a dashboard permit from the office.")
    store = OverrideStore(db)
    ov = store.approve(item, log)
    m = store.match("Where can guests park?", OAK, real_embedder)
    assert m is not None and m.override_id == ov.override_id and m.answer.startswith("Yes: guests park free")
    assert m.score >= store.min_score and m.ratio >= store.min_ratio
    assert store.match("Where can guests park?", PINE, real_embedder) is None
    assert store.match("Where can guests park?", None, real_embedder) is None
    for other in ("Can I have a cat?", "Where do I store my bike?", "Is there parking for tenants?",
                  "How much is the deposit?"):
        assert store.match(other, OAK, real_embedder) is None, other
