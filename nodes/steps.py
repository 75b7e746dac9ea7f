"""Step execution shared by act and gpu: resolve references, run one attempt, record it.

Routes use ``ready_tasks`` to decide what runs next; act and gpu call ``execute`` and
``report``. No node imports another node.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.config import get_config, get_stream_writer

from nodes.common import brief_facts, output_folder
from planning.refs import NO_CHANGE, map_references
from services.llm import LLMUnavailableError
from services.outputs import load_step_record, save_step_record
from services.redact import configured_secrets, redact
from state import Artifact, Context, State, StepResult, StepTask, Thought
from tools.registry import (
    ToolArgumentError,
    ToolContext,
    ToolRegistry,
    ToolSpec,
    ToolUnavailableError,
    default_registry,
)


def resolve(value: Any, state: State) -> Any:
    """``value`` with references to finished steps replaced by their outputs."""
    results = state.get("results") or {}

    def output(step: str, field: str | None) -> Any:
        if step not in results:
            return NO_CHANGE
        data = results[step].output
        return data.get(field) if field else data

    return map_references(value, output)


def is_final(step_id: str, state: State) -> bool:
    """A step whose latest attempt is done and is not waiting for a retry."""
    result = (state.get("results") or {}).get(step_id)
    pending = (state.get("retries") or {}).get(step_id)
    if result is None or result.status != "done":
        return False
    return not (pending and pending.attempt > result.attempt)


def ready_tasks(state: State) -> list[StepTask]:
    """Every step attempt that can run now, with references resolved."""
    plan = state.get("plan")
    if plan is None:
        return []
    results = state.get("results") or {}
    retries = state.get("retries") or {}
    summary = brief_facts(state.get("brief"))
    tasks: list[StepTask] = []
    for step in plan.steps:
        if not all(is_final(dep, state) for dep in step.depends_on):
            continue
        result = results.get(step.id)
        if result is None:
            tasks.append(
                StepTask(step=step, attempt=1, args=resolve(step.args, state), brief=summary)
            )
        elif step.id in retries and retries[step.id].attempt > result.attempt:
            args = {**step.args, **retries[step.id].args}
            tasks.append(
                StepTask(
                    step=step,
                    attempt=retries[step.id].attempt,
                    args=resolve(args, state),
                    brief=summary,
                )
            )
    return tasks


def is_heavy(tool: str, registry: ToolRegistry | None = None) -> bool:
    """Whether ``tool`` must run in the GPU lane."""
    spec = (registry or default_registry()).get(tool)
    return bool(spec and spec.heavy)


def _writer() -> Any:
    try:
        return get_stream_writer()
    except RuntimeError:  # called outside a graph (tests of the helpers)
        return lambda event: None


def _node() -> str:
    """The graph node running this step (act or gpu), named in progress events for Studio."""
    try:
        return str(get_config().get("metadata", {}).get("langgraph_node", ""))
    except RuntimeError:
        return ""


def execute(task: StepTask, ctx: Context, spec_override: ToolSpec | None = None) -> StepResult:
    """Run a step attempt once, reusing a finished record of the same attempt if one exists."""
    step, attempt = task["step"], task["attempt"]
    folder = output_folder(ctx)
    cached = load_step_record(folder, step.id, attempt)
    if cached is not None:
        return cached
    spec = spec_override or default_registry().get(step.tool)
    write = _writer()
    node = _node()
    started = time.perf_counter()
    if spec is None:
        return StepResult(
            step_id=step.id,
            tool=step.tool,
            status="failed",
            attempt=attempt,
            args=task["args"],
            error=f"tool {step.tool!r} is not registered",
        )

    def progress(fraction: float, message: str) -> None:
        write(
            {
                "event": "progress",
                "node": node,
                "step": step.id,
                "tool": step.tool,
                "fraction": round(fraction, 3),
                "message": message,
            }
        )

    write(
        {
            "event": "step_start",
            "node": node,
            "step": step.id,
            "tool": step.tool,
            "attempt": attempt,
        }
    )
    tool_ctx = ToolContext(
        run_dir=folder,
        step_id=step.id,
        attempt=attempt,
        brief=task.get("brief", ""),
        progress=progress,
    )
    try:
        args = spec.validate(task["args"])
        output = spec.run(args, tool_ctx)
        artifacts = [Artifact.model_validate(a) for a in output.pop("artifacts", [])]
        result = StepResult(
            step_id=step.id,
            tool=step.tool,
            status="done",
            attempt=attempt,
            args=args,
            output=output,
            artifacts=artifacts,
            seconds=round(time.perf_counter() - started, 3),
        )
    except LLMUnavailableError:
        # The model is down, not the step: stop the run (checkpointed, exit 4 with the resume
        # command) instead of recording a failure that would re-plan around an outage.
        raise
    except (ToolArgumentError, ToolUnavailableError, ValueError, RuntimeError, OSError) as exc:
        result = StepResult(
            step_id=step.id,
            tool=step.tool,
            status="failed",
            attempt=attempt,
            args=task["args"],
            # A tool's error may quote a URL with its password (docs/reliability.md).
            error=redact(f"{type(exc).__name__}: {exc}", configured_secrets(tool_ctx.settings))[
                :500
            ],
            seconds=round(time.perf_counter() - started, 3),
        )
    save_step_record(folder, result)
    write({"event": "step_end", "step": step.id, "status": result.status})
    return result


def report(result: StepResult, lane: str) -> dict[str, object]:
    """The state update for one finished attempt."""
    text = (
        f"{lane} {result.step_id} ({result.tool}) attempt {result.attempt}: {result.status}"
        f" in {result.seconds:.2f}s" + (f" - {result.error}" if result.error else "")
    )
    return {"results": {result.step_id: result}, "thoughts": [Thought(node=lane, text=text)]}
