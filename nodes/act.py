"""act: run one light step attempt (the dispatcher sends one task per ready step).

Light steps of one superstep run concurrently as separate LangGraph tasks, so each finished
step's result is saved as a pending write even if a sibling crashes: a resume never runs it
again. The step record on disk covers the narrower window of a crash between the tool
finishing and the checkpoint write.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from nodes.common import context_of, output_folder
from services.outputs import load_step_record, save_step_record
from state import Artifact, Context, StepResult, StepTask, Thought
from tools.registry import (
    ToolArgumentError,
    ToolContext,
    ToolSpec,
    ToolUnavailableError,
    default_registry,
)


def _writer() -> Any:
    try:
        return get_stream_writer()
    except RuntimeError:  # called outside a graph (tests of the helpers)
        return lambda event: None


def execute(task: StepTask, ctx: Context, spec_override: ToolSpec | None = None) -> StepResult:
    """Run a step attempt once, reusing a finished record of the same attempt if one exists."""
    step, attempt = task["step"], task["attempt"]
    folder = output_folder(ctx)
    cached = load_step_record(folder, step.id, attempt)
    if cached is not None:
        return cached
    spec = spec_override or default_registry().get(step.tool)
    write = _writer()
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
                "step": step.id,
                "tool": step.tool,
                "fraction": round(fraction, 3),
                "message": message,
            }
        )

    write({"event": "step_start", "step": step.id, "tool": step.tool, "attempt": attempt})
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
    except (ToolArgumentError, ToolUnavailableError, ValueError, RuntimeError, OSError) as exc:
        result = StepResult(
            step_id=step.id,
            tool=step.tool,
            status="failed",
            attempt=attempt,
            args=task["args"],
            error=f"{type(exc).__name__}: {exc}"[:500],
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


def act(task: StepTask, runtime: Runtime[Context]) -> dict[str, object]:
    """Run one light step."""
    return report(execute(task, context_of(runtime)), "act")
