"""Per-run knobs (LangGraph ``context_schema``): what a person changes in Studio or per call.

Defaults come from the settings (configs/ is the one package below state/). A call without
``context=`` still works: nodes use ``runtime.context or Context()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from configs.settings import get_settings


def _agent_default(name: str) -> object:
    return getattr(get_settings().agent, name)


def _knob(name: str, description: str) -> object:
    return field(
        default_factory=lambda: _agent_default(name), metadata={"description": description}
    )


@dataclass(kw_only=True)
class Context:
    """Run configuration shown as Studio's form; every field has a settings default."""

    quality_threshold: float = _knob(  # type: ignore[assignment]
        "quality_threshold", "A step scoring below this (0..1) is retried."
    )
    max_iterations: int = _knob("max_iterations", "Retries per step.")  # type: ignore[assignment]
    max_replans: int = _knob(  # type: ignore[assignment]
        "max_replans", "Re-plans allowed after a failed step."
    )
    strategy: Literal["auto", "plan_execute", "react", "cot", "tot", "reflexion"] = _knob(  # type: ignore[assignment]
        "strategy", "Reasoning strategy; auto chooses per task."
    )
    clarify_threshold: float = _knob(  # type: ignore[assignment]
        "clarify_threshold", "Understanding confidence below this asks the person."
    )
    proceed_on_guess: bool = _knob(  # type: ignore[assignment]
        "proceed_on_guess", "Never stop to ask; continue with the best guess."
    )
    approve_plan: bool = _knob(  # type: ignore[assignment]
        "approve_plan", "Pause for approval before heavy (GPU) work starts."
    )
    web_search: bool = _knob("web_search", "Allow web search.")  # type: ignore[assignment]
    top_k: int = _knob("top_k", "Knowledge results per query.")  # type: ignore[assignment]
    tot_branches: int = _knob(  # type: ignore[assignment]
        "tot_branches", "Tree-of-Thoughts beam width: candidate plans kept per level."
    )
    tot_depth: int = _knob(  # type: ignore[assignment]
        "tot_depth", "Tree-of-Thoughts depth: levels of extending the kept plans."
    )
    max_steps: int = _knob("max_steps", "Plan size limit.")  # type: ignore[assignment]
    output_subdir: str = field(
        default="", metadata={"description": "Output folder name (default: the thread id)."}
    )
