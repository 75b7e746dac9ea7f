"""approve: with ``approve_plan`` on, a person approves the plan before GPU work starts."""

from __future__ import annotations

from langgraph.types import interrupt

from state import Plan, State, Thought


def approve(state: State) -> dict[str, object]:
    """Interrupt with the plan; resume with ``yes`` to run it, anything else to stop."""
    plan = state.get("plan") or Plan()
    answer = interrupt(
        {
            "question": "Approve this plan? (yes/no)",
            "plan": [{"id": s.id, "tool": s.tool, "args": s.args} for s in plan.steps],
        }
    )
    text = str(answer.get("answer", "") if isinstance(answer, dict) else answer).strip().lower()
    if text in {"y", "yes", "ok", "approve", "approved", "true"}:
        return {"thoughts": [Thought(node="approve", text="Plan approved.")]}
    rejected = plan.model_copy(
        update={"steps": [], "unavailable": [*plan.unavailable, "plan rejected by the person"]}
    )
    return {
        "plan": rejected,
        "thoughts": [Thought(node="approve", text=f"Plan rejected ({text}).")],
    }
