"""The run's honest outcome: every deliverable made, or listed as not made with the reason.

Used by respond. A deliverable counts as made only when enough of its steps finished and
passed the quality bar; a result below the bar, a failed step, an unavailable tool and a
deliverable no step makes are each reported as such, and any of them makes the run
``incomplete`` (exit code 5).
"""

from __future__ import annotations

from typing import Any

from planning.build import ITEM_COUNT_SLOT
from state import Evaluation, Intent, Plan, Step, StepResult
from tools.registry import ToolRegistry

EXIT_DONE, EXIT_INCOMPLETE = 0, 5


def _weak_inputs(step_id: str, steps: list[Step], evaluations: dict[str, Evaluation]) -> list[str]:
    """The steps upstream of ``step_id`` whose results did not pass the bar."""
    by_id = {s.id: s for s in steps}
    seen: set[str] = set()
    todo = list(by_id[step_id].depends_on) if step_id in by_id else []
    weak = []
    while todo:
        dep = todo.pop()
        if dep in seen:
            continue
        seen.add(dep)
        evaluation = evaluations.get(dep)
        if evaluation is None or not evaluation.passed:
            weak.append(dep)
        todo += by_id[dep].depends_on if dep in by_id else []
    return sorted(weak)


def _why(plan: Plan | None, kind: str) -> str:
    notes = [n for n in (plan.unavailable if plan else []) if n.startswith(f"{kind}:")]
    return notes[0].split(":", 1)[1].strip() if notes else ""


def deliverables(
    intent: Intent | None,
    plan: Plan | None,
    results: dict[str, StepResult],
    evaluations: dict[str, Evaluation],
    registry: ToolRegistry,
) -> list[dict[str, Any]]:
    """One entry per deliverable the request implies: wanted, made, status and reason."""
    if intent is None:
        return []
    out = []
    steps = plan.steps if plan else []
    for kind in intent.deliverables:
        slot = ITEM_COUNT_SLOT.get(kind)
        wanted = intent.constraints.counts.get(slot, 1) if slot else 1
        mine = [s for s in steps if (spec := registry.get(s.tool)) and spec.makes == kind]
        made = below = failed = 0
        reasons: list[str] = []
        for step in mine:
            result, evaluation = results.get(step.id), evaluations.get(step.id)
            if result is None:
                reasons.append(f"{step.id} ({step.tool}) did not run: an input it needs failed")
            elif result.status == "failed":
                failed += 1
                reasons.append(f"{step.id} ({step.tool}) failed: {result.error[:200]}")
            elif evaluation is not None and evaluation.passed:
                weak = _weak_inputs(step.id, steps, evaluations)
                if weak:
                    below += 1
                    reasons.append(
                        f"{step.id} ({step.tool}) is built from {', '.join(weak)}, which "
                        "did not pass the quality bar"
                    )
                else:
                    made += 1
            else:
                below += 1
                score = f"{evaluation.score:.2f}" if evaluation else "unscored"
                why = "; ".join(evaluation.reasons[:2]) if evaluation else ""
                reasons.append(
                    f"{step.id} ({step.tool}) is below the quality bar (score {score})"
                    + (f": {why}" if why else "")
                )
        if made >= wanted:
            status = "made"
        elif not mine:
            why = _why(plan, kind)
            status = "unavailable" if why else "not_planned"
            reasons.append(why or f"no step of the plan makes the {kind}")
        else:
            status = "below_bar" if below and not failed else "failed"
            if len(mine) < wanted:
                reasons.append(f"only {len(mine)} of {wanted} were planned")
        out.append(
            {
                "kind": kind,
                "wanted": wanted,
                "made": made,
                "status": status,
                "reason": "; ".join(reasons),
            }
        )
    return out


def status_of(
    entries: list[dict[str, Any]], plan: Plan | None, results: dict[str, StepResult]
) -> str:
    """``complete`` when every deliverable is made and no step of the plan failed.

    A step that failed and was replaced by a re-plan is no longer in the plan: its
    replacement decides.
    """
    if any(e["status"] != "made" for e in entries):
        return "incomplete"
    for step in plan.steps if plan else []:
        result = results.get(step.id)
        if result is None or result.status == "failed":
            return "incomplete"
    return "complete"


def not_done(entries: list[dict[str, Any]]) -> list[str]:
    """The human-readable lines for everything not made, with the reason and the fix."""
    lines = []
    for e in entries:
        if e["status"] == "made":
            continue
        count = f" ({e['made']} of {e['wanted']} made)" if e["wanted"] > 1 else ""
        lines.append(f"{e['kind']}{count}: {e['status'].replace('_', ' ')} — {e['reason']}")
    return lines
