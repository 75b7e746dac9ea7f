"""evaluate: score each newly finished step attempt 0..1 against the request.

The score has two halves: the tool's deterministic checks (files exist, the request's counts,
speakers and quoted lines hold) and, for outputs a text judge can read, an LLM judge. Either
half can fail a step: any failed check caps the score below every sensible threshold, and a
judge score of 0 keeps a perfect-check step below the default bar. A judge reply that cannot be
read (after one repair attempt) is a judge failure: the step is scored by its checks alone and
marked unjudged, never given the judge's half for free. Text that copies the request, a prompt
or a past generation fails the ``original`` check. Media (audio, images) is scored by its
checks alone (``ToolSpec.judged``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from configs.settings import get_settings
from nodes import prompts
from nodes.common import context_of, effective_request, output_folder
from services.originality import copied_lines
from services.structured import decide, system_user
from services.vision import judge_media
from state import Brief, Context, Decision, Evaluation, Intent, State, StepResult, Thought
from tools.registry import ToolRegistry, default_registry

CHECK_WEIGHT = 0.5
FAILED_CHECK_CAP = 0.3
PAST = "past_generations"


class Judgement(BaseModel):
    """The judge's verdict (bounded for small models)."""

    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(max_length=3)


def _digest(result: StepResult) -> str:
    """What the judge reads: a compact view of the output."""
    text = json.dumps(result.output, ensure_ascii=False, default=str)
    return text[:1200]


# Output fields that are not the tool's own writing: file names, and the pages a web answer
# cites (a page's title often repeats the question; that is no copying by the tool).
NOT_WRITTEN = {"path", "artifacts", "sources"}


def _texts(value: Any) -> list[str]:
    """Every string of four or more words the tool wrote in an output (see NOT_WRITTEN)."""
    if isinstance(value, str):
        return [value] if len(value.split()) >= 4 and "/" not in value else []
    if isinstance(value, dict):
        return [t for k, v in value.items() if k not in NOT_WRITTEN for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def copy_sources(request: str, intent: Intent | None, brief: Brief | None) -> list[str]:
    """Texts a result must not repeat: the request (less its quoted lines), prompts, the brief.

    The brief is what the studio knows (characters, style, past generations): the writers see
    it as facts, so output that mostly repeats one of them is copied, not written.
    """
    quoted = [q.text for q in intent.constraints.quotes] if intent else []
    unquoted = request
    for text in quoted:
        unquoted = unquoted.replace(text, " ")
    sources = [unquoted, *(v for v in vars(prompts).values() if isinstance(v, str))]
    for item in brief.items if brief else []:
        # Studio facts reach the writers' prompts as facts: a line that recites one is a copy.
        sources.append(item.text)
        if item.collection == PAST:
            sources.append(str(item.metadata.get("params", "")))
    return sources


def judge_step(
    result: StepResult,
    goal: str,
    threshold: float,
    *,
    registry: ToolRegistry | None = None,
    sources: list[str] | None = None,
    required: list[str] | None = None,
    constraints: str = "",
    run_dir: Path | None = None,
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
    spec = (registry or default_registry()).get(result.tool)
    checks = spec.check(result.args, result.output) if spec and spec.check else {}
    if sources:
        keep = {" ".join(r.lower().split()) for r in required or []}
        texts = [t for t in _texts(result.output) if " ".join(t.lower().split()) not in keep]
        copied = copied_lines(texts, sources)
        checks["original"] = not copied
    check_score = sum(checks.values()) / len(checks) if checks else 1.0
    reasons = [f"check failed: {name}" for name, ok in checks.items() if not ok]
    decision: Decision | None = None
    judged = True
    if spec is not None and not spec.judged:
        score = check_score  # media the text judge cannot perceive: the checks are the score
        seen = judge_media(result.output, goal, run_dir, get_settings())  # images: vision judge
        if seen is not None and seen.judged:
            score = CHECK_WEIGHT * check_score + (1 - CHECK_WEIGHT) * seen.score
        if seen is not None:
            judged = seen.judged
            reasons += seen.reasons
    else:
        verdict, decision = decide(
            Judgement,
            system_user(
                prompts.JUDGE,
                f"Goal: {goal}\n{constraints}Tool: {result.tool}\nResult: {_digest(result)}",
            ),
            node="evaluate",
            role="judge",
            fallback=lambda reason: Judgement(score=0.0, reasons=[]),
            max_tokens=120,
        )
        if decision.method == "fallback":
            judged = False
            score = check_score
            reasons.append(f"not judged: the judge's reply was unreadable ({decision.reason[:80]})")
        else:
            score = CHECK_WEIGHT * check_score + (1 - CHECK_WEIGHT) * verdict.score
            reasons += [r for r in verdict.reasons if r][:3]
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        score = min(score, FAILED_CHECK_CAP)
    evaluation = Evaluation(
        step_id=result.step_id,
        attempt=result.attempt,
        score=round(score, 3),
        passed=score >= threshold and not failed,
        reasons=reasons,
        checks=checks,
        judged=judged,
    )
    return evaluation, decision


def constraint_note(intent: Intent | None) -> str:
    """The request's hard constraints, as the judge should read them."""
    if intent is None:
        return ""
    c = intent.constraints
    parts = [f"{n} {kind}" for kind, n in c.counts.items()]
    if c.speakers:
        parts.append("speakers " + ", ".join(c.speakers))
    parts += [f'{q.character or "someone"} says "{q.text}"' for q in c.quotes]
    if c.tone:
        parts.append(f"tone {c.tone}")
    return f"Must keep: {'; '.join(parts)}\n" if parts else ""


def evaluate(state: State, runtime: Runtime[Context]) -> dict[str, object]:
    """Score every result whose latest attempt has no evaluation yet."""
    ctx = context_of(runtime)
    intent = state.get("intent")
    goal = intent.goal if intent else ""
    sources = copy_sources(effective_request(state), intent, state.get("brief"))
    required = [q.text for q in intent.constraints.quotes] if intent else []
    known = state.get("evaluations") or {}
    evaluations: dict[str, Evaluation] = {}
    decisions: list[Decision] = []
    thoughts: list[Thought] = []
    for step_id, result in (state.get("results") or {}).items():
        seen = known.get(step_id)
        if seen is not None and seen.attempt >= result.attempt:
            continue
        evaluation, decision = judge_step(
            result,
            goal,
            ctx.quality_threshold,
            sources=sources,
            required=required,
            constraints=constraint_note(intent),
            run_dir=output_folder(ctx),
        )
        evaluations[step_id] = evaluation
        if decision:
            decisions.append(decision)
        verdict = "pass" if evaluation.passed else "below bar"
        thoughts.append(
            Thought(
                node="evaluate",
                text=(
                    f"{step_id} attempt {result.attempt}: score {evaluation.score:.2f} "
                    f"({verdict}{'' if evaluation.judged else ', unjudged'}) "
                    f"{'; '.join(evaluation.reasons)[:200]}"
                ),
            )
        )
    return {"evaluations": evaluations, "decisions": decisions, "thoughts": thoughts}
