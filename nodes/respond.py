"""respond: the final report, the run's manifest.json, and learning from accepted results."""

from __future__ import annotations

import importlib
import time
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from configs.settings import get_settings
from nodes import outcome
from nodes.common import context_of, effective_request, output_folder, thread_id
from nodes.web import offer_answers
from planning.memory import record_plan
from services.outputs import atomic_write_json
from services.redact import configured_secrets, redact_data
from services.report import write_report_safely
from state import Context, State, Thought
from tools.registry import default_registry


def _learn(state: State, ctx: Context, folder: Any) -> list[str]:
    """Write results accepted above the bar to past_generations (knowledge tools installed).

    A request that tries to override instructions is handled as creative text, but nothing of
    it is remembered: later runs must never retrieve it.
    """
    intent = state.get("intent")
    if not get_settings().knowledge.enabled or (intent and intent.constraints.injection):
        return []
    try:
        knowledge = importlib.import_module("tools.knowledge")
    except ModuleNotFoundError:
        return []
    stored = []
    evaluations = state.get("evaluations") or {}
    for step_id, result in (state.get("results") or {}).items():
        evaluation = evaluations.get(step_id)
        if result.status != "done" or evaluation is None or not evaluation.passed:
            continue
        try:
            lessons = [
                r.lesson
                for r in state.get("reflections") or []
                if r.step_id == step_id and r.action == "retry"
            ]
            knowledge.record_generation(
                request=effective_request(state),
                step=result,
                score=evaluation.score,
                run_dir=folder,
                lessons=lessons,
            )
            stored.append(step_id)
        except Exception:  # learning is best effort; the run's own files are what matter
            continue
    return stored


def _learn_plan(request: str, steps: list[Any]) -> str:
    """Remember a plan that made everything asked for, for the next similar request."""
    try:
        record_plan(get_settings(), request, steps)
    except Exception as exc:  # learning is best effort; the run's own files are what matter
        return f"plan not recorded ({str(exc)[:80]})"
    return "plan"


def respond(state: State, runtime: Runtime[Context]) -> dict[str, object]:
    """Summarize what was made and what was not (and why), write the manifest, learn."""
    ctx = context_of(runtime)
    folder = output_folder(ctx)
    results = state.get("results") or {}
    evaluations = state.get("evaluations") or {}
    plan = state.get("plan")
    intent = state.get("intent")
    registry = default_registry()
    made: dict[str, Any] = {}
    artifacts = []
    for step_id, result in results.items():
        for artifact in result.artifacts:
            artifacts.append({**artifact.model_dump(), "step": step_id})
        if result.status == "done":
            evaluation = evaluations.get(step_id)
            made[step_id] = {
                "tool": result.tool,
                "attempts": result.attempt,
                "score": evaluation.score if evaluation else None,
                "passed": bool(evaluation and evaluation.passed),
                "judged": bool(evaluation and evaluation.judged),
            }
    dialogue = next(
        (
            r.output.get("script")
            for r in results.values()
            if (spec := registry.get(r.tool)) and spec.makes == "dialogue" and r.status == "done"
        ),
        "",
    )
    answer = next(
        (
            str(r.output.get("answer", ""))
            for r in results.values()
            if (spec := registry.get(r.tool)) and spec.makes == "answer" and r.status == "done"
        ),
        "",
    )
    entries = outcome.deliverables(intent, plan, results, evaluations, registry)
    status = outcome.status_of(entries, plan, results)
    missing = outcome.not_done(entries)
    unjudged = [k for k, e in evaluations.items() if not e.judged and k in results]
    learned = _learn(state, ctx, folder)
    offered, not_offered = offer_answers(state, thread_id(), get_settings())
    plan_learned = ""
    if status == "complete" and learned and plan is not None and plan.steps:
        plan_learned = _learn_plan(effective_request(state), plan.steps)
    lines = [f"Request: {effective_request(state)}"]
    if dialogue:
        lines.append(f"Dialogue:\n{dialogue}")
    brief = state.get("brief")
    for item in brief.items if brief is not None else []:
        if item.collection == "web":  # the retrieve node's web answer, with its sources
            lines.append(f"From the web:\n{item.text}")
    for r in results.values():
        if (spec := registry.get(r.tool)) and spec.makes == "answer" and r.status == "done":
            lines.append(f"Answer:\n{r.output.get('answer', '')}")
    if artifacts:
        lines.append("Files: " + ", ".join(a["path"] for a in artifacts))
    for offer in offered:
        why = f"{offer['step']}: {'; '.join(offer['reasons'])}"
        if offer["status"] == "offered":
            lines.append(
                f"Offered to the knowledge base ({why}): "
                f"`animagent offers accept {offer['id'][:8]}` makes it retrievable"
            )
        else:  # a resumed run: the person already decided
            lines.append(f"Web answer {offer['id'][:8]} was already {offer['status']} ({why})")
    if intent is not None and intent.constraints.injection and not intent.deliverables:
        lines.append(
            "Nothing made: the request only tries to change or reveal the agent's instructions, "
            "which it treats as data. Say what to make (a dialogue, voices, images, a scene) or "
            "ask a question."
        )
    if unjudged:
        lines.append(f"Not judged (no judge could score them; checks only): {unjudged}")
    if missing:
        lines.append("Not done: " + "; ".join(missing))
    lines.append(
        "Outcome: complete"
        if status == "complete"
        else "Outcome: INCOMPLETE — not everything asked for was made at the quality bar"
    )
    summary = "\n".join(lines)
    final = {
        "thread_id": thread_id(),
        "request": effective_request(state),
        "output_dir": str(folder),
        "status": status,
        "exit_code": outcome.EXIT_DONE if status == "complete" else outcome.EXIT_INCOMPLETE,
        "deliverables": entries,
        "answer": answer,
        "constraints": intent.constraints.model_dump() if intent else {},
        "strategy": plan.strategy if plan else None,
        "plan": [s.model_dump() for s in plan.steps] if plan else [],
        "plan_repairs": plan.repairs if plan else [],
        "steps": made,
        "scores": {k: v.score for k, v in evaluations.items()},
        "artifacts": artifacts,
        "not_done": missing,
        "learned": learned,
        "learned_plan": plan_learned,
        "web_offers": offered,
        "web_not_offered": not_offered,
        "decisions": [d.model_dump() for d in state.get("decisions") or []],
        "thoughts": [t.text for t in state.get("thoughts") or []],
        "finished_at": time.time(),
        "summary": summary,
    }
    # Step errors and thoughts may quote a URL with a password or an API key (docs/reliability.md).
    final = redact_data(final, configured_secrets(get_settings()))
    atomic_write_json(folder / "manifest.json", final)
    write_report_safely(folder, final, state)  # report.html; a failure there never fails the run
    return {
        "final": final,
        "messages": [AIMessage(content=summary)],
        "thoughts": [Thought(node="respond", text=f"Wrote {folder / 'manifest.json'}")],
    }
