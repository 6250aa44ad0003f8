"""ragbot.tune.finetune without training: grounded examples (hashing-embedder KB), q/k permutation,
LoRA GGUF export against the bundled base GGUF's tensor table, assistant-token masking, config,
and the CLI's KB wiring (training replaced by a fake)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ragbot.chat import prompts
from ragbot.config import PromptConfig
from ragbot.errors import ConfigError, EmptyKnowledgeBaseError, InputError
from ragbot.tune.finetune.export import permute_qk, unpermute_qk
from ragbot.tune.finetune.grounded import faq_pair, grounded_examples, numeric_clauses, write_jsonl

FAQ_CSV = """question,answer,category
How much is the pet deposit?,The pet deposit is $300 per pet. It is refundable after move-out.,pets
When is the office open?,The office is open Monday to Friday from 9 a.m. to 5 p.m.,office
Where do I pick up packages?,Packages are held in the lobby lockers; the code arrives by text message.,packages
Is there a gym on site?,Yes. The fitness room on the second floor is open from 6 a.m. to 10 p.m.,amenities
Can I paint my walls?,You may paint with written approval and must restore the original color before moving out.,rules
How do I report a leaking faucet?,Submit a maintenance request in the resident portal under Maintenance.,maintenance
"""

LEASE_TXT = """Example Lease Agreement

4. RENT
Monthly rent is due on the 1st day of each month. Rent may be paid in the resident portal.

5. LATE FEE
If rent is not received by the 5th day of the month, a late fee of $50 is charged once.
Returned payments cost $30 each.

