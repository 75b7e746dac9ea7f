"""The fault matrix: each fault a run can meet, and the answer the person gets.

LLM faults come from the loopback OpenAI-compatible server (fake_openai.py) through the real
provider path (langchain-openai, the openai client and its retries); tool and store faults
from real failing tools, a real ENOSPC from /dev/full, and a real SQLite lock held by another
connection. docs/reliability.md quotes this table; each row here is one test.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.tools import InjectedToolArg
from typer.testing import CliRunner, Result

from cli.main import app
from tests.integration.fake_openai import fake_openai_server
from tools.registry import ToolContext

pytestmark = pytest.mark.integration
runner = CliRunner()
# A radio scene needs no picture, so a run that survives its fault finishes complete (exit 0).
DEMO = "Create a short radio scene where Luca and Alberto talk on the beach at sunset"


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from configs.settings import get_settings

    monkeypatch.setenv("ANIMAGENT_ALLOW_MODEL_REQUESTS", "1")
    monkeypatch.setenv("ANIMAGENT_LLM__PROVIDER", "openai")
    monkeypatch.setenv("ANIMAGENT_LLM__TIMEOUT_S", "1")
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    monkeypatch.setenv("ANIMAGENT_CHECKPOINT__BACKEND", "sqlite")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _run(monkeypatch: pytest.MonkeyPatch, url: str, retries: int, *args: str) -> Result:
    from configs.settings import get_settings

    monkeypatch.setenv("ANIMAGENT_LLM__BASE_URL", url)
    monkeypatch.setenv("ANIMAGENT_LLM__MAX_RETRIES", str(retries))
    get_settings.cache_clear()
    return runner.invoke(app, list(args))


def _manifest(root: Path, thread: str) -> dict[str, Any]:
    return json.loads((root / "outputs" / thread / "manifest.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("fault", ["500", "429", "reset", "slow"])
def test_a_transient_llm_fault_is_retried_and_the_run_finishes(
    openai_env: None, monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path, fault: str
) -> None:
    with fake_openai_server([fault], slow_s=2.5) as (url, calls):
        result = _run(monkeypatch, url, 2, "run", DEMO, "--thread-id", f"t-{fault}", "--guess")
    assert result.exit_code == 0, result.output
    assert calls[:2] == ["Dialogue", "Dialogue"]  # the failed request, then its retry
    assert _manifest(isolated_dirs, f"t-{fault}")["artifacts"]


@pytest.mark.parametrize(
    ("fault", "served", "says"),
    [
        ("500", 2, "answered HTTP 500"),
        ("reset", 2, "cannot be reached"),
        ("slow", 2, "cannot be reached"),
        ("not_json", 1, "not JSON"),
    ],
)
def test_a_persistent_llm_fault_stops_with_one_line_and_the_resume_command(
    openai_env: None,
    monkeypatch: pytest.MonkeyPatch,
    isolated_dirs: Path,
    fault: str,
    served: int,
    says: str,
) -> None:
    # ``served`` faulty answers: every try of the first request (1 + 1 retry; a body that is
    # not JSON is not retried), then the server is healthy again for the resume.
    with fake_openai_server([fault] * served, slow_s=2.5) as (url, _):
        failed = _run(monkeypatch, url, 1, "run", DEMO, "--thread-id", "p1", "--guess")
        assert failed.exit_code == 4, failed.output
        assert "Traceback" not in failed.output
        assert says in failed.output and "animagent resume p1" in failed.output
        resumed = _run(monkeypatch, url, 1, "resume", "p1")
    assert resumed.exit_code == 0, resumed.output
    assert _manifest(isolated_dirs, "p1")["artifacts"]


def test_a_model_that_echoes_the_schema_is_repaired_or_falls_back(
    openai_env: None, monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path
) -> None:
    with fake_openai_server(["echo", "echo"]) as (url, calls):
        result = _run(monkeypatch, url, 0, "run", DEMO, "--thread-id", "e1", "--guess")
    manifest = _manifest(isolated_dirs, "e1")
    assert result.exit_code == manifest["exit_code"], result.output
    # The words settle the intent, so the first model call is the writer's: its reply and the
    # repair were both echoes, so that attempt failed (never a "dialogue" made of the schema)
    # and the re-plan's writer, with a sane model, made the lines.
    assert calls[:2] == ["Dialogue", "Dialogue"]
    assert any("no usable dialogue" in t for t in manifest["thoughts"])
    assert manifest["plan"][0]["id"] != "s1"  # the failed writer step was replaced
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- tool and store faults

RELEASE = threading.Event()


def _probe_registry(monkeypatch: pytest.MonkeyPatch, tool: Any) -> None:
    import tools.registry
    from tools.registry import ToolRegistry, make_spec

    monkeypatch.setattr(
        tools.registry, "_DEFAULT", ToolRegistry([make_spec(tool, category="test", makes="answer")])
    )


def _fake_plan(tool: str) -> Any:
    from services.fake_llm import FakeChatModel

    return FakeChatModel(
        scripts={
            "IntentDraft": {
                "goal": "probe",
                "deliverables": ["answer"],
                "characters": [],
                "setting": "",
                "mood": "",
                "needs_web": False,
                "confidence": 0.95,
                "question": "",
            },
            "PlanDraft": {"steps": [{"id": "a", "tool": tool, "depends_on": []}]},
            "Judgement": {"score": 1.0, "reasons": ["fine"]},
        }
    )


def raises(note: str = "", ctx: Annotated[ToolContext | None, InjectedToolArg] = None) -> dict:
    """A tool with a bug.

    Args:
        note: Unused.
    """
    raise RuntimeError("the renderer crashed")


def hangs(note: str = "", ctx: Annotated[ToolContext | None, InjectedToolArg] = None) -> dict:
    """A tool that never returns.

    Args:
        note: Unused.
    """
    RELEASE.wait(30)
    return {}


def fills_disk(note: str = "", ctx: Annotated[ToolContext | None, InjectedToolArg] = None) -> dict:
    """A tool whose write meets a full disk (a real ENOSPC: /dev/full as the temp file).

    Args:
        note: Unused.
    """
    from services.outputs import atomic_write_bytes

    assert ctx is not None
    real_mkstemp = tempfile.mkstemp

    def full_mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), name

    tempfile.mkstemp = full_mkstemp  # type: ignore[assignment]
    try:
        atomic_write_bytes(ctx.path("big.bin"), b"x" * 1_000_000)
    finally:
        tempfile.mkstemp = real_mkstemp
    return {}


@pytest.mark.parametrize(
    ("tool", "error"),
    [
        (raises, "RuntimeError: the renderer crashed"),
        (hangs, "did not finish within 0.5 s"),
        (fills_disk, "No space left on device"),
    ],
)
def test_a_failing_tool_fails_its_step_and_the_run_reports_it(
    monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path, tool: Any, error: str
) -> None:
    from configs.settings import get_settings
    from services.llm import override_models

    if tool is fills_disk and not Path("/dev/full").exists():
        pytest.fail("/dev/full is missing: this test needs a Linux machine")
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    monkeypatch.setenv("ANIMAGENT_AGENT__TOOL_TIMEOUT_S", "0.5")
    get_settings.cache_clear()
    _probe_registry(monkeypatch, tool)
    RELEASE.clear()
    try:
        with override_models(_fake_plan(tool.__name__)):
            result = runner.invoke(
                app,
                [
                    "run",
                    "probe the tool",
                    "--thread-id",
                    "f1",
                    "--guess",
                    "--max-iterations",
                    "0",
                    "--strategy",
                    "plan_execute",
                ],
            )
    finally:
        RELEASE.set()
    # The run finishes and says what failed: exit 5, incomplete (never a traceback).
    assert result.exit_code == 5, result.output
    manifest = _manifest(isolated_dirs, "f1")
    assert not manifest["steps"]  # nothing claims the step was made (a replan may retry it)
    failed = [n for n in manifest["not_done"] if f"({tool.__name__}) failed" in n]
    assert failed and error in failed[0], manifest["not_done"]
    leftovers = [p.name for p in (isolated_dirs / "outputs" / "f1").iterdir() if p.suffix == ".tmp"]
    assert leftovers == []  # no half-written temp file is left behind


def test_a_locked_checkpoint_database_exits_4_naming_the_lock(
    monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path
) -> None:
    from configs.settings import get_settings
    from graph.persistence import open_checkpointer
    from services.fake_llm import FakeChatModel
    from services.llm import override_models

    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    monkeypatch.setenv("ANIMAGENT_CHECKPOINT__BACKEND", "sqlite")
    get_settings.cache_clear()
    with open_checkpointer(get_settings()):
        pass  # create the tables, as an earlier run would have
    holder = sqlite3.connect(get_settings().checkpoint_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        with override_models(FakeChatModel()):
            result = runner.invoke(app, ["run", DEMO, "--thread-id", "l1", "--guess"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 4, result.output
    assert "database is locked" in result.output and "Traceback" not in result.output
