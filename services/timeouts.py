"""A wall-clock limit for a tool call, so a hung tool fails its step instead of the run.

Python cannot kill a thread, so a tool that overruns is abandoned, not stopped: it runs on in
a daemon thread and whatever it writes later is not part of the step (the step already
failed, and its retry writes its own files). docs/reliability.md lists this as a limit.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ToolTimeoutError(RuntimeError):
    """A tool ran past its time limit; the message names the setting that raises it."""


def call_with_timeout(fn: Callable[[], T], timeout_s: float | None, what: str) -> T:
    """``fn()``, or ToolTimeoutError when it has not returned after ``timeout_s`` seconds.

    The call runs in a copy of the caller's context (LangGraph's config and stream writer
    stay reachable). ``timeout_s`` None or <= 0 means no limit (a plain call).
    """
    if timeout_s is None or timeout_s <= 0:
        return fn()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(target,), name=f"tool:{what}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise ToolTimeoutError(
            f"{what} did not finish within {timeout_s:g} s and was abandoned. Raise "
            "agent.tool_timeout_s (ANIMAGENT_AGENT__TOOL_TIMEOUT_S) for slow hardware."
        )
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
