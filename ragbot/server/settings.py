"""Settings of `ragbot serve` (one pydantic model; the CLI fills it, workers read it from the
environment variable RAGBOT_SERVE_SETTINGS as JSON)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

SETTINGS_ENV = "RAGBOT_SERVE_SETTINGS"


class ServeSettings(BaseModel):
    """Units are given per field. Rate limits count turns (messages and chat completions) and
    conversation creations, per worker process."""

    model_config = ConfigDict(extra="forbid")

    kb: str = Field("", description="knowledge-base directory or postgresql:// DSN")
    config_file: Optional[str] = Field(None, description="BotConfig JSON used instead of the KB's config.json")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, description="uvicorn worker processes; each loads the models once")
    demo: bool = Field(False, description="serve static/demo.html at /")
    webhook_url: Optional[str] = Field(None, description="POST every new ticket here as signed JSON")
    webhook_secret: str = Field("", description="HMAC-SHA256 key of the X-Ragbot-Signature header")
    model_instances: int = Field(1, ge=1, description="generator instances per worker (each one llama.cpp context)")
    queue_size: int = Field(8, ge=0, description="model turns that may wait for a free instance; more get 503")
    queue_timeout_s: float = Field(120.0, gt=0, description="longest wait for a model instance (seconds)")
    rate_key_per_min: int = Field(600, ge=1, description="turns per minute per API key")
    rate_session_per_min: int = Field(30, ge=1, description="turns per minute per conversation")
    max_body_bytes: int = Field(65536, ge=256, description="larger request bodies get 413")
    turn_threads: Optional[int] = Field(None, ge=2, description="threads running turns; default "
                                        "model_instances + queue_size + 16, so non-model turns always find one")
    open_mode_loopback_only: bool = Field(True, description="with no keys, refuse requests not from loopback")

    def threads(self) -> int:
        return self.turn_threads or self.model_instances + self.queue_size + 16
