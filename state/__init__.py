"""Typed shared state, per-run context and domain models."""

from state.context import Context
from state.models import (
    Artifact,
    Brief,
    Clarification,
    Decision,
    Evaluation,
    Intent,
    KnowledgeItem,
    Plan,
    Reflection,
    Step,
    StepResult,
    Thought,
)
from state.state import InputState, State, StepTask

__all__ = [
    "Artifact",
    "Brief",
    "Clarification",
    "Context",
    "Decision",
    "Evaluation",
    "InputState",
    "Intent",
    "KnowledgeItem",
    "Plan",
    "Reflection",
    "State",
    "Step",
    "StepResult",
    "StepTask",
    "Thought",
]
