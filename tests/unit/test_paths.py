"""Nothing a run writes can escape its folder: ids, file names and planted symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from configs.settings import get_settings
from services.outputs import UnsafePathError, check_id, inside, run_dir, safe_name
from tools.registry import ToolContext

runner = CliRunner()


@pytest.mark.parametrize(
    "bad", ["..", ".", "", "../x", "a/b", "/etc", "a\x00b", "x" * 129, ".hidden", "a b", "é"]
)
def test_bad_thread_ids_are_refused(bad: str) -> None:
    with pytest.raises(UnsafePathError, match="invalid thread id"):
        run_dir(bad)


def test_good_thread_ids_stay_inside_outputs(isolated_dirs: Path) -> None:
    for good in ["scene-01", "a..b", "8f14e45f-ceea-467f-a8f4-0d1f4b2f5c11", "x" * 128]:
        assert check_id(good) == good
        folder = run_dir(good)
        assert folder.parent == isolated_dirs / "outputs"


@pytest.mark.parametrize(
    "name", ["../escape.txt", "voice/../../escape.txt", "/tmp/escape.txt", "a\x00.wav", "n" * 256]
)
def test_tool_paths_outside_the_run_folder_are_refused(tmp_path: Path, name: str) -> None:
    ctx = ToolContext(run_dir=tmp_path / "run")
    with pytest.raises(UnsafePathError):
        ctx.path(name)
    assert not (tmp_path / "escape.txt").exists()


def test_a_symlink_planted_in_the_run_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    (run / "voice").symlink_to(outside)
    ctx = ToolContext(run_dir=run)
    with pytest.raises(UnsafePathError, match="symlink"):
        ctx.path("voice/00.wav")
    assert ctx.path("dialogue.json") == run / "dialogue.json"  # ordinary names still work


def test_a_symlinked_run_folder_is_refused(isolated_dirs: Path) -> None:
    outputs = isolated_dirs / "outputs"
    outputs.mkdir()
    (outputs / "victim").symlink_to(isolated_dirs)
    with pytest.raises(UnsafePathError, match="outside"):
        run_dir("victim", get_settings())


def test_a_symlink_inside_the_folder_that_stays_inside_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert inside(tmp_path, "alias/x.wav") == tmp_path / "alias" / "x.wav"


def test_safe_name_never_yields_dot_names() -> None:
    assert safe_name("..") == "x"
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name(".bashrc") == "bashrc"


@pytest.mark.parametrize("command", ["run", "resume", "report"])
def test_cli_refuses_a_traversing_thread_id_with_exit_2(isolated_dirs: Path, command: str) -> None:
    args = {
        "run": ["run", "make a scene", "--thread-id", ".."],
        "resume": ["resume", ".."],
        "report": ["report", "../.."],
    }[command]
    before = sorted(os.listdir(isolated_dirs))
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "invalid thread id" in result.output and "Traceback" not in result.output
    assert sorted(os.listdir(isolated_dirs)) == before  # nothing written anywhere
