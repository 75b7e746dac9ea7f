from typing import Any

from graph.routes import dispatch, route_after_reflect, route_after_understand
from nodes.steps import ready_tasks
from state import Context, Intent, Plan, ReplanRequest, RetryRequest, Step, StepResult


class _Runtime:
    def __init__(self, **ctx: Any) -> None:
        self.context = Context(**ctx)


def _plan() -> Plan:
    return Plan(
        steps=[
            Step(id="s1", tool="write_dialogue", args={"characters": ["A"], "premise": "p"}),
            Step(id="s2", tool="synthesize_voice", args={"lines": "$s1.lines"}, depends_on=["s1"]),
            Step(id="s3", tool="assemble_scene", args={"clips": "$s2.clips"}, depends_on=["s2"]),
        ]
    )


def _done(step_id: str, tool: str, output: dict[str, Any], attempt: int = 1) -> StepResult:
    return StepResult(step_id=step_id, tool=tool, status="done", attempt=attempt, output=output)


def test_understand_route() -> None:
    low = {"intent": Intent(goal="x", confidence=0.1)}
    assert route_after_understand(low, _Runtime()) == "clarify"  # type: ignore[arg-type]
    assert route_after_understand(low, _Runtime(proceed_on_guess=True)) == "retrieve"  # type: ignore[arg-type]
    asked = {**low, "clarifications": [object(), object()]}
    assert route_after_understand(asked, _Runtime()) == "retrieve"  # type: ignore[arg-type]


def test_ready_tasks_follow_dependencies_and_resolve_references() -> None:
    state: dict[str, Any] = {"plan": _plan()}
    assert [t["step"].id for t in ready_tasks(state)] == ["s1"]  # type: ignore[arg-type]
    state["results"] = {
        "s1": _done("s1", "write_dialogue", {"lines": [{"character": "A", "text": "hi"}]})
    }
    tasks = ready_tasks(state)  # type: ignore[arg-type]
    assert [t["step"].id for t in tasks] == ["s2"]
    assert tasks[0]["args"]["lines"] == [{"character": "A", "text": "hi"}]


def test_pending_retry_blocks_dependents_and_reruns_with_new_args() -> None:
    state: dict[str, Any] = {
        "plan": _plan(),
        "results": {"s1": _done("s1", "write_dialogue", {"lines": []})},
        "retries": {"s1": RetryRequest(step_id="s1", attempt=2, args={"n_lines": 8})},
    }
    tasks = ready_tasks(state)  # type: ignore[arg-type]
    assert [(t["step"].id, t["attempt"]) for t in tasks] == [("s1", 2)]
    assert tasks[0]["args"]["n_lines"] == 8 and tasks[0]["args"]["premise"] == "p"


def test_failed_dependency_blocks_and_reflect_routes() -> None:
    failed = StepResult(step_id="s1", tool="write_dialogue", status="failed", error="boom")
    state: dict[str, Any] = {"plan": _plan(), "results": {"s1": failed}}
    assert dispatch(state) == []  # type: ignore[arg-type]
    assert route_after_reflect(state, _Runtime()) == "respond"  # type: ignore[arg-type]
    state["replan_requests"] = [ReplanRequest(number=1, failed=["s1"])]
    assert route_after_reflect(state, _Runtime()) == "plan"  # type: ignore[arg-type]
    state["plan"] = _plan().model_copy(update={"replans_done": 1})  # the re-plan answered it
    assert route_after_reflect(state, _Runtime()) == "respond"  # type: ignore[arg-type]


def test_react_replan_is_not_dropped() -> None:
    # A ReAct plan's version grows with every step; a re-plan request must still be seen.
    failed = StepResult(step_id="s1", tool="write_dialogue", status="failed", error="boom")
    react = _plan().model_copy(update={"strategy": "react", "version": 4, "remaining": 1})
    state: dict[str, Any] = {
        "plan": react,
        "results": {"s1": failed},
        "replan_requests": [ReplanRequest(number=1, failed=["s1"])],
    }
    assert route_after_reflect(state, _Runtime()) == "plan"  # type: ignore[arg-type]
