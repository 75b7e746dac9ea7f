"""Conditional edges: every route returns a node name (Literal) or the step tasks to send."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from nodes.common import context_of
from nodes.steps import is_heavy, ready_tasks
from services.gpu import get_residency
from state import Context, State
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


def dispatch(state: State) -> list[Send]:
    """Light tasks all at once to ``act``; one heavy task to ``gpu``, resident model first."""
    registry = default_registry()
    tasks = ready_tasks(state)
    light = [t for t in tasks if not is_heavy(t["step"].tool, registry)]
    heavy = [t for t in tasks if is_heavy(t["step"].tool, registry)]
    sends = [Send("act", t) for t in light]
    if heavy:
        resident = set(get_residency().resident())
        heavy.sort(key=lambda t: getattr(registry.get(t["step"].tool), "model", "") not in resident)
        sends.append(Send("gpu", heavy[0]))
    return sends


def route_after_plan(
    state: State, runtime: Runtime[Context]
) -> list[Send] | Literal["approve", "respond"]:
    """Approval first when asked for and heavy work is planned; then run what is ready."""
    ctx = context_of(runtime)
    plan = state.get("plan")
    if ctx.approve_plan and plan and any(is_heavy(s.tool) for s in plan.steps):
        return "approve"
    return dispatch(state) or "respond"


def route_after_approve(state: State) -> list[Send] | Literal["respond"]:
    """Run the approved plan (an empty plan after a rejection ends the run)."""
    return dispatch(state) or "respond"


def route_after_reflect(
    state: State, runtime: Runtime[Context]
) -> list[Send] | Literal["plan", "respond"]:
    """Re-plan when reflect asked to; else run what is ready; ReAct plans its next step."""
    plan = state.get("plan")
    requests = state.get("replan_requests") or []
    if plan is not None and requests and requests[-1].number > plan.replans_done:
        return "plan"
    sends = dispatch(state)
    if sends:
        return sends
    if plan is not None and plan.remaining > 0:
        if len(plan.steps) < context_of(runtime).max_steps:
            return "plan"
    return "respond"
