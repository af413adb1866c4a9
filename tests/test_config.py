"""Settings: documented defaults, clear errors on malformed values, secrets masked everywhere."""

import pytest

from background_pipelines.cli import main
from background_pipelines.config import ConfigError, Settings


def test_defaults_are_the_documented_ones(tmp_path):
    s = Settings.from_env({"BGP_HOME": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'store.db'}"
    assert s.llm_backend == "offline"
    assert (s.summary_message_threshold, s.knowledge_extraction_threshold, s.reflection_delay_seconds) == (20, 10, 60)
    assert (s.llm_max_concurrency, s.embedding_batch_size, s.nightly_hour, s.timezone) == (8, 100, 3, "UTC")
    assert s.enable_character_diary and s.chat_llm_enabled


def test_malformed_values_name_the_variable():
    with pytest.raises(ConfigError, match="SUMMARY_MESSAGE_THRESHOLD"):
        Settings.from_env({"SUMMARY_MESSAGE_THRESHOLD": "twenty"})
    with pytest.raises(ConfigError, match="ENABLE_CHARACTER_DIARY"):
        Settings.from_env({"ENABLE_CHARACTER_DIARY": "maybe"})
    with pytest.raises(ConfigError, match="BGP_NIGHTLY_HOUR"):
        Settings.from_env({"BGP_NIGHTLY_HOUR": "25"})


def test_secrets_never_in_repr():
    s = Settings.from_env({
        "BGP_DATABASE_URL": "postgresql://bot:hunter2pw@db:5432/bgp",
        "BGP_LLM_API_KEY": "sk-topsecret-123",
        "BGP_WEBHOOK_SECRET": "whsec-xyz",
        "BGP_LLM_BASE_URL": "http://127.0.0.1:1/v1",
    })
    text = repr(s) + str(s) + s.safe_database_url
    for secret in ("hunter2pw", "sk-topsecret-123", "whsec-xyz"):
        assert secret not in text
    assert s.llm_api_key.reveal() == "sk-topsecret-123"
    assert s.llm_backend == "openai"


def test_cli_db_upgrade_reports_masked_url(bgp_env, capsys):
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "revision" in out
    assert main(["db", "current"]) == 0
