"""Prompt building: static system prefix, numbered passages within the token budget, history."""

from __future__ import annotations

import pytest

from ragbot.chat import prompts
from ragbot.config import PromptConfig
from ragbot.errors import InputError
from ragbot.types import Chunk, Turn


def words(text: str) -> int:
    return len(text.split())


def chunk(text: str, source: str = "lease.pdf", page: int | None = None) -> Chunk:
    return Chunk(chunk_id=source + text[:8], text=text, source=source, doc_type="lease", page=page)


CFG = PromptConfig(business_name="Harborview Property Management", assistant_name="Ava", max_passage_tokens=60,
                   history_messages=2, max_history_tokens=20)


def test_system_message_is_first_static_and_says_the_rules():
    a = prompts.build_messages("How much is the deposit?", [chunk("The deposit is $1,000.", page=2)], [], CFG, words)
    b = prompts.build_messages("Can I have a cat?", [chunk("Cats are allowed.", "pets.md")],
                               [Turn("user", "hi"), Turn("assistant", "Hello!")], CFG, words)
    assert a[0]["role"] == "system" and a[0] == b[0]
    system = a[0]["content"]
    for needle in ("Ava", "Harborview Property Management", "AI assistant", "[n]", prompts.DONT_KNOW, "numbered passages"):
        assert needle in system
    assert prompts.system_prompt(CFG) == system
    assert prompts.system_prompt(PromptConfig(business_name="Other Co")) != system


def test_final_user_message_numbers_passages_then_asks():
    p = prompts.build_prompt("How much is the deposit?",
                             [chunk("The deposit is $1,000.", page=2), chunk("Rent is due on the 1st.", "faq.csv")],
                             [], CFG, words)
    last = p.messages[-1]
    assert last["role"] == "user" and len(p.messages) == 2
    assert "[1] (lease.pdf, p. 2) The deposit is $1,000.\n[2] (faq.csv) Rent is due on the 1st." in last["content"]
    assert last["content"].endswith("Question: How much is the deposit?")
    assert p.passage_indices == (0, 1) and p.dropped == () and p.passages[1].source == "faq.csv"


def test_budget_drops_lower_ranked_passages_and_skips_ones_that_do_not_fit():
    long = chunk(" ".join(["word"] * 40), "long.pdf")
    ps = [chunk(" ".join(["alpha"] * 20), "a.pdf"), long, chunk("short one", "c.pdf"), chunk(" ".join(["z"] * 35), "d.pdf")]
    p = prompts.build_prompt("q?", ps, [], CFG, words)
    assert p.passage_indices == (0, 2) and p.dropped == (1, 3)
    assert p.passage_tokens <= CFG.max_passage_tokens
    body = p.messages[-1]["content"]
    assert "[1] (a.pdf)" in body and "[2] (c.pdf)" in body and "long.pdf" not in body
    lines = [ln for ln in body.splitlines() if ln.startswith("[")]
    assert sum(words(ln) for ln in lines) <= CFG.max_passage_tokens


def test_top_passage_alone_over_budget_is_truncated():
    p = prompts.build_prompt("q?", [chunk(" ".join(f"w{i}" for i in range(500)))], [], CFG, words)
    assert p.truncated == (0,) and p.passage_indices == (0,)
    line = p.messages[-1]["content"].splitlines()[1]
    assert line.startswith("[1] (lease.pdf) w0 w1") and line.endswith("...")
    assert words(line) <= CFG.max_passage_tokens


def test_no_passages():
    p = prompts.build_prompt("Anything?", [], [], CFG, words)
    assert "(none)" in p.messages[-1]["content"] and p.passages == ()


