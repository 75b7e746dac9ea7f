"""One error surface: each known fault ends in one line with the fix and a documented code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from services.fake_llm import FakeChatModel

runner = CliRunner()
DEMO = "Create a short scene where Luca and Alberto talk on the beach at sunset"


def _one_line_error(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


def test_single_underscore_near_miss_names_the_real_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANIMAGENT_LLM_PROVIDER", "openai")
    result = runner.invoke(app, ["tools"])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert "ANIMAGENT_LLM_PROVIDER: did you mean ANIMAGENT_LLM__PROVIDER?" in line


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANIMAGENT_CONFIG", str(tmp_path / "nope.yaml"))
    result = runner.invoke(app, ["tools"])
    assert result.exit_code == 2
    assert "nope.yaml, which is not a file" in _one_line_error(result.output)


def test_broken_yaml_names_file_line_and_column(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("agent:\n  max_iterations: 2\n  strategy: [auto\nvoice: {}\n")
    monkeypatch.setenv("ANIMAGENT_CONFIG", str(cfg))
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert f"{cfg}:4:" in line and "invalid YAML" in line
    assert len(result.output.splitlines()) < 5  # was a 232-line traceback


def test_resume_of_an_unknown_thread_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["resume", "never-started"])
    assert result.exit_code == 2
    assert "no run with thread id 'never-started'" in _one_line_error(result.output)


def test_unexpected_errors_are_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    import cli.main

    def boom() -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(cli.main, "_settings", boom)
    result = runner.invoke(app, ["tools"])
    assert result.exit_code == 1
    assert "--debug" in _one_line_error(result.output)
    debug = runner.invoke(app, ["--debug", "tools"])
    assert isinstance(debug.exception, KeyError)  # the traceback is there for a developer


def test_request_from_a_file(fake: FakeChatModel, tmp_path: Path, isolated_dirs: Path) -> None:
    request = tmp_path / "request.txt"
    request.write_text(DEMO + "\n", encoding="utf-8")
    result = runner.invoke(app, ["run", "--file", str(request), "--thread-id", "f1", "--guess"])
    manifest = json.loads((isolated_dirs / "outputs" / "f1" / "manifest.json").read_text())
    assert manifest["request"] == DEMO
    assert result.exit_code == manifest["exit_code"] == 5, result.output  # no image weights here


def test_request_from_stdin(fake: FakeChatModel, isolated_dirs: Path) -> None:
    result = runner.invoke(app, ["run", "-", "--thread-id", "s1", "--guess"], input=DEMO)
    manifest = json.loads((isolated_dirs / "outputs" / "s1" / "manifest.json").read_text())
    assert manifest["request"] == DEMO
    assert result.exit_code == manifest["exit_code"] == 5, result.output


def test_request_file_problems_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["run", "--file", str(tmp_path / "none.txt")])
    assert missing.exit_code == 2 and "cannot read the request file" in missing.output
    both = runner.invoke(app, ["run", "text", "--file", str(tmp_path / "none.txt")])
    assert both.exit_code == 2 and "not both" in both.output
    empty = runner.invoke(app, ["run", "-"], input="  \n")
    assert empty.exit_code == 2 and "request is empty" in empty.output
