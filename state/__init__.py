"""Typed shared state, per-run context and domain models."""

from state.context import Context
from state.models import (
    Artifact,
    Brief,
    Clarification,
    Constraints,
    Decision,
    Evaluation,
    Intent,
    KnowledgeItem,
    Plan,
    Quote,
    Reflection,
    ReplanRequest,
    RetryRequest,
    Step,
    StepResult,
    Thought,
)
from state.state import InputState, State, StepTask

__all__ = [
    "Artifact",
    "Brief",
    "Clarification",
    "Constraints",
    "Context",
    "Decision",
    "Evaluation",
    "InputState",
    "Intent",
    "KnowledgeItem",
    "Plan",
    "Quote",
    "Reflection",
    "ReplanRequest",
    "RetryRequest",
    "State",
    "Step",
    "StepResult",
    "StepTask",
    "Thought",
]
