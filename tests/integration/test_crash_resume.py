"""Crash and resume: a SIGKILLed run resumes from its SQLite checkpoint; no finished step reruns.

The act node also keeps a step record on disk (outputs/<thread>/.steps) that makes a finished
tool call reusable even without a checkpoint. These tests remove or bypass that record, so what
they check is LangGraph's own guarantee (checkpoints and pending writes), not our file cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.tools import InjectedToolArg

from tools.registry import ToolContext

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crash_child.py")


def _child(mode: str, thread: str, work: Path, durability: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ANIMAGENT_ALLOW_MODEL_REQUESTS": "0"}
    return subprocess.run(
        [sys.executable, str(CHILD), mode, thread, str(work), durability],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _counts(work: Path) -> dict[str, int]:
    lines = (work / "counter.txt").read_text(encoding="utf-8").split()
    return {name: lines.count(name) for name in set(lines)}


def test_sigkill_mid_run_then_resume_runs_finished_steps_once(tmp_path: Path) -> None:
    (tmp_path / "kill.flag").touch()
    first = _child("run", "crash-1", tmp_path, "sync")
    assert first.returncode == -9, first.stderr[-2000:]  # SIGKILL, from inside step 2
    assert _counts(tmp_path) == {"write_dialogue": 1, "synthesize_voice": 1}
    assert not (tmp_path / "outputs" / "crash-1" / "manifest.json").exists()
    # Without the step-record cache, only the checkpoint can say that s1 already ran.
    shutil.rmtree(tmp_path / "outputs" / "crash-1" / ".steps")

    second = _child("resume", "crash-1", tmp_path, "sync")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "NEXT []" in second.stdout and "FINAL True" in second.stdout
    # s1 finished before the kill: once in total. s2 was killed mid-call: it ran again.
    assert _counts(tmp_path) == {"write_dialogue": 1, "synthesize_voice": 2, "assemble_scene": 1}
    manifest = json.loads((tmp_path / "outputs" / "crash-1" / "manifest.json").read_text())
    assert manifest  # respond wrote the final report


class SimulatedCrash(BaseException):
    """Not an Exception: act's error handling cannot turn it into a failed step result."""


@pytest.fixture
def probe_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The director graph on a SQLite file, with two light probe tools planned side by side."""
    import nodes.steps
    import tools.registry
    from configs.settings import get_settings
    from services.fake_llm import FakeChatModel
    from services.llm import override_models
    from tools.registry import ToolRegistry, make_spec

    monkeypatch.setenv("ANIMAGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANIMAGENT_OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("ANIMAGENT_CHECKPOINT__BACKEND", "sqlite")
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    get_settings.cache_clear()
    # Bypass the on-disk step record so a rerun of a finished step would show in the counts.
    monkeypatch.setattr(nodes.steps, "load_step_record", lambda *a, **k: None)

    runs: list[str] = []
    lock = threading.Lock()
    sibling_done = threading.Event()
    crash = {"armed": True}

    def probe_a(note: str = "", ctx: Annotated[ToolContext | None, InjectedToolArg] = None) -> dict:
        """The sibling that finishes.

        Args:
            note: Unused.
        """
        with lock:
            runs.append("probe_a")
        sibling_done.set()
        return {"value": "a"}

    def probe_b(note: str = "", ctx: Annotated[ToolContext | None, InjectedToolArg] = None) -> dict:
        """The step that crashes the first time (after its sibling finished).

        Args:
            note: Unused.
        """
        with lock:
            runs.append("probe_b")
        if crash["armed"]:
            crash["armed"] = False
            sibling_done.wait(10)  # the sibling's result is written before the crash
            raise SimulatedCrash("power cut")
        return {"value": "b"}

    # Two light tools that each make one deliverable: the plan sends them side by side.
    registry = ToolRegistry(
        [
            make_spec(probe_a, category="test", produces={"value": "text"}, makes="dialogue"),
            make_spec(probe_b, category="test", produces={"value": "text"}, makes="image"),
        ]
    )
    monkeypatch.setattr(tools.registry, "_DEFAULT", registry)
    fake = FakeChatModel(
        scripts={
            "IntentDraft": {
                "goal": "probe two steps",
                "deliverables": ["dialogue", "image"],
                "characters": [],
                "setting": "",
                "mood": "",
                "needs_web": False,
                "confidence": 0.95,
                "question": "",
            },
            "PlanDraft": {
                "steps": [
                    {"id": "a", "tool": "probe_a", "depends_on": []},
                    {"id": "b", "tool": "probe_b", "depends_on": []},
                ]
            },
            "Judgement": {"score": 1.0, "reasons": ["fine"]},
        }
    )
    from graph.builder import build_graph
    from graph.persistence import open_checkpointer

    with open_checkpointer(get_settings()) as saver, override_models(fake):
        yield {"graph": build_graph(checkpointer=saver), "runs": runs}
    get_settings.cache_clear()


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_crash_in_one_parallel_step_keeps_the_sibling_result(
    probe_graph: dict[str, Any], durability: str
) -> None:
    from state import Context

    graph, runs = probe_graph["graph"], probe_graph["runs"]
    config = {"configurable": {"thread_id": f"pending-{durability}"}}
    context = Context(strategy="plan_execute", proceed_on_guess=True, max_iterations=0)
    with pytest.raises(SimulatedCrash):
        graph.invoke(
            {"request": "Probe two steps please, side by side"},
            config,
            context=context,
            durability=durability,
        )
    state = graph.get_state(config)
    # Both steps were sent to `act` in one superstep; the crashed one is still to do.
    assert sorted(runs) == ["probe_a", "probe_b"]
    assert "act" in state.next
    # "sync" and "async" save the finished sibling's result as a pending write of the failed
    # superstep, so the resume runs only the crashed step. "exit" writes the last checkpoint
    # when the run ends (here: by the exception), so the run resumes at the same superstep, but
    # it keeps no pending writes: the sibling runs again. It keeps nothing at all after SIGKILL.
    graph.invoke(None, config, context=context, durability=durability)
    final = graph.get_state(config)
    assert final.next == ()
    assert final.values["final"]
    if durability == "exit":
        assert runs.count("probe_a") in (1, 2)  # LangGraph may or may not keep the write
    else:
        assert runs.count("probe_a") == 1
    assert runs.count("probe_b") == 2
    assert {k: r.status for k, r in final.values["results"].items()} == {
        "s1": "done",
        "s2": "done",
    }
