"""A hung tool fails its step after agent.tool_timeout_s; a quick one is unaffected."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.tools import InjectedToolArg

from configs.settings import Settings
from services.timeouts import ToolTimeoutError, call_with_timeout
from tools.registry import ToolContext, make_spec

RELEASE = threading.Event()


def hang(
    note: str = "", ctx: Annotated[ToolContext | None, InjectedToolArg] = None
) -> dict[str, Any]:
    """Never returns until released.

    Args:
        note: Unused.
    """
    RELEASE.wait(30)
    return {"value": "late"}


def quick(
    note: str = "", ctx: Annotated[ToolContext | None, InjectedToolArg] = None
) -> dict[str, Any]:
    """Returns at once.

    Args:
        note: Echoed.
    """
    return {"value": note}


def test_a_hung_tool_times_out_with_the_setting_named(tmp_path: Path) -> None:
    settings = Settings(agent={"tool_timeout_s": 0.3})
    ctx = ToolContext(run_dir=tmp_path, settings=settings)
    started = time.perf_counter()
    try:
        with pytest.raises(ToolTimeoutError, match="ANIMAGENT_AGENT__TOOL_TIMEOUT_S"):
            make_spec(hang, category="test").run({"note": ""}, ctx)
    finally:
        RELEASE.set()  # let the abandoned thread end
    assert time.perf_counter() - started < 5


def test_a_quick_tool_and_its_errors_pass_through(tmp_path: Path) -> None:
    ctx = ToolContext(run_dir=tmp_path, settings=Settings(agent={"tool_timeout_s": 5}))
    assert make_spec(quick, category="test").run({"note": "hi"}, ctx) == {"value": "hi"}

    def broken() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        call_with_timeout(broken, 5, "broken")
    assert call_with_timeout(lambda: 7, 0, "no limit") == 7
