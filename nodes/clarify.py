"""clarify: ask the person (a LangGraph interrupt) and keep the answer for understand."""

from __future__ import annotations

from langgraph.types import interrupt

from nodes.common import base_request
from nodes.understand import DEFAULT_QUESTION
from state import Clarification, State, Thought


def clarify(state: State) -> dict[str, object]:
    """Pause with the question; resume with ``Command(resume=<answer>)``.

    Nothing with side effects happens before the interrupt: on resume this node runs again
    from the top and only then returns the answer.
    """
    intent = state.get("intent")
    question = (intent.question if intent else "") or DEFAULT_QUESTION
    answer = interrupt({"question": question, "request": base_request(state)})
    text = answer.get("answer", "") if isinstance(answer, dict) else str(answer or "")
    return {
        "clarifications": [Clarification(question=question, answer=text.strip())],
        "thoughts": [Thought(node="clarify", text=f"Asked: {question} Answer: {text.strip()}")],
    }
