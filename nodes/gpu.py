"""gpu: the single lane for heavy tools (image models, GPU voices).

Only one heavy step runs at a time: the dispatcher sends at most one heavy task per superstep,
preferring a step whose model is already resident, and the lease serializes heavy work
across threads and processes on the machine. On CUDA out-of-memory the lane climbs a ladder,
freeing every resident model before each rung: the same job with tiled VAE decode, then at
3/4 of the size, then with CPU offload; if all run out of memory the step fails with a message
naming the fix. Only this step's attempt is redone: every other step's results stay as made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime

from nodes.common import context_of, output_folder
from nodes.steps import execute, report
from services.gpu import get_lease, get_residency
from services.outputs import forget_step_record
from state import Context, StepResult, StepTask
from tools.registry import ToolSpec, default_registry

OOM_HINT = (
    "out of GPU memory even after freeing resident models, tiling the VAE decode, shrinking "
    "the image and offloading to the CPU: lower ANIMAGENT_IMAGE__WIDTH/HEIGHT, or free the "
    "card from other programs (see `animagent doctor` for its free memory)"
)


def is_oom(error: str) -> bool:
    """Whether a step error is a CUDA out-of-memory."""
    text = error.lower()
    return "out of memory" in text or "outofmemoryerror" in text


def smaller(args: dict[str, Any]) -> dict[str, Any]:
    """The same job, cheaper: 3/4 of the resolution (multiples of 8, not below 64)."""
    new = dict(args)
    for key in ("width", "height"):
        if isinstance(new.get(key), int) and new[key] > 0:
            new[key] = max(64, int(new[key] * 0.75) // 8 * 8)
    return new


def rungs(args: dict[str, Any], defaults: dict[str, int]) -> list[tuple[str, dict[str, Any]]]:
    """The retry ladder after an out-of-memory error: (what changed, new arguments)."""
    sized = {k: (args.get(k) or defaults.get(k, 0)) for k in ("width", "height")}
    tiled = {**args, "tiled_vae": True}
    small = smaller({**tiled, **sized})
    return [
        ("the same job after freeing memory", dict(args)),
        ("tiled VAE decode", tiled),
        (f"smaller size {small.get('width')}x{small.get('height')}", small),
        ("CPU offload", {**small, "cpu_offload": True}),
    ]


def climb(
    task: StepTask,
    run: Callable[[StepTask], StepResult],
    free: Callable[[], None],
    spec: ToolSpec | None,
    defaults: dict[str, int],
) -> StepResult:
    """Run ``task``; on out-of-memory free memory and retry down the ladder."""
    result = run(task)
    if result.status != "failed" or not is_oom(result.error):
        return result
    fields = spec.arg_schema().get("properties", {}) if spec else {}
    tried: list[str] = []
    previous: dict[str, Any] | None = None
    for label, args in rungs(task["args"], defaults):
        retry_args = {k: v for k, v in args.items() if k in fields or k in task["args"]}
        if retry_args == previous:
            continue  # this rung changes nothing this tool understands
        previous = retry_args
        free()
        tried.append(label)
        retry = StepTask(
            step=task["step"], attempt=task["attempt"], args=retry_args, brief=task.get("brief", "")
        )
        result = run(retry)
        if result.status != "failed" or not is_oom(result.error):
            if result.status == "done":
                result.output["memory_ladder"] = tried
            return result
    result.error = f"{result.error} (tried: {', '.join(tried) or 'nothing'}; {OOM_HINT})"
    return result


def gpu(task: StepTask, runtime: Runtime[Context]) -> dict[str, object]:
    """Run one heavy step under the GPU lease."""
    ctx = context_of(runtime)
    step = task["step"]
    spec = default_registry().get(step.tool)
    residency = get_residency()
    folder = output_folder(ctx)

    def run(attempt_task: StepTask) -> StepResult:
        if attempt_task is not task:  # a rung: the failed record of this attempt must go
            forget_step_record(folder, step.id, attempt_task["attempt"])
        return execute(attempt_task, ctx)

    from configs.settings import get_settings

    image = get_settings().image
    with get_lease().hold(f"{step.id}:{step.tool}"):
        result = climb(
            task,
            run,
            residency.free_all,
            spec,
            {"width": image.width, "height": image.height},
        )
    return report(result, "gpu")
