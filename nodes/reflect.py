"""reflect: accept, retry with better arguments, re-plan, or give up, per evaluated attempt.

Reflexion: the lesson is kept in state and fed to the next attempt and the next plan.
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from nodes import prompts
from nodes.common import context_of
from services.structured import decide, system_user
from state import Context, Decision, Reflection, ReplanRequest, RetryRequest, State, Thought
from tools.registry import default_registry


class Lesson(BaseModel):
    """The model's note for the next attempt."""

    lesson: str = Field(max_length=240)


def _lesson(step_tool: str, reasons: list[str], use_llm: bool) -> tuple[str, Decision | None]:
    plain = "Improve: " + ("; ".join(reasons) or "raise quality")
    if not use_llm:
        return plain[:240], None
    value, decision = decide(
        Lesson,
        system_user(prompts.REFLECT, f"Tool: {step_tool}\nWhy it fell short: {plain}"),
        node="reflect",
        fallback=lambda reason: Lesson(lesson=plain[:240]),
        max_tokens=90,
    )
    return value.lesson, decision


def reflect(state: State, runtime: Runtime[Context]) -> dict[str, object]:
    """Turn fresh evaluations into actions: accept, retry, re-plan, or report below the bar."""
    ctx = context_of(runtime)
    plan = state.get("plan")
    results = state.get("results") or {}
    done = {(r.step_id, r.attempt) for r in state.get("reflections") or []}
    registry = default_registry()
    reflections: list[Reflection] = []
    retries: dict[str, RetryRequest] = {}
    decisions: list[Decision] = []
    failed: list[str] = []
    requests = state.get("replan_requests") or []
    use_llm = plan is not None and plan.strategy == "reflexion"
    for step_id, evaluation in (state.get("evaluations") or {}).items():
        result = results.get(step_id)
        if result is None or (step_id, evaluation.attempt) in done:
            continue
        note = "" if evaluation.judged else " (not judged: checks only)"
        if evaluation.passed:
            reflections.append(
                Reflection(
                    step_id=step_id,
                    attempt=evaluation.attempt,
                    lesson="meets the bar" + note,
                    action="accept",
                )
            )
            continue
        if result.status == "failed":
            action = "replan" if len(requests) < ctx.max_replans else "give_up"
            if action == "replan":
                failed.append(step_id)
            reflections.append(
                Reflection(
                    step_id=step_id,
                    attempt=evaluation.attempt,
                    lesson=f"failed: {result.error[:200]}",
                    action=action,
                )
            )
            continue
        if evaluation.attempt <= ctx.max_iterations:
            spec = registry.get(result.tool)
            lesson, decision = _lesson(result.tool, evaluation.reasons, use_llm)
            if decision:
                decisions.append(decision)
            new_args = (
                spec.improve(result.args, [lesson]) if spec and spec.improve else dict(result.args)
            )
            retries[step_id] = RetryRequest(
                step_id=step_id, attempt=evaluation.attempt + 1, args=new_args, reason=lesson
            )
            reflections.append(
                Reflection(
                    step_id=step_id,
                    attempt=evaluation.attempt,
                    lesson=lesson,
                    action="retry",
                    new_args=new_args,
                )
            )
        else:
            reflections.append(
                Reflection(
                    step_id=step_id,
                    attempt=evaluation.attempt,
                    action="below_bar",
                    lesson=f"still below the bar ({evaluation.score:.2f} < "
                    f"{ctx.quality_threshold:.2f}) after {evaluation.attempt} attempts: "
                    + "; ".join(evaluation.reasons)[:160],
                )
            )
    update: dict[str, object] = {"reflections": reflections, "decisions": decisions}
    if retries:
        update["retries"] = retries
    if failed:
        update["replan_requests"] = [
            ReplanRequest(
                number=len(requests) + 1, failed=failed, reason=f"{', '.join(failed)} failed"
            )
        ]
    if reflections:
        update["thoughts"] = [
            Thought(
                node="reflect",
                text="; ".join(
                    f"{r.step_id}#{r.attempt}: {r.action} ({r.lesson[:100]})" for r in reflections
                ),
            )
        ]
    return update
