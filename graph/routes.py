"""Conditional edges: every route returns a node name (Literal) or the step tasks to send."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from nodes.common import context_of
from nodes.plan_rules import DELIVERABLE_TOOL, NO_CHANGE, map_references
from services.gpu import get_residency
from state import Context, State, Step, StepTask
from tools.registry import default_registry


def route_after_understand(
    state: State, runtime: Runtime[Context]
) -> Literal["clarify", "retrieve"]:
    """Ask the person when understanding is weak (at most twice), unless told to guess."""
    ctx = context_of(runtime)
    intent = state.get("intent")
    asked = len(state.get("clarifications") or [])
    if intent is None or ctx.proceed_on_guess or asked >= 2:
        return "retrieve"
    return "clarify" if intent.confidence < ctx.clarify_threshold else "retrieve"


def _resolve(value: Any, state: State) -> Any:
    """``value`` with references to finished steps replaced by their outputs."""
    results = state.get("results") or {}

    def output(step: str, field: str | None) -> Any:
        if step not in results:
            return NO_CHANGE
        data = results[step].output
        return data.get(field) if field else data

    return map_references(value, output)


def _final(step_id: str, state: State) -> bool:
    """A step whose latest attempt is done and is not waiting for a retry."""
    result = (state.get("results") or {}).get(step_id)
    pending = (state.get("retry_args") or {}).get(step_id)
    if result is None or result.status != "done":
        return False
    return not (pending and pending["attempt"] > result.attempt)


def ready_tasks(state: State) -> list[StepTask]:
    """Every step attempt that can run now, with references resolved."""
    plan = state.get("plan")
    if plan is None:
        return []
    results = state.get("results") or {}
    retry = state.get("retry_args") or {}
    brief = state.get("brief")
    summary = brief.summary if brief else ""
    tasks: list[StepTask] = []
    for step in plan.steps:
        if not all(_final(dep, state) for dep in step.depends_on):
            continue
        result = results.get(step.id)
        if result is None:
            tasks.append(
                StepTask(step=step, attempt=1, args=_resolve(step.args, state), brief=summary)
            )
        elif step.id in retry and retry[step.id]["attempt"] > result.attempt:
            args = {**step.args, **retry[step.id]["args"]}
            tasks.append(
                StepTask(
                    step=step,
                    attempt=retry[step.id]["attempt"],
                    args=_resolve(args, state),
                    brief=summary,
                )
            )
    return tasks


def _is_heavy(step: Step) -> bool:
    spec = default_registry().get(step.tool)
    return bool(spec and spec.heavy)


def dispatch(state: State) -> list[Send]:
    """Light tasks all at once to ``act``; one heavy task to ``gpu``, resident model first."""
    tasks = ready_tasks(state)
    light = [t for t in tasks if not _is_heavy(t["step"])]
    heavy = [t for t in tasks if _is_heavy(t["step"])]
    sends = [Send("act", t) for t in light]
    if heavy:
        resident = set(get_residency().resident())
        registry = default_registry()
        heavy.sort(key=lambda t: getattr(registry.get(t["step"].tool), "model", "") not in resident)
        sends.append(Send("gpu", heavy[0]))
    return sends


def route_after_plan(
    state: State, runtime: Runtime[Context]
) -> list[Send] | Literal["approve", "respond"]:
    """Approval first when asked for and heavy work is planned; then run what is ready."""
    ctx = context_of(runtime)
    plan = state.get("plan")
    if ctx.approve_plan and plan and any(_is_heavy(s) for s in plan.steps):
        return "approve"
    return dispatch(state) or "respond"


def route_after_approve(state: State) -> list[Send] | Literal["respond"]:
    """Run the approved plan (an empty plan after a rejection ends the run)."""
    return dispatch(state) or "respond"


def _uncovered(state: State) -> bool:
    intent, plan = state.get("intent"), state.get("plan")
    if intent is None or plan is None:
        return False
    tools = {s.tool for s in plan.steps}
    blocked = {n.split(":")[0] for n in plan.unavailable}
    wanted = {DELIVERABLE_TOOL[d] for d in intent.deliverables if d in DELIVERABLE_TOOL}
    return bool(wanted - tools - blocked)


def route_after_reflect(
    state: State, runtime: Runtime[Context]
) -> list[Send] | Literal["plan", "respond"]:
    """Retry or continue ready steps; re-plan after a failure; ReAct plans its next step."""
    plan = state.get("plan")
    if plan is not None and (state.get("replans") or 0) >= plan.version:
        return "plan"  # reflect asked for a re-plan (each re-plan bumps the plan version)
    sends = dispatch(state)
    if sends:
        return sends
    if plan is not None and plan.strategy == "react" and _uncovered(state):
        if len(plan.steps) < context_of(runtime).max_steps:
            return "plan"
    return "respond"
