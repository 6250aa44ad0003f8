"""LoRA fine-tuning of the generator GGUF (`ragbot finetune`).

Modules: config (`FinetuneConfig`), grounded (training examples in the inference prompt format
from a knowledge base), hf (load the GGUF into transformers, tokenise chat examples with an
assistant-token mask, token NLL), train (`finetune`: LoRA training loop with early stopping and
before/after perplexity), export (peft adapter -> llama.cpp LoRA GGUF), cli (`finetune_cmd`).
Import from the modules; this package imports nothing at load time (torch, transformers, peft
and gguf are loaded lazily, install them with `pip install 'ragbot[finetune]'`).
"""