6. QUIET HOURS
Quiet hours are from 10 p.m. to 7 a.m. every day.
"""


def _words(text: str) -> int:
    return len(text.split())


@pytest.fixture()
def small_kb(tmp_path, hashing_embedder):
    from ragbot.kb import KnowledgeBase

    (tmp_path / "docs" / "faqs").mkdir(parents=True)
    (tmp_path / "docs" / "leases").mkdir(parents=True)
    (tmp_path / "docs" / "faqs" / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    (tmp_path / "docs" / "leases" / "lease.txt").write_text(LEASE_TXT, encoding="utf-8")
    kb = KnowledgeBase.open(tmp_path / "kb", embedder=hashing_embedder, create=True)
    kb.ingest([tmp_path / "docs"])
    yield kb
    kb.close()


def _passages(user: str) -> dict[int, str]:
    body = user.split("Passages:\n", 1)[1].rsplit("\n\nQuestion: ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\[(\d+)\] \([^)]*\) (.*)$", body, re.MULTILINE)}


def test_grounded_examples_follow_the_inference_prompt(small_kb):
    pc = PromptConfig(business_name="Test Homes")
    examples = grounded_examples(small_kb, prompt_config=pc, count_tokens=_words, k=3, k_related=3, seed=1)  # a 7-chunk KB: hybrid search relates more
    kinds = {e["intent"] for e in examples}
    assert {"grounded", "quote", "abstain"} <= kinds
    faq_answers = {q: a for q, a in (line.split(",", 1) for line in FAQ_CSV.splitlines()[1:])}
    for e in examples:
        system, user, reply = e["messages"]
        assert system == {"role": "system", "content": prompts.system_prompt(pc)}
        assert user["role"] == "user" and reply["role"] == "assistant"
        question = user["content"].rsplit("\n\nQuestion: ", 1)[1]
        passages = _passages(user["content"])
        assert 1 <= len(passages) <= 3
        if e["intent"] == "abstain":
            assert reply["content"] == prompts.DONT_KNOW
            own = next((a for q, a in faq_answers.items() if q == question), None)
            if own:  # no shown passage holds the question's own FAQ answer
                first = own.split(",")[0].split(". ")[0]
                assert all(first not in p for p in passages.values())
            continue
        m = re.fullmatch(r"(.+) \[(\d+)\]", reply["content"], re.DOTALL)
        assert m, reply["content"]
        n = int(m.group(2))
        assert n in passages
        answer = m.group(1).strip("“”")
        assert " ".join(answer.split()) in " ".join(passages[n].split())  # the cited passage holds the answer
        if e["intent"] == "quote":
            assert re.search(r"\d", answer) and question.endswith("?")


def test_grounded_examples_are_seeded_and_cite_more_than_one_position(small_kb):
    a = grounded_examples(small_kb, count_tokens=_words, k=3, k_related=4, seed=5)
    b = grounded_examples(small_kb, count_tokens=_words, k=3, k_related=4, seed=5)
    assert a == b
    cited = {re.search(r"\[(\d+)\]$", e["messages"][-1]["content"]).group(1)
             for e in a if e["intent"] != "abstain"}
    assert len(cited) > 1  # shuffle_passages moves the gold passage around


def test_grounded_examples_abstain_ratio_and_jsonl(small_kb, tmp_path):
    none = grounded_examples(small_kb, count_tokens=_words, k=2, k_related=3, abstain_ratio=0.0)
    assert none and all(e["intent"] != "abstain" for e in none)
    path = write_jsonl(none, tmp_path / "out" / "g.jsonl")
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert rows == none


def test_grounded_examples_errors(tmp_path, hashing_embedder, small_kb):
    from ragbot.kb import KnowledgeBase

    empty = KnowledgeBase.open(tmp_path / "empty", embedder=hashing_embedder, create=True)
    with pytest.raises(EmptyKnowledgeBaseError):
        grounded_examples(empty, count_tokens=_words)
    with pytest.raises(InputError):
        grounded_examples(small_kb, count_tokens=_words, k=3, k_related=2)


def test_numeric_clauses_and_faq_pair():
    pairs = numeric_clauses(LEASE_TXT)
    assert ("late fee", "If rent is not received by the 5th day of the month, a late fee of $50 is charged once.") in pairs
    assert [h for h, _ in pairs] == ["rent", "late fee", "quiet hours"]
    assert numeric_clauses("no headings here, 5 dollars.") == []
    # a section whose only numeric sentence is cut by the chunk end is not used
    assert numeric_clauses("3. TERM\nThe term is twelve (12) months and") == []

    class C:
        metadata: dict = {}  # noqa: RUF012
        text = "Q: Where?\nA: Over  there, by 5 p.m."

    assert faq_pair(C()) == ("Where?", "Over there, by 5 p.m.")


# ---------------------------------------------------------------- permutation


@pytest.mark.parametrize("n_head,n_kv,rows", [(9, 9, 576), (9, 3, 192), (4, 2, 64)])
def test_permute_round_trip(n_head, n_kv, rows):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((rows, 7)).astype(np.float32)
    p = permute_qk(w, n_head, n_kv)
    assert p.shape == w.shape and not np.array_equal(p, w)
    np.testing.assert_array_equal(unpermute_qk(p, n_head, n_kv), w)
    np.testing.assert_array_equal(permute_qk(unpermute_qk(w, n_head, n_kv), n_head, n_kv), w)


def test_permute_interleaves_head_halves_like_llama_cpp():
    # one head of 4 rows [a0, a1, b0, b1] (rotate-half layout) -> [a0, b0, a1, b1] (pairs)
    w = np.arange(4, dtype=np.float32)[:, None]
    assert permute_qk(w, 1)[:, 0].tolist() == [0.0, 2.0, 1.0, 3.0]


def test_permuting_lora_b_permutes_the_merged_weight():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((192, 576))
    A, B = rng.standard_normal((8, 576)), rng.standard_normal((192, 8))
    np.testing.assert_allclose(permute_qk(W + B @ A, 9, 3), permute_qk(W, 9, 3) + permute_qk(B, 9, 3) @ A, atol=1e-10)


def test_unpermute_matches_transformers_gguf_loader():
    proc = pytest.importorskip("transformers.modeling_gguf_pytorch_utils")
    w = np.random.default_rng(2).standard_normal((192, 5)).astype(np.float32)
    ref = proc.LlamaTensorProcessor(config={})._reverse_permute_weights(w, 9, 3)
    np.testing.assert_array_equal(unpermute_qk(w, 9, 3), ref)


def test_permute_rejects_bad_rows():
    with pytest.raises(ConfigError):
        permute_qk(np.zeros((10, 2)), 3)


# ---------------------------------------------------------------- export


def _fake_adapter(info, layers=(0, 1), r=4, extra=None):
    rng = np.random.default_rng(3)
    state = {}
    for i in layers:
        for mod, stem in (("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v")):
            n_in, n_out = info.tensors[f"blk.{i}.{stem}.weight"]
            key = f"base_model.model.model.layers.{i}.self_attn.{mod}"
            state[f"{key}.lora_A.weight"] = rng.standard_normal((r, n_in)).astype(np.float32)
            state[f"{key}.lora_B.weight"] = rng.standard_normal((n_out, r)).astype(np.float32)
    state.update(extra or {})
    return state


def test_export_writes_llama_cpp_lora_layout(tmp_path):
    gguf = pytest.importorskip("gguf")
    from ragbot.tune.finetune.export import lora_tensors, read_base_info, write_lora_gguf
    from ragbot.generators.llama import bundled_model_path

    info = read_base_info(bundled_model_path())
    assert info.arch == "llama" and info.n_head % info.n_head_kv == 0
    state = _fake_adapter(info)
    cfg = {"r": 4, "lora_alpha": 8, "bias": "none"}
    tensors = lora_tensors(state, cfg, info)
    rep = write_lora_gguf(tensors, tmp_path / "a.gguf", info, 8.0, 4)
    assert rep.tensors == 12 and rep.rank == 4
    reader = gguf.GGUFReader(str(tmp_path / "a.gguf"))
    fields = {k: reader.fields[k].contents() for k in ("general.type", "adapter.type", "adapter.lora.alpha",
                                                       "general.architecture")}
    assert fields == {"general.type": "adapter", "adapter.type": "lora", "adapter.lora.alpha": 8.0,
                      "general.architecture": info.arch}
    got = {t.name: t for t in reader.tensors}
    for i in (0, 1):
        for mod, stem, heads in (("q_proj", "attn_q", info.n_head), ("k_proj", "attn_k", info.n_head_kv),
                                 ("v_proj", "attn_v", None)):
            base_ne = info.tensors[f"blk.{i}.{stem}.weight"]
            a, b = got[f"blk.{i}.{stem}.weight.lora_a"], got[f"blk.{i}.{stem}.weight.lora_b"]
            assert tuple(a.shape) == (base_ne[0], 4) and tuple(b.shape) == (4, base_ne[1])  # ggml ne order
            key = f"base_model.model.model.layers.{i}.self_attn.{mod}"
            np.testing.assert_array_equal(np.asarray(a.data), state[f"{key}.lora_A.weight"])
            want_b = state[f"{key}.lora_B.weight"]
            if heads is not None:
                want_b = permute_qk(want_b, info.n_head, heads)
            np.testing.assert_array_equal(np.asarray(b.data), want_b)


def test_export_rejects_what_llama_cpp_cannot_apply(tmp_path):
    pytest.importorskip("gguf")
    from ragbot.tune.finetune.export import lora_tensors, read_base_info
    from ragbot.generators.llama import bundled_model_path

    info = read_base_info(bundled_model_path())
    ok = _fake_adapter(info, layers=(0,))
    cfg = {"r": 4, "lora_alpha": 8}
    lm_head = {"base_model.model.lm_head.lora_A.weight": np.zeros((4, 576), np.float32),
               "base_model.model.lm_head.lora_B.weight": np.zeros((49152, 4), np.float32)}
    with pytest.raises(ConfigError, match="no tensor in the base GGUF"):  # tied embeddings: no output.weight
        lora_tensors({**ok, **lm_head}, cfg, info)
    bad = dict(ok)
    bad["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"] = np.zeros((4, 100), np.float32)
    with pytest.raises(ConfigError, match="do not fit"):
        lora_tensors(bad, cfg, info)
    for extra_cfg in ({"use_dora": True}, {"use_rslora": True}, {"rank_pattern": {"q_proj": 2}},
                      {"modules_to_save": ["lm_head"]}):
        with pytest.raises(ConfigError):
            lora_tensors(ok, {**cfg, **extra_cfg}, info)


# ---------------------------------------------------------------- masking


class FakeChatTokenizer:
    """ChatML template and a regex tokenizer with character offsets (words, spaces, markers)."""

    _TOK = re.compile(r"<\|im_(?:start|end)\|>|\w+|\s|[^\w\s]")

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def __call__(self, text, add_special_tokens=False, return_offsets_mapping=False):
        toks = list(self._TOK.finditer(text))
        return {"input_ids": [hash(m.group()) % 1000 for m in toks], "offset_mapping": [m.span() for m in toks],
                "_text": [m.group() for m in toks]}


def test_encode_chat_masks_exactly_the_assistant_replies():
    from ragbot.tune.finetune.hf import encode_chat

    tok = FakeChatTokenizer()
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
            {"role": "assistant", "content": "Hello, friend."}, {"role": "user", "content": "Bye"},
            {"role": "assistant", "content": "See you!"}]
    enc = encode_chat(tok, msgs, max_seq_len=1000)
    pieces = tok(tok.apply_chat_template(msgs))["_text"]
    target_text = "".join(p for p, t in zip(pieces, enc.target) if t)
    assert target_text == "Hello, friend.<|im_end|>See you!<|im_end|>"
    assert not enc.truncated and enc.n_target == sum(enc.target)


def test_encode_chat_truncation_rules():
    from ragbot.tune.finetune.hf import MIN_TARGET_TOKENS, encode_chat

    tok = FakeChatTokenizer()
    long_answer = " ".join(["word"] * 40)
    msgs = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": long_answer}]
    n_prompt = len(tok(tok.apply_chat_template(msgs[:1], add_generation_prompt=True))["input_ids"])
    cut = encode_chat(tok, msgs, max_seq_len=n_prompt + MIN_TARGET_TOKENS + 2)
    assert cut is not None and cut.truncated and len(cut.input_ids) == n_prompt + MIN_TARGET_TOKENS + 2
    assert encode_chat(tok, msgs, max_seq_len=n_prompt + 3) is None  # too little answer left
    assert encode_chat(tok, [{"role": "user", "content": "only a question"}], 100) is None


# ---------------------------------------------------------------- config, data files


def test_finetune_config_validation():
    from ragbot.tune.finetune.config import FinetuneConfig

    assert FinetuneConfig().target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    for bad in ({"target_modules": []}, {"device": "tpu"}, {"learning_rate": 0}, {"unknown": 1}):
        with pytest.raises(ValueError):
            FinetuneConfig(**bad)


def test_read_jsonl_names_file_and_line(tmp_path):
    from ragbot.tune.finetune.train import read_jsonl

    p = tmp_path / "train.jsonl"
    p.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": "nope"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"train\.jsonl:2"):
        read_jsonl(p)


def test_finetune_requires_split_files(tmp_path):
    pytest.importorskip("peft")
    from ragbot.tune.finetune.train import finetune

    with pytest.raises(InputError, match="validation.jsonl"):
        (tmp_path / "train.jsonl").write_text("", encoding="utf-8")
        finetune(tmp_path, tmp_path / "a.gguf")
    with pytest.raises(InputError, match=r"\.gguf"):
        finetune(tmp_path, tmp_path / "a.bin")


@pytest.mark.slow
def test_cli_with_kb_writes_grounded_examples_and_lora_path(tmp_path, monkeypatch, real_embedder):
    """--kb: grounded examples from the KB (real embedder, the KB's own config) reach training,
    and the adapter path lands in the KB's config.json. Training itself is faked here."""
    import typer
    from typer.testing import CliRunner

    import ragbot.tune.finetune.train as train_mod
    from ragbot.config import BotConfig
    from ragbot.tune.finetune.cli import finetune_cmd
    from ragbot.kb import KnowledgeBase

    docs = tmp_path / "docs" / "faqs"
    docs.mkdir(parents=True)
    (docs / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    kb_dir = tmp_path / "kb"
    with KnowledgeBase.open(kb_dir, embedder=real_embedder, create=True) as kb:
        kb.ingest([docs])
    seen = {}

    def fake_finetune(data_dir, out_path, config, base_gguf=None, grounded=None, show_progress=True):
        seen.update(grounded=grounded, config=config)
        return train_mod.FinetuneReport(adapter_gguf=str(out_path), peft_dir="p", base_gguf="b", device="cpu",
                                        config=config.model_dump(), seconds={"train": 0.0, "total": 0.0})

    monkeypatch.setattr(train_mod, "finetune", fake_finetune)
    app = typer.Typer()
    app.command()(finetune_cmd)
    out = tmp_path / "adapters" / "a.gguf"
    res = CliRunner().invoke(app, [str(tmp_path / "data"), "--out", str(out), "--kb", str(kb_dir),
                                   "--max-steps", "7", "--rank", "4", "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout.strip().splitlines()[-1])
    assert obj["grounded"]["grounded"] == 6 and seen["config"].max_steps == 7 and seen["config"].lora_r == 4
    assert len(seen["grounded"]) == sum(obj["grounded"].values())
    assert (out.parent / "a.grounded.jsonl").is_file()
    assert BotConfig.load(kb_dir).generator.lora_path == str(out.resolve())
