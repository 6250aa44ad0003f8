"""Monitoring report, gap CSV and feedback export, on a synthetic log with planted gaps and PII.

Expected numbers are computed from the synthetic log itself (ragbot.tune.synthetic_log), not
from the report code. The gap-cluster test needs meaning, so it uses the real MiniLM (slow)."""

from __future__ import annotations

import base64
import csv
import json
import re
from collections import Counter

import numpy as np
import pytest

from ragbot.config import LoaderConfig
from ragbot.errors import IngestError
from ragbot.kb.embedders import HashingEmbedder
from ragbot.kb.ingest.faq import load_faq_table
from ragbot.state.db import StateDB
from ragbot.state.feedback import FeedbackStore
from ragbot.state.turnlog import TurnLog
from ragbot.tune.evaluation import load_cases
from ragbot.tune.feedback_export import export_feedback
from ragbot.tune.gaps import clean_question
from ragbot.tune.report import build_report, export_gaps_csv, write_html
from ragbot.tune.synthetic_log import DOWN_TOPIC, END_TS, GAP_TOPICS, generate, populate


@pytest.fixture(scope="module")
def log():
    return generate(600, days=28, seed=5)


@pytest.fixture()
def stores(tmp_path, log):
    db = StateDB.for_kb(tmp_path / "kb")
    turns = TurnLog(db)
    fb = FeedbackStore(db, turns)
    populate(turns, fb, log)
    return turns, fb


def _no_pii(text: str, log) -> list[str]:
    return [p for p in log.pii if p in text]


def test_synthetic_log_is_realistic_enough(log):
    assert len(log.records) == 600 and len(log.pii) >= 20
    assert {log.topics[r.message_id] for r in log.records} >= set(GAP_TOPICS) | {DOWN_TOPIC}
    assert len({r.session_id for r in log.records}) > 100 and len(log.feedback) > 50
    assert all(END_TS - 28 * 86400 <= r.ts <= END_TS for r in log.records)


def test_report_numbers_match_the_log(stores, log):
    report = build_report(*stores, HashingEmbedder(256))
    recs = log.records
    assert report.turns == 600 and report.conversations == len({r.session_id for r in recs})
    assert dict(report.handoff_rules) == dict(Counter(r.rule for r in recs if r.decision == "handoff"))
    ratings = Counter(f.rating for f in log.feedback)
    assert (report.up, report.down) == (ratings["up"], ratings["down"])
    assert report.up_rate == pytest.approx(ratings["up"] / len(log.feedback))
    cited = Counter(s["source"] for r in recs for s in {x["source"]: x for x in r.sources}.values())
    assert dict(report.top_sources) == dict(cited.most_common(10))
    assert sum(d.turns for d in report.days) == 600 and 28 <= len(report.days) <= 29
    day = max(report.days, key=lambda d: d.turns)
    lat = [r.latency_ms for r in recs if _day(r.ts) == day.day]
    assert day.latency_p50_ms == pytest.approx(np.percentile(lat, 50), abs=0.1)
    assert day.latency_p95_ms == pytest.approx(np.percentile(lat, 95), abs=0.1)
    assert sum(day.decisions.values()) == day.turns
    worst = report.worst[0]
    downs = Counter(r.reply for r in recs for f in log.feedback if f.message_id == r.message_id and f.rating == "down")
    assert worst.down == max(downs.values()) and worst.reply == downs.most_common(1)[0][0]


def _day(ts):
    import time

    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def test_since_keeps_only_later_turns(stores, log):
    since = END_TS - 7 * 86400
    report = build_report(*stores, HashingEmbedder(256), since=since)
    assert report.turns == sum(r.ts >= since for r in log.records) and report.since >= since
    assert report.up + report.down == sum(f.ts >= since for f in log.feedback)


