"""Urgency classifier: the labelled data set, fitting, the .npz cache, the regex backstop, and
(slow) the held-out scores with the real MiniLM embedder."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest

from ragbot.chat import urgency
from ragbot.chat.urgency import (LEVELS, REQUIRED_CATEGORIES, UrgencyClassifier, UrgencyResult, choose_threshold,
                                 evaluate, load_messages, not_live)
from ragbot.errors import InputError, KnowledgeBaseError
from ragbot.kb.embedders import HashingEmbedder


@pytest.fixture(scope="module")
def messages():
    return load_messages()


@pytest.fixture(scope="module")
def small(messages):
    """A quarter of the scenarios of every category (both splits): enough for the mechanics."""
    return [m for m in messages if int(m.scenario.rsplit("-", 1)[1]) <= 8]


@pytest.fixture(scope="module")
def fitted(messages):
    emb = HashingEmbedder(dim=256)
    return emb, UrgencyClassifier.fit(emb, messages)


# --- the data set -------------------------------------------------------------------------------

def test_dataset_size_and_levels(messages):
    assert len(messages) >= 400
    counts = Counter(m.label for m in messages)
    assert set(counts) == set(LEVELS)
    assert counts["emergency"] >= 150 and counts["normal"] >= 150 and counts["urgent"] >= 40


def test_required_categories_in_both_splits(messages):
    for cat in REQUIRED_CATEGORIES:
        splits = Counter(m.split for m in messages if m.category == cat)
        assert splits["train"] >= 3 and splits["test"] >= 1, (cat, splits)


def test_split_is_held_out_by_scenario(messages):
    texts = [" ".join(m.text.lower().split()) for m in messages]
    assert len(texts) == len(set(texts))
    train = {t for t, m in zip(texts, messages) if m.split == "train"}
    test = {t for t, m in zip(texts, messages) if m.split == "test"}
    assert not train & test
    by_scenario: dict[str, set[str]] = {}
    for m in messages:
        by_scenario.setdefault(m.scenario, set()).add(m.split)
    assert all(len(s) == 1 for s in by_scenario.values())  # paraphrases never straddle the split
    share = len(test) / len(messages)
    assert 0.12 <= share <= 0.32, share


def test_scenario_category_and_label_agree(messages):
    for m in messages:
        assert m.scenario.rsplit("-", 1)[0] == m.category, m
    labels = {}
    for m in messages:
        assert labels.setdefault(m.category, m.label) == m.label, f"category {m.category} has two labels"


def test_many_emergencies_lack_regex_words(messages):
    from ragbot.chat.intents import detect_intents

    em = [m for m in messages if m.label == "emergency"]
    no_keyword = [m for m in em if "emergency" not in detect_intents(m.text)]
    assert len(no_keyword) >= 0.5 * len(em)


def test_bad_rows_are_named(tmp_path):
    row = {"text": "t", "label": "emergency", "category": "gas", "scenario": "gas-01", "split": "train"}
    cases = [({"label": "panic"}, "label"), ({"split": "dev"}, "split"), ({"text": ""}, "text"),
             ({"scenario": "gas leak"}, "scenario")]
    for change, match in cases:
        p = tmp_path / "bad.jsonl"
        p.write_text(json.dumps({**row, **change}) + "\n")
        with pytest.raises(InputError, match=match):
            load_messages(p)
    p.write_text((json.dumps(row) + "\n") * 2)
    with pytest.raises(InputError, match="duplicate"):
        load_messages(p)
    p.write_text(json.dumps(row) + "\n" + json.dumps({**row, "text": "u", "split": "test"}) + "\n")
    with pytest.raises(InputError, match="both splits"):
        load_messages(p)


def test_held_out_file_is_the_test_split(messages):
    """The shipped training file is all "train"; the held-out file (written 2026-12-08, unseen
    while the model was changed) is all "test"."""
    assert {m.split for m in load_messages(urgency.DATA_PATH)} == {"train"}
    assert {m.split for m in load_messages(urgency.HELDOUT_PATH)} == {"test"}
    assert len(messages) == len(load_messages(urgency.DATA_PATH)) + len(load_messages(urgency.HELDOUT_PATH))


# --- fitting and prediction -----------------------------------------------------------------------

def test_choose_threshold_favours_recall():
    p = np.array([0.9, 0.8, 0.3, 0.05, 0.6, 0.1])
    pos = np.array([True, True, True, True, False, False])
    assert choose_threshold(p, pos, target_recall=1.0) == pytest.approx(0.05)
    assert choose_threshold(p, pos, target_recall=0.75) == pytest.approx(0.3)
    assert choose_threshold(np.array([0.9, 0.95]), np.array([True, True]), 1.0) == 0.5  # capped
    # emergencies the regex catches anyway do not pull the threshold down
    regex = np.array([False, False, False, True, False, False])
    assert choose_threshold(p, pos, 1.0, caught_anyway=regex) == pytest.approx(0.3)
    with pytest.raises(InputError):
        choose_threshold(p, np.zeros(6, bool))


def test_predict_shapes_and_types(fitted):
    _, clf = fitted
    texts = ["my kitchen faucet drips a little", "water is pouring through the ceiling!!", ""]
    res = clf.predict(texts)
    assert len(res) == 3 and all(isinstance(r, UrgencyResult) for r in res)
    for r in res:
        assert r.level in LEVELS and 0.0 <= r.probability <= 1.0 and r.source in ("classifier", "regex")
    assert res[1].level == "emergency"
    with pytest.raises(dataclasses.FrozenInstanceError):
        res[0].level = "normal"
    assert clf.predict([]) == []
    with pytest.raises(InputError):
        clf.predict("a single string")
    with pytest.raises(InputError):
        clf.predict([None])


def test_fit_learns_the_training_split(fitted, messages):
    _, clf = fitted
    train = [m for m in messages if m.split == "train"]
    proba, _ = clf.probabilities([m.text for m in train])
    assert proba.shape == (len(train), 3) and np.allclose(proba.sum(axis=1), 1.0)
    acc = np.mean([LEVELS[i] == m.label for i, m in zip(proba.argmax(axis=1), train)])
    assert acc >= 0.8, acc
    res = clf.predict([m.text for m in train], use_regex=False)
    recall = np.mean([r.level == "emergency" for r, m in zip(res, train) if m.label == "emergency"])
    assert recall >= 0.9, recall
    em = [r for r, m in zip(res, train) if m.label == "emergency"]
    assert all(r.category in {c.category for c in train if c.label == "emergency"} for r in em
               if r.level == "emergency")
    assert 0.0 < clf.threshold <= 0.5


@pytest.mark.parametrize("text,live", [
    ("remember the flood in my bathroom in March? the floor is still warped", True),  # "still": now
    ("the gas company came and checked, the smell was from the street work, all fine now", False),
    ("I was trapped in the elevator last week and nobody came for 40 minutes", False),
    ("I am trapped in the elevator right now", True),
    ("no heat since yesterday and the baby is freezing", True),  # "since yesterday" is ongoing
    ("what should I do if I smell gas?", False),
    ("the carbon monoxide detector has a flashing green light, is that normal?", False),
    ("water is pouring through the ceiling", True),
])
def test_not_live(text, live):
    assert not_live(text) is not live


def test_no_training_emergency_is_marked_not_live(messages):
    marked = [m.text for m in messages if m.label == "emergency" and not_live(m.text)]
    assert not marked


def test_regex_backstop_always_wins(fitted):
    emb, _ = fitted
    w = {k: np.asarray(v) for k, v in fitted[1]._w.items()}
    w["threshold"] = np.array(1.01)  # the classifier alone never says emergency
    clf = UrgencyClassifier(emb, w, "test")
    res = clf.predict(["there's a gas leak in the hallway", "what should I do if there is a gas leak?"])
    assert (res[0].level, res[0].source) == ("emergency", "regex")
    assert res[0].category is not None
    assert res[1].level != "emergency"
    assert clf.predict(["there's a gas leak in the hallway"], use_regex=False)[0].level != "emergency"


def test_fit_needs_every_level(small):
    only = [m for m in small if m.label != "urgent"]
    with pytest.raises(InputError, match="urgent"):
        UrgencyClassifier.fit(HashingEmbedder(dim=64), only)


def test_cache_round_trip(tmp_path, small, monkeypatch):
    emb = HashingEmbedder(dim=128)
    first = UrgencyClassifier.load_or_fit(emb, tmp_path, small)
    files = list(tmp_path.glob("urgency-hashing-128-*.npz"))
    assert len(files) == 1

    def no_fit(*a, **k):
        raise AssertionError("refitted although a cache file exists")

    monkeypatch.setattr(UrgencyClassifier, "fit", classmethod(no_fit))
    second = UrgencyClassifier.load_or_fit(emb, tmp_path, small)
    texts = ["the radiators are cold and it's snowing", "can I paint my walls?"]
    assert first.predict(texts) == second.predict(texts)
    assert second.threshold == first.threshold
    with pytest.raises(KnowledgeBaseError, match="embedder"):
        UrgencyClassifier.load(files[0], HashingEmbedder(dim=64))


def test_cache_key_changes_with_data(tmp_path, messages):
    emb = HashingEmbedder(dim=64)
    a = UrgencyClassifier.cache_path(emb, tmp_path, messages)
    b = UrgencyClassifier.cache_path(emb, tmp_path, messages[:-1])
    assert a != b and a.parent == tmp_path


def test_corrupt_cache_is_refitted(tmp_path, small):
    emb = HashingEmbedder(dim=64)
    path = UrgencyClassifier.cache_path(emb, tmp_path, small)
    path.write_bytes(b"not an npz")
    clf = UrgencyClassifier.load_or_fit(emb, tmp_path, small)
    assert UrgencyClassifier.load(path, emb).threshold == clf.threshold


def test_evaluate_reports_on_test_split_only(fitted, messages):
    emb, clf = fitted
    ev = evaluate(emb, clf, messages)
    test = [m for m in messages if m.split == "test"]
    assert ev.n_messages == len(test)
    assert sum(map(sum, ev.confusion)) == len(test)
    assert [sum(r) for r in ev.confusion] == [sum(m.label == lv for m in test) for lv in LEVELS]
    assert set(ev.per_category_recall) == {m.category for m in test}
    n_em = sum(m.label == "emergency" for m in test)
    assert ev.emergency_recall == pytest.approx(ev.confusion[0][0] / n_em)
    assert ev.emergency_recall >= ev.emergency_recall_classifier_only
    assert len(ev.missed) == n_em - ev.confusion[0][0]
    assert json.dumps(ev.to_dict())


# --- the real embedder ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm_eval(real_embedder, tmp_path_factory):
    clf = UrgencyClassifier.load_or_fit(real_embedder, tmp_path_factory.mktemp("urgency"))
    ev = evaluate(real_embedder, clf)
    print(json.dumps(ev.to_dict(), indent=1))
    return clf, ev


@pytest.mark.slow
def test_held_out_scores_with_minilm(minilm_eval):
    """Floors under the measured held-out numbers (255 messages of urgency_heldout.jsonl, MiniLM:
    recall 0.99, false alarms 0.052, level accuracy 0.957): a regression guard."""
    _, ev = minilm_eval
    assert ev.emergency_recall >= 0.97, ev.missed
    assert ev.false_alarm_rate <= 0.08, ev.false_alarms
    assert ev.level_accuracy >= 0.92


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 9 target not met yet: held-out false alarms 0.052 (8/155) > 0.05 at "
                                        "recall 0.99 (logistic regression on MiniLM + word hashes, not_live rules)")
def test_held_out_meets_issue_target(minilm_eval):
    _, ev = minilm_eval
    assert ev.emergency_recall >= 0.98, ev.missed
    assert ev.false_alarm_rate <= 0.05, ev.false_alarms


@pytest.mark.slow
def test_issue_example_is_caught(minilm_eval):
    clf, _ = minilm_eval
    text = "It is twenty below out, radiators stone cold, and the newborn keeps shivering"
    assert clf.predict([text])[0].level == "emergency"
    assert clf.predict(["what happens if the heat ever goes out?"])[0].level != "emergency"
