"""Agreement of the exported LoRA GGUF with the trained adapter (slow: real models).

A small adapter is trained with `finetune` (a few steps at a high learning rate so the logits
move a lot), exported to GGUF, and the next-token logits of 8 prompts are compared between
transformers (dequantized base + peft adapter) and llama.cpp (Q4_1 base + LoRA GGUF), feeding the
same token ids to both. The logit shift (adapter minus base) must correlate across the backends
(quantization of llama.cpp's activations only adds noise), and a control adapter written WITHOUT
the q/k permutation of lora_b must agree clearly worse, so the test fails if the permutation is
missing or wrong.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow

FACTS = [("What is the code word?", "The code word is pineapple, and it changes every Monday."),
         ("Which colour is the front door?", "The front door is bright purple with a brass knocker."),
         ("Where do I leave parcels?", "Leave parcels in locker nine behind the blue gate."),
         ("Who feeds the office cat?", "Marguerite feeds the office cat at noon every day.")]
PROMPTS = [q for q, _ in FACTS] + ["How much is the deposit?", "Tell me a joke.", "What is 2 plus 2?",
                                   "Can I have a dog?"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("peft")
    pytest.importorskip("gguf")
    from ragbot.tune.finetune.config import FinetuneConfig
    from ragbot.tune.finetune.train import finetune

    d = tmp_path_factory.mktemp("ft")
    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]} for q, a in FACTS]
    for split in ("train", "validation", "test"):
        (d / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = FinetuneConfig(max_steps=12, learning_rate=3e-3, batch_size=4, lora_dropout=0.0, warmup_ratio=0.0,
                         eval_every=100, max_eval_examples=4, threads=2)
    report = finetune(d, d / "adapter.gguf", cfg, show_progress=False)
    return d, report


def _last_logits_hf(report, ids_list):
    import torch
    from peft import PeftModel

    from ragbot.tune.finetune.hf import load_base

    base, _ = load_base(report.base_gguf)
    model = PeftModel.from_pretrained(base, report.peft_dir)
    model.eval()
    with_a, without = [], []
    with torch.no_grad():
        for ids in ids_list:
            x = torch.tensor([ids])
            with_a.append(model(input_ids=x).logits[0, -1].numpy().astype(np.float64))
            with model.disable_adapter():
                without.append(model(input_ids=x).logits[0, -1].numpy().astype(np.float64))
    return with_a, without


def _last_logits_llama(base_gguf, lora, ids_list):
    import llama_cpp

    llm = llama_cpp.Llama(model_path=base_gguf, lora_path=lora, n_ctx=512, n_threads=2, logits_all=False,
                          verbose=False)
    out = []
    for ids in ids_list:
        llm.reset()
        llm.eval(ids)
        out.append(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
                   .astype(np.float64))
    llm.close()
    return out


def _shift_corr(hf_a, hf_b, lc_a, lc_b, top=50):
    idx = np.argsort(-hf_a)[:top]
    return float(np.corrcoef(hf_a[idx] - hf_b[idx], lc_a[idx] - lc_b[idx])[0, 1])


def test_training_lowers_perplexity_and_writes_files(trained):
    d, report = trained
    ppl = report.perplexity["validation"]
    assert ppl["after"] < ppl["before"] / 2  # 12 steps at lr 3e-3 on 4 examples seen in training
    assert report.steps == 12 and (d / "adapter.gguf").is_file() and (d / "adapter_peft").is_dir()
    saved = json.loads((d / "adapter.report.json").read_text(encoding="utf-8"))
    assert saved["export"]["tensors"] == 30 * 4 * 2


def test_llama_cpp_adapter_agrees_with_transformers(trained):
    from pathlib import Path

    from transformers import AutoTokenizer

    import ragbot.tune.finetune.export as export_mod
    from ragbot.tune.finetune.export import lora_tensors, read_base_info, read_peft_adapter, write_lora_gguf

    d, report = trained
    base = report.base_gguf
    tok = AutoTokenizer.from_pretrained(str(Path(base).parent), gguf_file=Path(base).name)
    texts = [tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
             for q in PROMPTS]
    ids_list = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    hf_a, hf_b = _last_logits_hf(report, ids_list)
    lc_b = _last_logits_llama(base, None, ids_list)
    lc_a = _last_logits_llama(base, report.adapter_gguf, ids_list)

    # control: the same adapter exported without permuting q/k lora_b
    info = read_base_info(base)
    state, cfg = read_peft_adapter(report.peft_dir)
    orig = export_mod.permute_qk
    try:
        export_mod.permute_qk = lambda w, *args: w
        control = lora_tensors(state, cfg, info)
    finally:
        export_mod.permute_qk = orig
    write_lora_gguf(control, d / "control.gguf", info, cfg["lora_alpha"], cfg["r"])
    lc_n = _last_logits_llama(base, str(d / "control.gguf"), ids_list)

    shifts = [np.abs(a - b)[np.argsort(-a)[:50]].max() for a, b in zip(hf_a, hf_b)]
    assert min(shifts) > 2.0, "the adapter should move the logits visibly"
    same_top = sum(int(a.argmax() == b.argmax()) for a, b in zip(hf_a, lc_a))
    changed_top = sum(int(a.argmax() != b.argmax()) for a, b in zip(hf_a, hf_b))
    assert changed_top >= 2  # the adapter changes some greedy choices ...
    assert same_top >= len(PROMPTS) - 1  # ... and llama.cpp makes the same ones
    corr = [_shift_corr(*x) for x in zip(hf_a, hf_b, lc_a, lc_b)]
    corr_control = [_shift_corr(*x) for x in zip(hf_a, hf_b, lc_n, lc_b)]
    assert min(corr) > 0.9, corr
    assert np.mean(corr) > np.mean(corr_control) + 0.02, (corr, corr_control)
    base_corr = [float(np.corrcoef(a[np.argsort(-a)[:50]], b[np.argsort(-a)[:50]])[0, 1]) for a, b in zip(hf_b, lc_b)]
    assert min(base_corr) > 0.95  # the two backends agree on the base model itself


def test_encode_chat_with_the_real_template(trained):
    from pathlib import Path

    from transformers import AutoTokenizer

    from ragbot.tune.finetune.hf import encode_chat

    base = Path(trained[1].base_gguf)
    tok = AutoTokenizer.from_pretrained(str(base.parent), gguf_file=base.name)
    msgs = [{"role": "system", "content": "Answer from the passages."}, {"role": "user", "content": "Q?"},
            {"role": "assistant", "content": "The fee is $50 [1]"}]
    enc = encode_chat(tok, msgs, 512)
    target_ids = [i for i, t in zip(enc.input_ids, enc.target) if t]
    assert tok.decode(target_ids) == "The fee is $50 [1]" + tok.eos_token