def test_html_is_self_contained_and_holds_no_planted_pii(stores, log, tmp_path):
    report = build_report(*stores, HashingEmbedder(256))
    page = write_html(report, tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    imgs = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(imgs) >= 7 and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert base64.b64decode(imgs[0].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert _no_pii(page, log) == [] and _no_pii(json.dumps(report.to_dict()), log) == []
    assert "Knowledge gaps" in page and "Worst-rated answers" in page
    assert all(r.session_id not in page for r in log.records[:50])


def test_gaps_csv_is_ingestable_once_answers_are_filled(stores, log, tmp_path):
    report = build_report(*stores, HashingEmbedder(256))
    assert report.gaps
    path = export_gaps_csv(report, tmp_path / "gaps.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["question"] for r in rows] == [g.suggested for g in report.gaps] and not any(r["answer"] for r in rows)
    assert _no_pii(path.read_text(encoding="utf-8"), log) == []
    with pytest.raises(IngestError):
        load_faq_table(path, LoaderConfig())  # nothing to ingest until the answers are written
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["question", "answer"])
        w.writerows([r["question"], f"Answer {i}."] for i, r in enumerate(rows))
    docs = load_faq_table(path, LoaderConfig())
    assert [d.metadata["question"] for d in docs] == [r["question"] for r in rows]


@pytest.mark.slow
def test_report_finds_the_planted_gap_clusters(stores, log, real_embedder):
    report = build_report(*stores, real_embedder)
    turns = stores[0].records()
    topic = {clean_question(t.question).casefold(): log.topics[t.message_id] for t in turns}
    planted = {**GAP_TOPICS, DOWN_TOPIC: ()}
    gap_turns = Counter(log.topics[t.message_id] for t in turns if t.rule in ("out_of_scope", "dont_know"))
    for name in planted:
        best = None
        for g in report.gaps:
            members = Counter(topic[q.casefold()] for q in g.questions)
            if members.most_common(1)[0][0] == name:
                purity = members[name] / sum(members.values())
                best = max(best or (0, 0), (g.size, purity))
        assert best is not None, f"no cluster for planted gap {name!r}"
        size, purity = best
        assert purity >= 0.6, (name, purity)
        if name in GAP_TOPICS:
            assert size >= 0.5 * gap_turns[name], (name, size, gap_turns[name])
    assert len(report.gaps) <= 3 * len(planted)


# ---------------------------------------------------------------------- export
OAK = "# Oak Street\n\nThe security deposit at Oak Street is $1,450. Guests may park in lot B.\n"
PINE = "# Pine Avenue\n\nThe security deposit at Pine Avenue is $2,000. Each floor has a laundry room.\n"
FAQ = ("question,answer\nWhen is rent due?,Rent is due on the 1st of each month.\n"
       "When is the leasing office open?,The leasing office is open Monday to Friday from 9 am to 5 pm.\n")


@pytest.fixture()
def small_kb(tmp_path):
    from ragbot.kb import KnowledgeBase

    for name, text in (("common/faq.csv", FAQ), ("oak/oak.md", OAK), ("pine/pine.md", PINE)):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    kb = KnowledgeBase.open(tmp_path / "kbx", embedder=HashingEmbedder(256), create=True)
    kb.ingest([tmp_path / "common"])
    kb.ingest([tmp_path / "oak"], scope={"property": "oak-street"})
    kb.ingest([tmp_path / "pine"], scope={"property": "pine-avenue"})
    return kb


def _labels(log):
    by = {}
    for f in log.feedback:
        by.setdefault(f.message_id, []).append(f)
    rec = {r.message_id: r for r in log.records}
    out = Counter()
    for mid, fbs in by.items():
        if any(f.reason == "should_handoff" for f in fbs):
            out["handoff"] += 1
        elif any(f.correction for f in fbs):
            out["correction"] += 1
        elif sum(f.rating == "up" for f in fbs) > sum(f.rating == "down" for f in fbs) and rec[mid].decision == "answer":
            out["up"] += 1
    return out


def test_export_writes_eval_cases_and_training_data_without_pii(stores, log, small_kb, tmp_path):
    out = tmp_path / "export"
    report = export_feedback(*stores, out, kb=small_kb, count_tokens=lambda s: len(s.split()), k=2)
    cases = load_cases(out / "eval.jsonl")
    labels = _labels(log)
    by_decision = Counter(c.expected_decision for c in cases)
    assert by_decision["handoff"] == report.counts["eval_handoff"] > 0
    # exact duplicates (same question, scope and expectations) are removed
    assert report.counts["eval_cases"] + report.counts["eval_duplicates"] == sum(labels.values())
    assert len({(c.question, tuple(sorted(c.scope.items())), c.expected_decision, c.must_include,
                 c.expected_sources) for c in cases}) == len(cases)
    corrected = [c for c in cases if c.must_include]
    assert corrected and all(c.must_include == ("9 am",) for c in corrected)
    assert all(c.expected_sources for c in cases if c.expected_decision == "answer" and not c.must_include)
    train = [json.loads(x) for name in ("train", "validation", "test")
             for x in (out / f"{name}.jsonl").read_text().splitlines()]
    assert len(train) == report.counts["training_examples"] > 0
    for ex in train:
        roles = [m["role"] for m in ex["messages"]]
        assert roles[0] == "system" and roles[-2:] == ["user", "assistant"] and "Passages:" in ex["messages"][-2]["content"]
    fixes = [ex for ex in train if ex["intent"] == "feedback_correction"]
    assert fixes and all(ex["messages"][-1]["content"].startswith("The leasing office is closed") for ex in fixes)
    everything = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    assert _no_pii(everything, log) == [] and "<PHONE>" in everything
    assert json.loads((out / "report.json").read_text())["counts"]["eval_cases"] == len(cases)


def test_exported_training_files_are_accepted_by_finetune(stores, small_kb, tmp_path):
    from ragbot.tune.finetune.train import read_jsonl

    export_feedback(*stores, tmp_path / "e", kb=small_kb, count_tokens=lambda s: len(s.split()))
    for name in ("train", "validation", "test"):
        for ex in read_jsonl(tmp_path / "e" / f"{name}.jsonl"):
            assert set(ex) == {"messages", "intent", "conversation_id", "source"}


def test_export_without_a_kb_writes_eval_cases_only(stores, tmp_path):
    report = export_feedback(*stores, tmp_path / "e")
    assert report.counts["training_examples"] == 0 and report.counts["eval_cases"] > 0
    assert (tmp_path / "e" / "train.jsonl").read_text() == ""


def test_exported_eval_file_runs_through_run_eval(stores, small_kb, tmp_path):
    from ragbot.bot import Bot
    from ragbot.generators import ScriptedGenerator
    from ragbot.tune.evaluation import run_eval

    export_feedback(*stores, tmp_path / "e")
    cases = load_cases(tmp_path / "e" / "eval.jsonl")[:12]
    bot = Bot(small_kb, generator=ScriptedGenerator(["The office opens at 9 am [1]."]), handlers=[])
    result = run_eval(bot, cases)
    conf = result["metrics"]["confusion"]
    assert sum(sum(row.values()) for row in conf.values()) == len(cases) == len(result["cases"])


@pytest.mark.slow
def test_cli_report_and_feedback_export(stores, log, tmp_path):
    import typer
    from typer.testing import CliRunner

    from ragbot.tune.feedback_cli import feedback_app, report_cmd

    app = typer.Typer()
    app.command("report")(report_cmd)
    app.add_typer(feedback_app, name="feedback")
    kb = tmp_path / "kb"
    r = CliRunner().invoke(app, ["report", "--kb", str(kb), "--out", str(tmp_path / "r.html"), "--since",
                                 "2026-10-25", "--gaps-csv", str(tmp_path / "g.csv"), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["turns"] == sum(r.ts >= END_TS - 7 * 86400 for r in log.records) and out["gaps"] >= 1
    assert _no_pii((tmp_path / "r.html").read_text(encoding="utf-8"), log) == []
    r = CliRunner().invoke(app, ["report", "--kb", str(kb), "--since", "last week"])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    r = CliRunner().invoke(app, ["feedback", "export", "--kb", str(kb), "--out", str(tmp_path / "x"), "--no-training",
                                 "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["counts"]["eval_cases"] == len(load_cases(tmp_path / "x" / "eval.jsonl"))
