import json
import threading
import time
import wave
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.tools import InjectedToolArg
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from graph.builder import build_graph
from services.fake_llm import FakeChatModel
from services.gpu import get_lease
from state import Context
from tools.registry import ToolContext, default_registry, make_spec

DEMO = "Create a short scene where Luca and Alberto talk on the beach at sunset"


def run(graph: Any, payload: Any, thread: str, **ctx: Any) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread}}
    graph.invoke(payload, config, context=Context(**ctx))
    return graph.get_state(config)  # type: ignore[no-any-return]


def test_demo_runs_end_to_end(fake: FakeChatModel, isolated_dirs: Path) -> None:
    graph = build_graph(InMemorySaver())
    state = run(graph, {"request": DEMO}, "t1")
    final = state.values["final"]
    assert [s["tool"] for s in final["plan"]] == [
        "write_dialogue",
        "synthesize_voice",
        "assemble_scene",
    ]
    assert set(final["scores"]) == {"s1", "s2", "s3"}
    folder = isolated_dirs / "outputs" / "t1"
    manifest = json.loads((folder / "manifest.json").read_text())
    wavs = sorted((folder / "voice").glob("*.wav"))
    assert len(wavs) == 4  # two lines per character from the scripted writer
    for wav in wavs:
        with wave.open(str(wav)) as w:
            assert w.getnframes() / w.getframerate() > 0.3
    assert manifest["artifacts"] and any(a["path"] == "scene.wav" for a in manifest["artifacts"])
    assert any("generate_image" not in n for n in manifest["not_done"]) or not manifest["not_done"]
    nodes = [d["node"] for d in manifest["decisions"]]
    assert nodes.count("understand") == 1 and "plan" in nodes
    assert state.values["messages"][-1].content.startswith("Request:")


def test_unclear_request_interrupts_then_resumes(fake: FakeChatModel) -> None:
    graph = build_graph(InMemorySaver())
    state = run(graph, {"request": "hmm"}, "t2")
    assert state.interrupts and "question" in state.interrupts[0].value
    config = {"configurable": {"thread_id": "t2"}}
    graph.invoke(
        Command(resume="a short dialogue between Mia and Tom in a cafe"), config, context=Context()
    )
    final = graph.get_state(config).values
    assert final["clarifications"][0].answer.startswith("a short dialogue")
    assert final["intent"].characters == ["Mia", "Tom"]
    assert final["final"]["steps"]["s1"]["tool"] == "write_dialogue"


def test_proceed_on_guess_never_asks(fake: FakeChatModel) -> None:
    graph = build_graph(InMemorySaver())
    state = run(graph, {"request": "hmm"}, "t3", proceed_on_guess=True)
    assert not state.interrupts and state.values["final"] is not None


def test_image_request_says_what_to_configure(fake: FakeChatModel) -> None:
    graph = build_graph(InMemorySaver())
    state = run(graph, {"request": "Draw a poster of Luca at sunset"}, "t4")
    not_done = " ".join(state.values["final"]["not_done"])
    assert "ANIMAGENT_IMAGE__MODEL_PATH" in not_done


def test_low_scores_retry_within_budget(fake: FakeChatModel) -> None:
    fake.scripts["Judgement"] = {"score": 0.0, "reasons": ["flat"]}
    graph = build_graph(InMemorySaver())
    state = run(graph, {"request": DEMO}, "t5", quality_threshold=0.9, max_iterations=1)
    results = state.values["results"]
    assert results["s1"].attempt == 2  # one retry, then the best effort is kept
    assert results["s1"].args["notes"]  # the reflection reached the retry's arguments
    actions = [r.action for r in state.values["reflections"] if r.step_id == "s1"]
    assert actions == ["retry", "accept"]


class _Heavy:
    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def tool(
        self, prompt: str, ctx: Annotated[ToolContext | None, InjectedToolArg] = None
    ) -> dict[str, Any]:
        """Fake heavy job.

        Args:
            prompt: What to make.
        """
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.05)
        with self.lock:
            self.active -= 1
        return {"image": prompt}


def test_heavy_steps_run_one_at_a_time(
    fake: FakeChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    heavy = _Heavy()

    def fake_heavy(
        prompt: str, ctx: Annotated[ToolContext | None, InjectedToolArg] = None
    ) -> dict[str, Any]:
        """Fake heavy job.

        Args:
            prompt: What to make.
        """
        return heavy.tool(prompt, ctx)

    registry = default_registry()
    registry.add(
        make_spec(
            fake_heavy, category="image", heavy=True, vram_gb=8, model="m1", outputs=("image",)
        )
    )
    try:
        fake.scripts["PlanDraft"] = {
            "steps": [{"id": f"h{i}", "tool": "fake_heavy", "depends_on": []} for i in range(1, 4)]
        }
        graph = build_graph(InMemorySaver())
        state = run(
            graph, {"request": "make three images, one per idea"}, "t6", strategy="plan_execute"
        )
        results = state.values["results"]
        assert {k: r.status for k, r in results.items()} == {
            "h1": "done",
            "h2": "done",
            "h3": "done",
        }
        assert heavy.peak == 1
        assert [j.split(":")[0] for j in get_lease().jobs[-3:]] == ["h1", "h2", "h3"]
    finally:
        registry._specs.pop("fake_heavy")


def test_approve_plan_interrupts_before_heavy_work(fake: FakeChatModel) -> None:
    def fake_render(
        prompt: str, ctx: Annotated[ToolContext | None, InjectedToolArg] = None
    ) -> dict[str, Any]:
        """Fake heavy render.

        Args:
            prompt: What to render.
        """
        raise AssertionError("must not run before approval")

    registry = default_registry()
    registry.add(make_spec(fake_render, category="image", heavy=True, outputs=("image",)))
    try:
        fake.scripts["PlanDraft"] = {
            "steps": [{"id": "r1", "tool": "fake_render", "depends_on": []}]
        }
        graph = build_graph(InMemorySaver())
        state = run(
            graph,
            {"request": "render the intro frame"},
            "t7",
            approve_plan=True,
            strategy="plan_execute",
            proceed_on_guess=True,
        )
        assert state.interrupts and state.interrupts[0].value["plan"][0]["tool"] == "fake_render"
        config = {"configurable": {"thread_id": "t7"}}
        graph.invoke(Command(resume="no"), config, context=Context(approve_plan=True))
        final = graph.get_state(config).values["final"]
        assert "plan rejected by the person" in final["not_done"]
    finally:
        registry._specs.pop("fake_render")
