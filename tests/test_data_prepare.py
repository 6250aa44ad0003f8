"""Data preparation: loading formats, bad rows, normalisation, dedup, balancing, split, prepare."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from ragbot.tune.data.clean import (balance, dedup_exact, dedup_near, filter_length, normalise_text, split)
from ragbot.tune.data.config import DataConfig
from ragbot.tune.data.io import Example, load_examples, load_file
from ragbot.tune.data.prepare import prepare
from ragbot.errors import IngestError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BITEXT = SHARED / "corpus" / "conversations" / "bitext_customer_support_sample.csv"


def ex(user: str, assistant: str, intent: str | None = "a", cid: str | None = None, n: int = 0) -> Example:
    return Example(cid or f"c{n}", ({"role": "user", "content": user}, {"role": "assistant", "content": assistant}),
                   intent, f"t:{n}")


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


# ----------------------------------------------------------------------------- loading
def test_csv_with_aliases_and_conversation_id(tmp_path):
    p = write_csv(tmp_path / "pairs.csv", ["Prompt", "Completion", "Label", "conversation_id"],
                  [["How do I pay rent?", "Use the portal.", "payment", "k1"],
                   ["And late fees?", "5% after day 5.", "payment", "k1"],
                   ["Is parking included?", "No, it costs extra.", "amenities", ""]])
    r = load_file(p)
    assert r.skipped == []
    assert [e.source for e in r.examples] == ["pairs.csv:1", "pairs.csv:2", "pairs.csv:3"]
    assert [e.conversation_id for e in r.examples] == ["k1", "k1", "pairs.csv:3"]
    assert r.examples[0].messages == ({"role": "user", "content": "How do I pay rent?"},
                                      {"role": "assistant", "content": "Use the portal."})
    assert [e.intent for e in r.examples] == ["payment", "payment", "amenities"]


def test_jsonl_pairs_and_chat_messages(tmp_path):
    p = tmp_path / "mixed.jsonl"
    lines = [{"question": "Pets allowed?", "answer": "Cats only.", "topic": "pets"},
             {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                           {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Rent due?"},
                           {"role": "assistant", "content": "On the 1st."}], "intent": "rent", "id": "chat-9"}]
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    r = load_file(p)
    assert len(r.examples) == 2 and r.skipped == []
    pair, chat = r.examples
    assert pair.intent == "pets" and pair.source == "mixed.jsonl:1"
    assert chat.conversation_id == "chat-9" and chat.intent == "rent"
    assert [m["role"] for m in chat.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert chat.text() == "Hi\nHello!\nRent due?\nOn the 1st."


def test_bad_rows_are_skipped_with_file_and_row(tmp_path):
    p = write_csv(tmp_path / "bad.csv", ["instruction", "response", "intent"],
                  [["ok question", "ok answer", "x"], ["no answer here", "", "x"], ["  ", "answer", "x"]])
    r = load_file(p)
    assert len(r.examples) == 1
    assert [(s.source, "assistant" in s.reason or "user" in s.reason) for s in r.skipped] == \
        [("bad.csv:2", True), ("bad.csv:3", True)]
    with pytest.raises(IngestError, match=r"bad\.csv:2"):
        load_file(p, strict=True)


def test_bad_jsonl_lines(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"prompt": "a", "output": "b"}\n{not json\n[1, 2]\n'
                 '{"messages": [{"role": "robot", "content": "x"}]}\n'
                 '{"messages": [{"role": "user", "content": "only a question"}]}\n', encoding="utf-8")
    r = load_file(p)
    assert len(r.examples) == 1
    reasons = {s.source: s.reason for s in r.skipped}
    assert set(reasons) == {"bad.jsonl:2", "bad.jsonl:3", "bad.jsonl:4", "bad.jsonl:5"}
    assert "invalid JSON" in reasons["bad.jsonl:2"] and "robot" in reasons["bad.jsonl:4"]


def test_file_level_errors(tmp_path):
    p = write_csv(tmp_path / "cols.csv", ["text", "reply"], [["a", "b"]])
    with pytest.raises(IngestError, match="no user column"):
        load_file(p)
    with pytest.raises(IngestError, match="unsupported"):
        load_file(tmp_path / "x.parquet")
    with pytest.raises(IngestError, match="not found"):
        load_file(tmp_path / "missing.csv")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(IngestError, match="no .csv/.jsonl"):
        load_examples([tmp_path / "empty_dir"])
    with pytest.raises(IngestError, match="no input"):
        load_examples([])


# ----------------------------------------------------------------------------- cleaning
def test_normalise_text():
    raw = "Cafe\u0301\u200b  bill\x07\r\n\r\n\r\n\r\nvisit {{ Website   Name }} or call [Customer Support Phone Number] [X] [response time]  "
    assert normalise_text(raw) == ("Caf\u00e9 bill\n\nvisit {{Website Name}} or call "
                                   "{{Customer Support Phone Number}} [X] [response time]")


def test_filter_length_counts_reasons():
    exs = [ex("hello there", "fine"), ex("x", "too short question", n=1), ex("q" * 50, "a" * 60, n=2),
           Example("c3", ({"role": "user", "content": ""}, {"role": "assistant", "content": "a"}), "a", "t:3")]
    kept, dropped = filter_length(exs, min_chars=2, max_chars=100)
    assert [e.source for e in kept] == ["t:0"]
    assert dropped == {"too_short": 1, "too_long": 1, "empty": 1}


def test_dedup_exact_ignores_case_and_spacing():
    exs = [ex("How do I pay?", "Online."), ex("how  do i PAY?", "online.", intent="b", n=1), ex("Other", "Yes", n=2)]
    kept, dropped = dedup_exact(exs)
    assert [e.source for e in kept] == ["t:0", "t:2"] and dropped == 1


def test_dedup_near_within_intent_only():
    base = "Log in to the tenant portal, open Payments and choose the card you want to use for rent."
    exs = [ex("How do I pay my rent online?", base, n=0),
           ex("How do I pay my rent online??", base.replace("choose", "pick"), n=1),   # near-dup, same intent
           ex("How do I pay my rent online?", base.replace("choose", "select"), intent="b", n=2),  # other intent
           ex("Is there parking?", "Yes, behind building B, 40 dollars a month.", n=3)]
    kept, pairs = dedup_near(exs, ratio=95)
    assert [e.source for e in kept] == ["t:0", "t:2", "t:3"]
    assert len(pairs) == 1 and pairs[0][:2] == ("t:0", "t:1") and pairs[0][2] >= 95
    kept_strict, _ = dedup_near(exs, ratio=100)
    assert len(kept_strict) == 4


def test_balance_caps_per_class_and_is_seeded():
    exs = [ex(f"q{i}", f"a{i}", intent="big", n=i) for i in range(50)] + \
          [ex(f"r{i}", f"b{i}", intent="small", n=100 + i) for i in range(5)]
    out = balance(exs, cap_per_class=10, seed=1)
    c = Counter(e.intent for e in out)
    assert c == {"big": 10, "small": 5}
    assert out == balance(exs, cap_per_class=10, seed=1)
    assert [e.source for e in out] == sorted((e.source for e in out), key=lambda s: int(s[2:]))  # input order
    assert {e.source for e in out} != {e.source for e in balance(exs, cap_per_class=10, seed=2)}
    assert balance(exs, None, 0) == exs


@pytest.mark.parametrize("seed", range(5))
def test_split_is_stratified_and_never_leaks_a_conversation(seed):
    rng = random.Random(seed)
    exs, n = [], 0
    for c in range(rng.randint(300, 500)):
        intent = rng.choice(["billing", "repairs", "parking", "pets"])
        for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
            exs.append(ex(f"q{n}", f"a{n}", intent=intent, cid=f"conv{c}", n=n))
            n += 1
    train, val, test = split(exs, (0.8, 0.1, 0.1), seed=seed)
    assert sorted(e.source for e in train + val + test) == sorted(e.source for e in exs)
    owner = {}
    for k, part in enumerate((train, val, test)):
        for e in part:
            assert owner.setdefault(e.conversation_id, k) == k
    by_intent = Counter(e.intent for e in exs)
    for part, frac in ((train, 0.8), (val, 0.1), (test, 0.1)):
        got = Counter(e.intent for e in part)
        for intent, total in by_intent.items():
            assert abs(got[intent] - frac * total) <= 6, (intent, got[intent], frac * total)
    assert split(exs, (0.8, 0.1, 0.1), seed=seed) == (train, val, test)


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError, match="sum to 1"):
        split([ex("a", "b")], (0.8, 0.3, 0.1), seed=0)


# ----------------------------------------------------------------------------- end to end
@pytest.fixture()
def bitext_slice(tmp_path) -> Path:
    if not BITEXT.is_file():
        pytest.skip("../shared/corpus/conversations/bitext_customer_support_sample.csv is not present")
    with BITEXT.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    return write_csv(tmp_path / "bitext_300.csv", header, rows[::15][:300])


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_prepare_end_to_end_on_bitext_slice(bitext_slice, tmp_path):
    out = tmp_path / "out"
    cfg = DataConfig(cap_per_class=9, seed=5, system_prompt="You are a support assistant.")
    report = prepare([bitext_slice], out, cfg, show_progress=False)
    c = report.counts
    assert c["loaded"] == 300 and report.skipped_rows == 0
    steps = list(c.values())
    assert steps == sorted(steps, reverse=True)  # every step keeps or drops, never adds
    assert c["loaded"] - c["after_length_filter"] == sum(report.dropped_length.values())
    data = {name: _read_jsonl(out / f"{name}.jsonl") for name in ("train", "validation", "test")}
    assert sum(len(v) for v in data.values()) == c["after_balance"]
    owner = {}
    for name, records in data.items():
        split_counts = report.splits[name]
        assert split_counts["total"] == len(records) == sum(split_counts["by_intent"].values())
        assert Counter(r["intent"] for r in records) == split_counts["by_intent"]
        for r in records:
            assert owner.setdefault(r["conversation_id"], name) == name
            assert [m["role"] for m in r["messages"]] == ["system", "user", "assistant"]
            assert r["messages"][0]["content"] == "You are a support assistant."
    per_intent = Counter(r["intent"] for records in data.values() for r in records)
    assert max(per_intent.values()) <= 9 and len(per_intent) == 27
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == json.loads(json.dumps(report.to_dict()))
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "test.jsonl", "train.jsonl", "validation.jsonl"]
    text = "".join((out / f"{n}.jsonl").read_text(encoding="utf-8") for n in data)
    # placeholders are counted when scrubbing, before dedup and balancing drop examples
    assert 0 < text.count("<PERSON>") <= report.pii["PERSON"] and "Mr. Jones" not in text
    assert report.pii_examples <= c["loaded"]
    assert "{{Website Name}}" in text or "{{Customer Support Phone Number}}" in text  # slots are kept


def test_prepare_cli_json(bitext_slice, tmp_path):
    from typer.testing import CliRunner

    from ragbot.tune.data.cli import data_app

    res = CliRunner().invoke(data_app, ["prepare", str(bitext_slice), "--out", str(tmp_path / "o"), "--json",
                                        "--near-dup-ratio", "90", "--seed", "3"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["counts"]["loaded"] == 300 and report["config"]["near_dup_ratio"] == 90.0
    assert report["config"]["seed"] == 3
    bad = CliRunner().invoke(data_app, ["prepare", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o2")])
    assert bad.exit_code == 2 and "nope.csv" in bad.output


def test_prepare_fails_clearly_when_nothing_survives(tmp_path):
    p = write_csv(tmp_path / "tiny.csv", ["question", "answer"], [["hi", "ok"]])
    with pytest.raises(IngestError, match="no example left"):
        prepare([p], tmp_path / "o", DataConfig(min_chars=5), show_progress=False)


def test_conversation_groups_survive_prepare(tmp_path):
    rows = [[f"Question number {i} about topic {i % 3}?", f"Answer {i} with some detail.", f"t{i % 3}", f"conv{i // 4}"]
            for i in range(120)]
    p = write_csv(tmp_path / "grouped.csv", ["query", "output", "category", "conversation_id"], rows)
    prepare([p], tmp_path / "o", DataConfig(near_dup_ratio=None, seed=11), show_progress=False)
    where = defaultdict(set)
    for name in ("train", "validation", "test"):
        for r in _read_jsonl(tmp_path / "o" / f"{name}.jsonl"):
            where[r["conversation_id"]].add(name)
    assert len(where) == 30 and all(len(v) == 1 for v in where.values())