def test_history_keeps_recent_turns_within_budget_starting_with_user():
    hist = [Turn("user", "first question"), Turn("assistant", "first answer"),
            Turn("user", "second question"), Turn("assistant", "second answer")]
    msgs = prompts.build_messages("third?", [], hist, CFG, words)
    # history_messages=2 keeps the last two messages, then drops a leading assistant message.
    assert [m["content"] for m in msgs[1:-1]] == ["second question", "second answer"]
    msgs = prompts.build_messages("third?", [], hist, CFG.model_copy(update={"history_messages": 3}), words)
    assert [m["role"] for m in msgs[1:-1]] == ["user", "assistant"]
    tight = CFG.model_copy(update={"max_history_tokens": 3, "history_messages": 4})
    msgs = prompts.build_messages("third?", [], hist, tight, words)
    assert [m["content"] for m in msgs[1:-1]] == []  # "second answer" (2) fits but a user turn must lead
    none = prompts.build_messages("third?", [], hist, CFG.model_copy(update={"history_messages": 0}), words)
    assert len(none) == 2


def test_default_config_leaves_history_out():
    msgs = prompts.build_messages("q?", [], [Turn("user", "a"), Turn("assistant", "b")], PromptConfig(), words)
    assert len(msgs) == 2


def test_long_question_is_truncated():
    p = prompts.build_messages(" ".join(["why"] * 500), [], [], CFG, words)
    q = p[-1]["content"].split("Question: ")[1]
    assert words(q) <= CFG.max_question_tokens


@pytest.mark.parametrize("question", ["", "   ", None])
def test_empty_question_is_rejected(question):
    with pytest.raises(InputError, match="question"):
        prompts.build_messages(question, [], [], CFG, words)


def test_malformed_history_is_rejected():
    with pytest.raises(InputError, match="history"):
        prompts.build_messages("q?", [], [Turn("system", "x")], CFG, words)


def test_user_facing_texts():
    assert prompts.clarify_question(["Oak Street", "Pine Avenue"], "property") == \
        "Which property is this about: Oak Street or Pine Avenue?"
    assert prompts.join_options(["A", "B", "C"]) == "A, B or C"
    assert prompts.format_citation(2, "lease.pdf", 3) == "[2] (lease.pdf, p. 3)"
    assert prompts.format_citation(1, "faq.csv") == "[1] (faq.csv)"
    assert "911" in prompts.handoff_message("emergency", business_name="Harborview")
    assert "Harborview" in prompts.handoff_message("emergency", business_name="Harborview")
    assert prompts.handoff_message("normal", "out_of_scope").startswith("I can't answer that from our documents")
    assert prompts.handoff_message("normal", "low_groundedness") != prompts.handoff_message("normal", "intent_human")
    assert "instructions" in prompts.decline_message()
    assert "AI assistant" in prompts.ai_disclosure_message(CFG) and "Ava" in prompts.ai_disclosure_message(CFG)


def test_rewrite_messages():
    msgs = prompts.build_rewrite_messages("and for Pine?", [Turn("user", "deposit at Oak?"), Turn("assistant", "$1,000")])
    assert msgs[0]["role"] == "system" and "deposit at Oak?" in msgs[1]["content"]
    assert msgs[1]["content"].endswith("Last question: and for Pine?")


@pytest.mark.slow
def test_default_prompt_stays_small_with_the_real_tokenizer():
    """Four 700-character chunks with the default PromptConfig stay under about 700 tokens."""
    from ragbot.generators import LlamaCppGenerator

    gen = LlamaCppGenerator()
    text = ("The tenant shall pay rent monthly in advance on the first day of each month. A late charge of "
            "five percent applies after the fifth day. The landlord may enter the premises at reasonable times "
            "with 24 hours written notice, except in an emergency. ") * 3
    ps = [chunk(text[:700], f"lease{i}.pdf", i + 1) for i in range(4)]
    p = prompts.build_prompt("When is rent due and what is the late fee?", ps, [], PromptConfig(), gen.count_tokens)
    total = gen.count_tokens(gen.format_prompt(p.messages))
    assert p.passage_tokens <= PromptConfig().max_passage_tokens
    assert total <= 700, total
