from pathlib import Path

import pytest
from pydantic import ValidationError

from configs.settings import Settings, SettingsError, get_settings


def test_yaml_defaults_and_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().llm.provider == "llamacpp"
    monkeypatch.setenv("ANIMAGENT_LLM__PROVIDER", "openai")
    monkeypatch.setenv("ANIMAGENT_AGENT__QUALITY_THRESHOLD", "0.8")
    get_settings.cache_clear()
    s = get_settings()
    assert s.llm.provider == "openai"
    assert s.agent.quality_threshold == 0.8


def test_unknown_key_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMAGENT_LLM__MODLE", "x")
    with pytest.raises(
        SettingsError, match="ANIMAGENT_LLM__MODLE: did you mean ANIMAGENT_LLM__MODEL"
    ):
        Settings()


def test_other_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("agent:\n  max_iterations: 5\nvoice:\n  bogus: 1\n")
    monkeypatch.setenv("ANIMAGENT_CONFIG", str(cfg))
    with pytest.raises(ValidationError, match="voice.bogus"):
        Settings()
    cfg.write_text("agent:\n  max_iterations: 5\n")
    assert Settings().agent.max_iterations == 5


def test_role_falls_back_to_director_model() -> None:
    s = Settings(roles={"judge": {"provider": "openai", "base_url": "http://judge.invalid/v1"}})
    assert s.role("judge").provider == "openai"
    assert s.role("planner") is s.llm


def test_data_and_output_dirs_from_env(tmp_path: Path) -> None:
    s = get_settings()
    assert s.outputs_dir == tmp_path / "outputs"
    assert s.checkpoint_path == tmp_path / "data" / "checkpoints.sqlite"
