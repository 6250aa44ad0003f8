"""Generators: the scripted test double (fast) and llama.cpp with the bundled GGUF (slow)."""

from __future__ import annotations

import math

import pytest

from ragbot.config import GeneratorConfig
from ragbot.errors import ConfigError, InputError, ModelNotFoundError
from ragbot.generators import (Generation, Generator, LlamaCppGenerator, ScriptedGenerator, StopStream,
                               bundled_model_path)

SYSTEM = {"role": "system", "content": "You are a helpful assistant for a property management company. "
                                       "Answer briefly from the passages."}


def ask(q: str) -> list[dict[str, str]]:
    return [SYSTEM, {"role": "user", "content": q}]


# ----------------------------------------------------------------------------- fast
def test_generation_defaults_for_empty_output():
    g = Generation(text="")
    assert g.mean_logprob == 0.0 and g.min_logprob == -math.inf and g.perplexity == 1.0
    g = Generation(text="a b", token_logprobs=(-0.5, -1.5), completion_tokens=2)
    assert g.mean_logprob == pytest.approx(-1.0) and g.min_logprob == -1.5


def test_both_generators_satisfy_the_protocol():
    assert isinstance(ScriptedGenerator(["x"]), Generator)
    assert isinstance(LlamaCppGenerator(), Generator)  # construction is cheap: nothing loads


def test_scripted_replies_in_order_with_constant_logprob():
    gen = ScriptedGenerator(["The deposit is $1,000 [1].", "No."], logprob=-0.2)
    a = gen.generate(ask("deposit?"))
    b = gen.generate(ask("pets?"))
    c = gen.generate(ask("again?"))
    assert (a.text, b.text, c.text) == ("The deposit is $1,000 [1].", "No.", "The deposit is $1,000 [1].")
    assert a.token_logprobs == (-0.2,) * 5 and a.completion_tokens == 5 and a.mean_logprob == pytest.approx(-0.2)
    assert len(gen.calls) == 3 and gen.calls[1][-1]["content"] == "pets?"
    assert gen.count_tokens("one two  three") == 3


def test_scripted_callable_sees_messages():
    gen = ScriptedGenerator(lambda msgs: msgs[-1]["content"].upper())
    assert gen.generate(ask("echo me")).text == "ECHO ME"


def test_scripted_streaming_stop_and_length():
    gen = ScriptedGenerator(["alpha beta gamma delta"])
    pieces: list[str] = []
    out = gen.generate(ask("q"), on_token=pieces.append)
    assert "".join(pieces) == out.text == "alpha beta gamma delta" and len(pieces) == 4
    out = gen.generate(ask("q"), stop=["gam"])
    assert out.text == "alpha beta " and out.finish_reason == "stop"
    out = gen.generate(ask("q"), max_tokens=2)
    assert out.text == "alpha beta " and out.finish_reason == "length" and out.completion_tokens == 2


def test_scripted_mimics_prefix_cache():
    gen = ScriptedGenerator(["ok"])
    first = gen.generate(ask("first question"))
    second = gen.generate(ask("second question"))
    assert first.cached_tokens == 0 and 0 < second.cached_tokens < second.prompt_tokens


def test_scripted_rejects_bad_input():
    with pytest.raises(ConfigError):
        ScriptedGenerator(["x"], logprob=0.5)
    with pytest.raises(ConfigError):
        ScriptedGenerator([])
    gen = ScriptedGenerator(["x"])
    with pytest.raises(InputError, match=r"messages\[0\]\.role"):
        gen.generate([{"role": "robot", "content": "hi"}])
    with pytest.raises(InputError, match="non-empty"):
        gen.generate([])


@pytest.mark.parametrize("pieces,stop,expected", [
    (["Hello wor", "ld<|im", "_end|> tail"], ["<|im_end|>"], "Hello world"),
    (["a", "b", "c"], ["bc"], "a"),
    (["no stop here"], ["XYZ"], "no stop here"),
    (["ab", "X", "Y"], ["XYZ"], "abXY"),  # a partial stop at the end is released by flush()
])
def test_stop_stream(pieces, stop, expected):
    s = StopStream(stop)
    out = "".join(s.feed(p)[0] for p in pieces) + s.flush()
    assert out == expected


