"""Where a KB's BotConfig comes from: `--config FILE`, $RAGBOT_CONFIG, the KB directory's
config.json, or defaults (a postgresql:// KB has no directory)."""

from __future__ import annotations

import pytest

from ragbot.config import CONFIG_ENV, BotConfig, config_path
from ragbot.errors import ConfigError

DSN = "postgresql://ragbot:s3cret@db.internal/ragbot"


def _write(path, business: str):
    cfg = BotConfig()
    cfg.prompt.business_name = business
    path.write_text(cfg.model_dump_json())
    return path


def test_explicit_file_beats_env_beats_kb_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    kb = tmp_path / "kb"
    kb.mkdir()
    _write(kb / "config.json", "Directory")
    assert BotConfig.load(kb).prompt.business_name == "Directory"
    monkeypatch.setenv(CONFIG_ENV, str(_write(tmp_path / "env.json", "Env")))
    assert BotConfig.load(kb).prompt.business_name == "Env"
    assert BotConfig.load(kb, _write(tmp_path / "cli.json", "Cli")).prompt.business_name == "Cli"


def test_postgres_kb_uses_defaults_or_the_given_file(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert config_path(DSN) is None and BotConfig.load(DSN) == BotConfig()
    assert BotConfig.load(DSN, _write(tmp_path / "pg.json", "Pg")).prompt.business_name == "Pg"


def test_missing_explicit_file_and_saving_a_postgres_config_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(ConfigError, match="--config.*does not exist"):
        BotConfig.load(tmp_path, tmp_path / "nope.json")
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "gone.json"))
    with pytest.raises(ConfigError, match="RAGBOT_CONFIG"):
        BotConfig.load(tmp_path)
    monkeypatch.delenv(CONFIG_ENV)
    with pytest.raises(ConfigError, match="--config FILE") as e:
        BotConfig().save(DSN)
    assert "s3cret" not in str(e.value)
    saved = BotConfig().save(DSN, tmp_path / "out" / "pg.json")
    assert saved.is_file() and BotConfig.load(DSN, saved) == BotConfig()
