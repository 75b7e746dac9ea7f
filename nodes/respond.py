"""respond: the final report, the run's manifest.json, and learning from accepted results."""

from __future__ import annotations

import importlib
import time
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from configs.settings import get_settings
from nodes.common import context_of, effective_request, output_folder, thread_id
from services.outputs import atomic_write_json
from state import Context, State, Thought


def _not_done(state: State) -> list[str]:
    plan = state.get("plan")
    results = state.get("results") or {}
    missing = list(plan.unavailable) if plan else []
    for step in plan.steps if plan else []:
        result = results.get(step.id)
        if result is None:
            blockers = [
                d for d in step.depends_on if results.get(d) is None or results[d].status != "done"
            ]
            missing.append(
                f"{step.id} ({step.tool}) not run: "
                f"waiting on failed {', '.join(blockers) or 'steps'}"
            )
        elif result.status == "failed":
            missing.append(f"{step.id} ({step.tool}) failed: {result.error}")
    return missing


def _learn(state: State, ctx: Context, folder: Any) -> list[str]:
    """Write accepted results to past_generations when the knowledge tools are installed."""
    if not get_settings().knowledge.enabled:
        return []
    try:
        knowledge = importlib.import_module("tools.knowledge")
    except ModuleNotFoundError:
        return []
    stored = []
    evaluations = state.get("evaluations") or {}
    for step_id, result in (state.get("results") or {}).items():
        evaluation = evaluations.get(step_id)
        if (
            result.status != "done"
            or evaluation is None
            or evaluation.score < ctx.quality_threshold
        ):
            continue
        try:
            knowledge.record_generation(
                request=effective_request(state),
                step=result,
                score=evaluation.score,
                run_dir=folder,
            )
            stored.append(step_id)
        except Exception:  # learning is best effort; the run's own files are what matter
            continue
    return stored


def respond(state: State, runtime: Runtime[Context]) -> dict[str, object]:
    """Summarize what was made, write the manifest, remember the successes."""
    ctx = context_of(runtime)
    folder = output_folder(ctx)
    results = state.get("results") or {}
    evaluations = state.get("evaluations") or {}
    plan = state.get("plan")
    intent = state.get("intent")
    made: dict[str, Any] = {}
    artifacts = []
    for step_id, result in results.items():
        for artifact in result.artifacts:
            artifacts.append({**artifact.model_dump(), "step": step_id})
        if result.status == "done":
            made[step_id] = {
                "tool": result.tool,
                "attempts": result.attempt,
                "score": evaluations[step_id].score if step_id in evaluations else None,
            }
    dialogue = next(
        (
            r.output.get("script")
            for r in results.values()
            if r.tool == "write_dialogue" and r.status == "done"
        ),
        "",
    )
    not_done = _not_done(state)
    learned = _learn(state, ctx, folder)
    lines = [f"Request: {effective_request(state)}"]
    if dialogue:
        lines.append(f"Dialogue:\n{dialogue}")
    if artifacts:
        lines.append("Files: " + ", ".join(a["path"] for a in artifacts))
    if not results and intent is not None and intent.deliverables == ["answer"]:
        lines.append("Nothing to make: the request asks for no dialogue, voice, image or scene.")
    if not_done:
        lines.append("Not done: " + "; ".join(not_done))
    summary = "\n".join(lines)
    final = {
        "thread_id": thread_id(),
        "request": effective_request(state),
        "output_dir": str(folder),
        "strategy": plan.strategy if plan else None,
        "plan": [s.model_dump() for s in plan.steps] if plan else [],
        "plan_repairs": plan.repairs if plan else [],
        "steps": made,
        "scores": {k: v.score for k, v in evaluations.items()},
        "artifacts": artifacts,
        "not_done": not_done,
        "learned": learned,
        "decisions": [d.model_dump() for d in state.get("decisions") or []],
        "thoughts": [t.text for t in state.get("thoughts") or []],
        "finished_at": time.time(),
        "summary": summary,
    }
    atomic_write_json(folder / "manifest.json", final)
    return {
        "final": final,
        "messages": [AIMessage(content=summary)],
        "thoughts": [Thought(node="respond", text=f"Wrote {folder / 'manifest.json'}")],
    }
