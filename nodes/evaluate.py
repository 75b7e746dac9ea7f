"""evaluate: score each newly finished step attempt 0..1 against the goal.

The score blends the tool's deterministic checks (files exist, durations plausible, every
character speaks) with an LLM judge, for outputs the text judge can read; media (audio,
images) is scored by its checks alone (``ToolSpec.judged``). A failed check caps the score
below any sensible threshold, so a fluent judge can never pass a broken result.
"""

from __future__ import annotations

import json

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from nodes import prompts
from nodes.common import context_of
from services.structured import decide, system_user
from state import Context, Decision, Evaluation, State, StepResult, Thought
from tools.registry import default_registry

CHECK_WEIGHT = 0.6
FAILED_CHECK_CAP = 0.3


class Judgement(BaseModel):
    """The judge's verdict (bounded for small models)."""

    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(max_length=3)


def _digest(result: StepResult) -> str:
    """What the judge reads: a compact view of the output."""
    text = json.dumps(result.output, ensure_ascii=False, default=str)
    return text[:1200]


def judge_step(
    result: StepResult, goal: str, threshold: float
) -> tuple[Evaluation, Decision | None]:
    """Evaluate one attempt."""
    if result.status != "done":
        return Evaluation(
            step_id=result.step_id,
            attempt=result.attempt,
            score=0.0,
            passed=False,
            reasons=[result.error or "the step failed"],
        ), None
    spec = default_registry().get(result.tool)
    checks = spec.check(result.args, result.output) if spec and spec.check else {}
    check_score = sum(checks.values()) / len(checks) if checks else 1.0

    def fallback(reason: str) -> Judgement:
        return Judgement(
            score=check_score, reasons=[f"judge unavailable ({reason[:80]}); checks only"]
        )

    if spec is not None and not spec.judged:
        # Media the text judge cannot perceive: the checks are the whole score.
        verdict, decision, weight = Judgement(score=check_score, reasons=[]), None, 1.0
    else:
        verdict, decision = decide(
            Judgement,
            system_user(
                prompts.JUDGE, f"Goal: {goal}\nTool: {result.tool}\nResult: {_digest(result)}"
            ),
            node="evaluate",
            role="judge",
            fallback=fallback,
            max_tokens=120,
        )
        weight = CHECK_WEIGHT
    score = weight * check_score + (1 - weight) * verdict.score
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        score = min(score, FAILED_CHECK_CAP)
    reasons = [f"check failed: {name}" for name in failed] + [r for r in verdict.reasons if r][:3]
    evaluation = Evaluation(
        step_id=result.step_id,
        attempt=result.attempt,
        score=round(score, 3),
        passed=score >= threshold and not failed,
        reasons=reasons,
        checks=checks,
    )
    return evaluation, decision


def evaluate(state: State, runtime: Runtime[Context]) -> dict[str, object]:
    """Score every result whose latest attempt has no evaluation yet."""
    ctx = context_of(runtime)
    goal = (state.get("intent").goal if state.get("intent") else "") or ""  # type: ignore[union-attr]
    known = state.get("evaluations") or {}
    evaluations: dict[str, Evaluation] = {}
    decisions: list[Decision] = []
    thoughts: list[Thought] = []
    for step_id, result in (state.get("results") or {}).items():
        seen = known.get(step_id)
        if seen is not None and seen.attempt >= result.attempt:
            continue
        evaluation, decision = judge_step(result, goal, ctx.quality_threshold)
        evaluations[step_id] = evaluation
        if decision:
            decisions.append(decision)
        thoughts.append(
            Thought(
                node="evaluate",
                text=(
                    f"{step_id} attempt {result.attempt}: score {evaluation.score:.2f} "
                    f"({'pass' if evaluation.passed else 'below bar'}) "
                    f"{'; '.join(evaluation.reasons)[:200]}"
                ),
            )
        )
    return {"evaluations": evaluations, "decisions": decisions, "thoughts": thoughts}