def test_missing_model_and_lora_paths(tmp_path):
    with pytest.raises(ModelNotFoundError, match="missing.gguf"):
        LlamaCppGenerator(GeneratorConfig(model_path=str(tmp_path / "missing.gguf"))).warm_up()
    with pytest.raises(ModelNotFoundError, match="adapter.gguf"):
        LlamaCppGenerator(GeneratorConfig(lora_path=str(tmp_path / "adapter.gguf"))).warm_up()


def test_a_file_that_is_not_gguf_is_a_config_error(tmp_path):
    bad = tmp_path / "notes.gguf"
    bad.write_text("not a model")
    with pytest.raises(ConfigError, match="could not load"):
        LlamaCppGenerator(GeneratorConfig(model_path=str(bad))).warm_up()


# ----------------------------------------------------------------------------- slow (real GGUF)
@pytest.fixture(scope="module")
def llama():
    gen = LlamaCppGenerator(GeneratorConfig(n_threads=2, max_tokens=24))
    gen.warm_up()
    return gen


@pytest.mark.slow
def test_real_generation_returns_text_and_logprobs(llama):
    out = llama.generate(ask("What is a security deposit?"), max_tokens=24)
    assert out.text.strip()
    assert out.completion_tokens == len(out.token_logprobs) > 0
    assert all(math.isfinite(x) and x <= 0.0 for x in out.token_logprobs)
    assert out.finish_reason in ("stop", "length") and out.prompt_tokens > 10
    assert out.prefill_ms > 0 and out.decode_ms >= 0
    assert out.completion_tokens <= 24


@pytest.mark.slow
def test_real_streaming_pieces_concatenate_to_text(llama):
    pieces: list[str] = []
    out = llama.generate(ask("Name three rooms in a house."), max_tokens=20, on_token=pieces.append)
    assert pieces and "".join(pieces) == out.text


@pytest.mark.slow
def test_real_prefix_cache_reuses_the_system_prompt(llama):
    llama.generate(ask("When is rent due?"), max_tokens=4)
    out = llama.generate(ask("Are pets allowed in the building?"), max_tokens=4)
    system_tokens = llama.count_tokens(SYSTEM["content"])
    assert system_tokens <= out.cached_tokens < out.prompt_tokens


@pytest.mark.slow
def test_real_greedy_is_deterministic_and_respects_max_tokens_and_stop(llama):
    a = llama.generate(ask("Describe a kitchen."), max_tokens=6)
    llama.generate(ask("Something else entirely."), max_tokens=3)
    b = llama.generate(ask("Describe a kitchen."), max_tokens=6)
    assert a.text == b.text and a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-3)
    assert a.completion_tokens <= 6
    s = llama.generate(ask("Describe a kitchen."), max_tokens=20, stop=[" "])
    assert " " not in s.text and s.finish_reason == "stop"


@pytest.mark.slow
def test_real_logprobs_match_llama_cpp_full_logits(llama):
    """Our per-step log-softmax equals llama-cpp-python's own logprobs (logits_all=True)."""
    from llama_cpp import Llama

    messages = ask("What does a landlord do?")
    ours = llama.generate(messages, max_tokens=5)
    ref = Llama(model_path=bundled_model_path(), n_ctx=512, n_threads=2, logits_all=True, verbose=False)
    prompt = llama.format_prompt(messages)
    tokens = ref.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    res = ref.create_completion(tokens, max_tokens=len(ours.token_logprobs), temperature=0.0, logprobs=1,
                                repeat_penalty=1.0, top_k=1)
    ref_lp = res["choices"][0]["logprobs"]["token_logprobs"]
    assert res["choices"][0]["text"] == ours.text or ours.text.startswith(res["choices"][0]["text"])
    assert ours.token_logprobs[: len(ref_lp)] == pytest.approx(ref_lp, abs=0.02)


@pytest.mark.slow
def test_real_count_tokens_and_context_overflow(llama):
    assert llama.count_tokens("") == 0 and 0 < llama.count_tokens("The deposit is $1,000.") < 15
    small = LlamaCppGenerator(GeneratorConfig(n_ctx=128, n_threads=1))
    with pytest.raises(InputError, match="n_ctx"):
        small.generate(ask("word " * 400))
