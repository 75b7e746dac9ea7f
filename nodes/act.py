"""act: run one light step attempt (the dispatcher sends one task per ready step).

Light steps of one superstep run concurrently as separate LangGraph tasks, so each finished
step's result is saved as a pending write even if a sibling crashes: a resume never runs it
again. The step record on disk covers the narrower window of a crash between the tool
finishing and the checkpoint write.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from nodes.common import context_of
from nodes.steps import execute, report
from state import Context, StepTask


def act(task: StepTask, runtime: Runtime[Context]) -> dict[str, object]:
    """Run one light step."""
    return report(execute(task, context_of(runtime)), "act")
