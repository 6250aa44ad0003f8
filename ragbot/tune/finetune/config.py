"""FinetuneConfig: the settings of `ragbot finetune` (library, CLI and report share it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FinetuneConfig(BaseModel):
    """LoRA fine-tuning of the generator GGUF (see ragbot.tune.finetune.train).

    Units: steps are optimizer updates (each `batch_size` x `grad_accum` examples); lengths are
    tokens of the model's tokenizer. The defaults follow common LoRA practice for small chat
    models (r 8, alpha 16 = scale 2, lr 2e-4, attention projections only, as in the PEFT and
    QLoRA examples); they are starting points, not values tuned on ragbot data.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    learning_rate: float = Field(2e-4, gt=0, le=1.0, description="peak AdamW learning rate")
    weight_decay: float = Field(0.0, ge=0)
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="share of steps with linear warm-up, then linear decay to 0")
    epochs: float = Field(1.0, gt=0, description="passes over the training examples (fractions allowed)")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (overrides epochs)")
    batch_size: int = Field(4, ge=1, description="examples per forward pass (padded to the longest)")
    grad_accum: int = Field(1, ge=1, description="forward passes per optimizer step")
    max_grad_norm: float = Field(1.0, gt=0)
    lora_r: int = Field(8, ge=1, description="LoRA rank")
    lora_alpha: float = Field(16.0, gt=0, description="LoRA alpha; the update is scaled by alpha / r")
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
                                      description="HF module names that get LoRA (llama naming)")
    max_seq_len: int = Field(768, ge=32, description="longer examples are cut at the end when at least "
                             "16 answer tokens remain, else skipped (a grounded prompt is 400-700 tokens)")
    eval_every: int = Field(50, ge=1, description="steps between validation-loss evaluations")
    early_stopping_patience: int | None = Field(
        3, ge=1, description="stop after this many evaluations without a lower validation loss; None = never")
    seed: int = 13
    max_train_examples: int | None = Field(None, ge=1, description="cap on training examples (seeded sample)")
    max_eval_examples: int | None = Field(200, ge=1, description="cap per evaluation set (seeded sample)")
    grounded_share: float = Field(0.5, ge=0, le=1, description="with max_train_examples, at most this share "
                                  "of the cap goes to grounded examples; plain examples fill the rest")
    grounded_eval_fraction: float = Field(0.1, ge=0, lt=1, description="share of the grounded examples held "
                                          "out as the 'grounded' evaluation set")
    bf16: bool = Field(False, description="autocast the training forward/backward to bfloat16 (about 1.8x faster "
                       "on CPUs with AVX512-BF16, measured here; CUDA too); weights, LoRA parameters and every "
                       "evaluation stay float32")
    device: str = Field("auto", description="'auto' (CUDA when torch sees one, else CPU), 'cpu', 'cuda', 'cuda:N'")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None keeps torch's default")

    @field_validator("target_modules")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if not v or any(not s.strip() for s in v):
            raise ValueError("target_modules must list at least one module name, e.g. ['q_proj', 'v_proj']")
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v != "auto" and v != "cpu" and not v.startswith("cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {v!r}")
        return v
