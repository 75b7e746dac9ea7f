"""gpu: the single lane for heavy tools (image models, GPU voices).

Only one heavy step runs at a time: the dispatcher sends at most one heavy task per superstep,
preferring a step whose model is already resident, and the lease serializes heavy work
across threads and processes on the machine. On CUDA out-of-memory the lane frees every
resident model, retries once with smaller parameters, then fails the step with a clear message.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from nodes.common import context_of, output_folder
from nodes.steps import execute, report
from services.gpu import get_lease, get_residency
from services.outputs import forget_step_record
from state import Context, StepTask
from tools.registry import default_registry

OOM_HINT = (
    "out of GPU memory even after freeing resident models and shrinking the job: lower "
    "ANIMAGENT_IMAGE__WIDTH/HEIGHT, or free the card from other programs"
)


def is_oom(error: str) -> bool:
    """Whether a step error is a CUDA out-of-memory."""
    text = error.lower()
    return "out of memory" in text or "outofmemoryerror" in text


def smaller(args: dict[str, Any]) -> dict[str, Any]:
    """The same job, cheaper: 3/4 of the resolution (multiples of 8), tiled VAE if offered."""
    new = dict(args)
    for key in ("width", "height"):
        if isinstance(new.get(key), int):
            new[key] = max(256, int(new[key] * 0.75) // 8 * 8)
    new.setdefault("tiled_vae", True)
    return new


def gpu(task: StepTask, runtime: Runtime[Context]) -> dict[str, object]:
    """Run one heavy step under the GPU lease."""
    ctx = context_of(runtime)
    step = task["step"]
    spec = default_registry().get(step.tool)
    with get_lease().hold(f"{step.id}:{step.tool}"):
        result = execute(task, ctx)
        if result.status == "failed" and is_oom(result.error):
            get_residency().free_all()
            fields = spec.arg_schema().get("properties", {}) if spec else {}
            retry_args = {k: v for k, v in smaller(task["args"]).items() if k in fields}
            retry = StepTask(
                step=step, attempt=task["attempt"], args=retry_args, brief=task.get("brief", "")
            )
            forget_step_record(output_folder(ctx), step.id, task["attempt"])
            result = execute(retry, ctx)
            if result.status == "failed" and is_oom(result.error):
                result.error = f"{result.error} ({OOM_HINT})"
    return report(result, "gpu")
