"""Domain models shared by every node: what the director understood, planned, made and judged.

These import nothing of ours. LLM-facing shapes (what the model is asked to fill) live next to
the node that asks; the models here are the validated results kept in the graph state.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

Deliverable = Literal["dialogue", "voice", "image", "scene", "answer"]
Strategy = Literal["plan_execute", "react", "cot", "tot", "reflexion"]
StepStatus = Literal["pending", "done", "failed", "skipped"]


class Intent(BaseModel):
    """What the person wants, as the understand node read it."""

    goal: str = Field(description="One-sentence restatement of the request.")
    deliverables: list[Deliverable] = Field(default_factory=list)
    characters: list[str] = Field(default_factory=list)
    setting: str = ""
    mood: str = ""
    style: str = ""
    needs_web: bool = False
    confidence: float = Field(0.0, ge=0.0, le=1.0)
    question: str = Field("", description="What to ask the person when confidence is low.")


class Clarification(BaseModel):
    """A question the director asked and the answer it got."""

    question: str
    answer: str


class KnowledgeItem(BaseModel):
    """One retrieved piece of studio knowledge."""

    collection: str
    text: str
    source: str = ""
    score: float = Field(0.0, ge=0.0, le=1.0)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Brief(BaseModel):
    """The context synthesized from retrieval, handed to planning and to tool prompts."""

    summary: str = ""
    items: list[KnowledgeItem] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    note: str = ""


class Step(BaseModel):
    """One node of the plan DAG: a registered tool with arguments.

    Argument values may reference earlier outputs as ``"$step_id"`` (the whole output) or
    ``"$step_id.field"``; such a reference also makes ``step_id`` a dependency.
    """

    id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    purpose: str = ""


class Plan(BaseModel):
    """A validated DAG of steps and how it was made."""

    strategy: Strategy = "plan_execute"
    steps: list[Step] = Field(default_factory=list)
    rationale: str = ""
    repairs: list[str] = Field(default_factory=list, description="What validation fixed.")
    unavailable: list[str] = Field(default_factory=list, description="What could not be done.")
    version: int = 1

    def step(self, step_id: str) -> Step | None:
        """The step with this id, if any."""
        return next((s for s in self.steps if s.id == step_id), None)


class Artifact(BaseModel):
    """A file a step made, relative to the run's output folder."""

    path: str
    kind: Literal["audio", "image", "video", "text", "json"]
    meta: dict[str, Any] = Field(default_factory=dict)


class StepResult(BaseModel):
    """The latest outcome of one step (keyed by step id in the state)."""

    step_id: str
    tool: str
    status: StepStatus
    attempt: int = 1
    args: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[Artifact] = Field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    finished_at: float = Field(default_factory=time.time)


class Evaluation(BaseModel):
    """How good one attempt of a step was."""

    step_id: str
    attempt: int
    score: float = Field(ge=0.0, le=1.0)
    passed: bool
    reasons: list[str] = Field(default_factory=list)
    checks: dict[str, bool] = Field(default_factory=dict)


class Reflection(BaseModel):
    """What the director learned from an attempt and what it changes next (Reflexion memory)."""

    step_id: str
    attempt: int
    lesson: str
    action: Literal["retry", "replan", "accept", "give_up"]
    new_args: dict[str, Any] = Field(default_factory=dict)


class Thought(BaseModel):
    """One entry of the visible thought chain."""

    node: str
    text: str
    at: float = Field(default_factory=time.time)


class Decision(BaseModel):
    """How one typed LLM decision was obtained (the decision history)."""

    node: str
    schema_name: str
    method: Literal["constrained", "parsed", "salvaged", "repaired", "fallback", "deterministic"]
    reason: str = ""
    seconds: float = 0.0
    tokens: int = 0
