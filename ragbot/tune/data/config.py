"""DataConfig: the settings of `ragbot data prepare` (library, CLI and report share it)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DataConfig(BaseModel):
    """Settings of the data-preparation pipeline. Units: characters; ratios 0..100.

    min_chars: an example is dropped when any user or assistant message is shorter.
    max_chars: an example is dropped when all its user and assistant text together is longer.
    near_dup_ratio: rapidfuzz `fuzz.ratio` (normalised Indel similarity, 0..100, after
        lower-casing and stripping non-alphanumerics) at or above which two examples of the same
        intent are near-duplicates and the later one is dropped; None disables the step.
    cap_per_class: at most this many examples per intent (seeded sample); None keeps all.
    fractions: train / validation / test shares; must sum to 1.
    seed: seeds balancing and splitting (same inputs + same seed = same files).
    system_prompt: prepended as a system message to examples that have none; None adds nothing.
    scrub_pii: replace PII by typed placeholders (ragbot.tune.data.pii).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    min_chars: int = Field(2, ge=0)
    max_chars: int = Field(8000, ge=1)
    near_dup_ratio: Optional[float] = Field(95.0, ge=0, le=100)
    cap_per_class: Optional[int] = Field(None, ge=1)
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 13
    system_prompt: Optional[str] = None
    scrub_pii: bool = True

    @field_validator("fractions")
    @classmethod
    def _fractions_sum_to_one(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(f < 0 for f in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"fractions {v} must be non-negative and sum to 1 (e.g. 0.8, 0.1, 0.1)")
        return v
