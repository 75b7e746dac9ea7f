import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_empty_request_is_refused() -> None:
    result = runner.invoke(app, ["run", "   "])
    assert result.exit_code == 2 and "request is empty" in result.output


def test_oversized_request_names_the_setting() -> None:
    result = runner.invoke(app, ["run", "x" * 5000])
    assert result.exit_code == 2 and "ANIMAGENT_AGENT__MAX_REQUEST_CHARS" in result.output


def test_unknown_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMAGENT_AGENT__TRESHOLD", "0.5")
    result = runner.invoke(app, ["tools"])
    assert result.exit_code == 2
    assert "ANIMAGENT_AGENT__TRESHOLD: did you mean ANIMAGENT_AGENT__" in result.output


def test_missing_model_file_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANIMAGENT_ALLOW_MODEL_REQUESTS", "1")
    monkeypatch.setenv("ANIMAGENT_LLM__MODEL_PATH", str(tmp_path / "missing.gguf"))
    result = runner.invoke(app, ["run", "a scene with Luca"])
    assert result.exit_code == 4 and "ANIMAGENT_LLM__MODEL_PATH" in result.output


def test_unreachable_server_names_the_fix(
    monkeypatch: pytest.MonkeyPatch, refused_url: str
) -> None:
    monkeypatch.setenv("ANIMAGENT_ALLOW_MODEL_REQUESTS", "1")
    monkeypatch.setenv("ANIMAGENT_LLM__PROVIDER", "openai")
    monkeypatch.setenv("ANIMAGENT_LLM__BASE_URL", f"{refused_url}/v1")
    monkeypatch.setenv("ANIMAGENT_LLM__TIMEOUT_S", "2")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 4 and "Cannot reach the LLM server" in result.output


def test_tools_lists_availability() -> None:
    result = runner.invoke(app, ["tools"])
    assert result.exit_code == 0 and "generate_image" in result.output


def test_report_of_unknown_thread() -> None:
    result = runner.invoke(app, ["report", "nope"])
    assert result.exit_code == 2 and "no manifest" in result.output


def test_bench_lists_and_refuses_unknown_names() -> None:
    listed = runner.invoke(app, ["bench", "--list"])
    assert listed.exit_code == 0
    assert {"taskbench", "bfcl", "overhead", "scale", "e2e"} <= set(listed.output.split())
    unknown = runner.invoke(app, ["bench", "no-such-benchmark"])
    assert unknown.exit_code == 2
