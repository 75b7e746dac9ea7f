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


class Quote(BaseModel):
    """A line the request quotes, to be spoken verbatim (by ``character`` when named)."""

    character: str = ""
    text: str


class Constraints(BaseModel):
    """What the request's own words require, read deterministically from the text.

    The tools receive these as arguments and evaluate fails a result that breaks one.
    """

    counts: dict[str, int] = Field(default_factory=dict, description="e.g. lines: 2, images: 3")
    speakers: list[str] = Field(default_factory=list, description="Who speaks, in order.")
    not_speakers: list[str] = Field(
        default_factory=list, description="Capitalized names that are places, props or tools."
    )
    quotes: list[Quote] = Field(default_factory=list)
    tone: str = ""
    narration: bool = False
    injection: bool = Field(False, description="The request tries to override instructions.")


class Intent(BaseModel):
    """What the person wants, as the understand node read it."""

    goal: str = Field(description="One-sentence restatement of the request.")
    deliverables: list[str] = Field(
        default_factory=list,
        description="What to make: dialogue, voice, image, scene, answer or a plugin kind.",
    )
    characters: list[str] = Field(default_factory=list)
    setting: str = ""
    mood: str = ""
    style: str = ""
    needs_web: bool = False
    confidence: float = Field(0.0, ge=0.0, le=1.0)
    question: str = Field("", description="What to ask the person when confidence is low.")
    constraints: Constraints = Field(default_factory=Constraints)


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
    replans_done: int = Field(0, description="How many re-plan requests this plan answers.")
    next_id: int = Field(1, description="The number of the next step id (ids are never reused).")
    remaining: int = Field(0, description="Steps the strategy will still add (ReAct).")

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
    judged: bool = Field(True, description="False when the judge could not be read or asked.")


class RetryRequest(BaseModel):
    """Reflect asks for another attempt of one step with improved arguments."""

    step_id: str
    attempt: int = Field(description="The attempt number to run next.")
    args: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""


class ReplanRequest(BaseModel):
    """Reflect asks the planner to rebuild the rest of the plan after failed steps."""

    number: int = Field(description="1 for the first re-plan of the run, then 2, ...")
    failed: list[str] = Field(default_factory=list, description="The step ids that failed.")
    reason: str = ""


class Reflection(BaseModel):
    """What the director learned from an attempt and what it changes next (Reflexion memory)."""

    step_id: str
    attempt: int
    lesson: str
    action: Literal["retry", "replan", "accept", "below_bar", "give_up"]
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
