"""The typed shared state of a run, with reducers that keep concurrent branches safe.

Step results, evaluations and reflections merge by key; thoughts and decisions only append,
so parallel steps and resumed runs never lose each other's results.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import Field
from typing_extensions import TypedDict

from state.models import (
    Brief,
    Clarification,
    Decision,
    Evaluation,
    Intent,
    Plan,
    Reflection,
    ReplanRequest,
    RetryRequest,
    Step,
    StepResult,
    Thought,
)


def merge_by_id(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Merge keyed records: keys on the right replace the same keys on the left, others stay."""
    merged = dict(left or {})
    merged.update(right or {})
    return merged


class InputState(TypedDict, total=False):
    """What a caller sends: a request (or chat messages, as LangGraph Studio sends)."""

    # Field descriptions (not only docstrings) are what LangGraph Studio shows in its input form.
    request: Annotated[str, Field(description="The creative request in plain words.")]
    """The creative request in plain words."""
    messages: Annotated[
        list[AnyMessage],
        Field(description="Chat messages; the last human one is the request when it is empty."),
        add_messages,  # the reducer must stay last: LangGraph reads it from the last metadata
    ]
    """Chat messages; the last human message is the request when `request` is empty."""


class State(InputState, total=False):
    """Everything a run knows. Written only through node return values."""

    intent: Intent | None
    """What the director understood (goal, deliverables, characters, confidence)."""
    clarifications: Annotated[list[Clarification], operator.add]
    """Questions asked and answers received, in order."""
    brief: Brief | None
    """Knowledge retrieved for this request, synthesized, with sources."""
    plan: Plan | None
    """The current validated step DAG (replaced on re-plan; `version` counts)."""
    results: Annotated[dict[str, StepResult], merge_by_id]
    """Latest result per step id (merged, so parallel steps never overwrite each other)."""
    evaluations: Annotated[dict[str, Evaluation], merge_by_id]
    """Latest evaluation per step id."""
    reflections: Annotated[list[Reflection], operator.add]
    """Reflexion memory: lessons and the actions taken (append-only)."""
    retries: Annotated[dict[str, RetryRequest], merge_by_id]
    """Reflect's request for a step's next attempt (improved arguments), keyed by step id."""
    replan_requests: Annotated[list[ReplanRequest], operator.add]
    """Reflect's requests to re-plan after failed steps (append-only, numbered from 1)."""
    thoughts: Annotated[list[Thought], operator.add]
    """The visible thought chain (append-only)."""
    decisions: Annotated[list[Decision], operator.add]
    """How every typed LLM decision was obtained, fallbacks included (append-only)."""
    final: dict[str, Any] | None
    """The final report: summary, artifacts, scores, what could not be done."""


class StepTask(TypedDict):
    """What the dispatcher sends to ``act`` or ``gpu`` for one step attempt (via ``Send``)."""

    step: Step
    """The plan step to run."""
    attempt: int
    """1 for the first try, then 2, 3, ... for retries."""
    args: dict[str, Any]
    """Arguments with references to earlier outputs already resolved."""
    brief: NotRequired[str]
    """The knowledge brief for the tool's prompt (characters, style), if any."""
