"""Secrets never reach a sink: screen (doctor, errors), logs, state, step records, manifests,
checkpoints. One function (services.redact) does it; each sink is tested here."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.tools import InjectedToolArg
from typer.testing import CliRunner

from cli.main import app
from services.redact import MASK, RedactingFilter, configured_secrets, redact, redact_data
from tools.registry import ToolContext

runner = CliRunner()
SECRET_URL = "http://user:hunter2pass@llm.example:8080/v1"


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (SECRET_URL, "hunter2pass", "http://user:***@llm.example:8080/v1"),
        ("postgresql://app:pg-pw-123@db/animagent", "pg-pw-123", "postgresql://app:***@db"),
        ("https://tok3n@git.example/x", "tok3n", "https://***@git.example/x"),
        ("GET /v1?api_key=abcd1234&x=1", "abcd1234", "api_key=***&x=1"),
        ('{"password": "pa55word"}', "pa55word", '"password": "***'),
        ("Authorization: Bearer abcdefghijkl12345", "abcdefghijkl12345", "Bearer ***"),
        ("key sk-proj-ABCDEFGHIJKLMNOPQRST used", "ABCDEFGHIJKLMNOPQRST", "sk-proj-***"),
        ("hf_abcdefghijklmnopqrstu", "abcdefghijklmnopqrstu", "hf_***"),
    ],
)
def test_redact_masks_credentials_and_keeps_the_shape(text: str, gone: str, kept: str) -> None:
    out = redact(text)
    assert gone not in out and kept in out


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "Luca and Alberto race to the rocks at http://example.com/beach at 6:30."
    assert redact(text) == text


def test_literal_secrets_and_nested_data() -> None:
    data = {"a": ["the key is plainkey99 here", {"b": "x"}], "n": 3}
    assert redact_data(data, ["plainkey99"]) == {
        "a": [f"the key is {MASK} here", {"b": "x"}],
        "n": 3,
    }


def test_configured_secrets_finds_every_secret_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from configs.settings import Settings

    s = Settings(
        llm={"api_key": "k-director-1"},
        roles={"judge": {"api_key": "k-judge-2"}},
        checkpoint={"postgres_url": "postgresql://u:p@h/db"},
    )
    assert sorted(configured_secrets(s)) == ["k-director-1", "k-judge-2", "postgresql://u:p@h/db"]


def test_doctor_does_not_print_the_password(
    monkeypatch: pytest.MonkeyPatch, refused_url: str
) -> None:
    port = refused_url.rsplit(":", 1)[1]
    monkeypatch.setenv("ANIMAGENT_ALLOW_MODEL_REQUESTS", "1")
    monkeypatch.setenv("ANIMAGENT_LLM__PROVIDER", "openai")
    monkeypatch.setenv("ANIMAGENT_LLM__BASE_URL", f"http://user:hunter2pass@127.0.0.1:{port}/v1")
    monkeypatch.setenv("ANIMAGENT_LLM__API_KEY", "sk-abcdefghijklmnop1234")
    monkeypatch.setenv("ANIMAGENT_LLM__TIMEOUT_S", "2")
    monkeypatch.setenv("ANIMAGENT_LLM__MAX_RETRIES", "0")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 4
    assert "user:***@127.0.0.1" in result.output  # the row still says which server
    assert "hunter2pass" not in result.output and "abcdefghijklmnop1234" not in result.output


def test_error_lines_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    import cli.main

    def boom() -> None:
        raise RuntimeError(f"cannot fetch {SECRET_URL}")

    monkeypatch.setattr(cli.main, "_settings", boom)
    result = runner.invoke(app, ["tools"])
    assert result.exit_code == 1 and "user:***@llm.example" in result.output
    assert "hunter2pass" not in result.output and "Traceback" not in result.output


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("animagent.test_redact")
    caplog.handler.addFilter(RedactingFilter(["literal-key-77"]))
    logger.warning("retrying %s with literal-key-77", SECRET_URL)
    assert "hunter2pass" not in caplog.text and "literal-key-77" not in caplog.text
    assert "user:***@llm.example" in caplog.text


def test_state_step_records_manifest_and_checkpoint_hold_no_secret(
    isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool fails quoting a credentialed URL; the error travels everywhere a run keeps it."""
    import tools.registry
    from configs.settings import get_settings
    from graph.builder import build_graph
    from graph.persistence import open_checkpointer
    from services.fake_llm import FakeChatModel
    from services.llm import override_models
    from state import Context
    from tools.registry import ToolRegistry, make_spec

    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    monkeypatch.setenv("ANIMAGENT_CHECKPOINT__BACKEND", "sqlite")
    monkeypatch.setenv("ANIMAGENT_VOICE__GPT_SOVITS_URL", SECRET_URL)
    get_settings.cache_clear()

    def fetch_style(
        note: str = "", ctx: Annotated[ToolContext | None, InjectedToolArg] = None
    ) -> dict[str, Any]:
        """Fetch the studio style (fails here).

        Args:
            note: Unused.
        """
        raise RuntimeError(f"GET {SECRET_URL}/style failed with api_key=zz-secret-99")

    registry = ToolRegistry([make_spec(fetch_style, category="test", makes="answer")])
    monkeypatch.setattr(tools.registry, "_DEFAULT", registry)
    fake = FakeChatModel(
        scripts={
            "IntentDraft": {
                "goal": "fetch the style",
                "deliverables": ["answer"],
                "characters": [],
                "setting": "",
                "mood": "",
                "needs_web": False,
                "confidence": 0.95,
                "question": "",
            },
            "PlanDraft": {"steps": [{"id": "a", "tool": "fetch_style", "depends_on": []}]},
            "Judgement": {"score": 1.0, "reasons": ["fine"]},
        }
    )
    config = {"configurable": {"thread_id": "secret-run"}}
    with open_checkpointer(get_settings()) as saver, override_models(fake):
        graph = build_graph(saver)
        graph.invoke(
            {"request": "Fetch the studio style please"},
            config,  # type: ignore[arg-type]
            context=Context(strategy="plan_execute", proceed_on_guess=True, max_iterations=0),
        )
        state = graph.get_state(config)  # type: ignore[arg-type]
    errors = [r.error for r in state.values["results"].values() if r.tool == "fetch_style"]
    assert errors  # the step ran (and may have been re-planned), and failed
    error = errors[0]
    assert "user:***@llm.example" in error and "api_key=***" in error  # still useful
    sinks = {
        "state": json.dumps(state.values["final"], default=str) + error,
        "manifest": (isolated_dirs / "outputs" / "secret-run" / "manifest.json").read_text(),
        "step record": "".join(
            p.read_text() for p in (isolated_dirs / "outputs" / "secret-run" / ".steps").iterdir()
        ),
    }
    with sqlite3.connect(get_settings().checkpoint_path) as conn:
        blobs = conn.execute("SELECT checkpoint FROM checkpoints").fetchall()
        blobs += conn.execute("SELECT value FROM writes").fetchall()
    sinks["checkpoint"] = b"".join(bytes(b[0]) for b in blobs if b[0]).decode("latin-1")
    for name, text in sinks.items():
        assert "hunter2pass" not in text and "zz-secret-99" not in text, name
    assert "fetch_style" in sinks["manifest"]  # the sinks were really read
