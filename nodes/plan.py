"""plan: choose a reasoning strategy and produce a validated DAG of steps.

Strategies (chosen per task when the context says ``auto``; see ``choose_strategy``):
- plan_execute: one draft of the whole plan, then execution;
- cot: the same, with a short reasoning field written before the steps;
- tot: several candidate plans, each validated and scored, the best one kept;
- react: one step at a time, planned after seeing the previous results;
- reflexion: plan_execute whose prompts carry the lessons of earlier attempts.
"""

from __future__ import annotations

import graphlib
import importlib
from functools import lru_cache
from typing import Any, Literal

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, create_model

from configs.settings import get_settings
from nodes import prompts
from nodes.common import context_of, effective_request
from nodes.plan_rules import DELIVERABLE_TOOL, PlanCheck, merge_replan, template_steps
from services.llm import get_chat_model
from services.structured import decide, system_user
from state import Brief, Context, Decision, Intent, Plan, State, Step, Thought
from state.models import Strategy
from tools.registry import ToolRegistry, default_registry

_VARIANTS = ("options", "variations", "alternatives", "versions", "explore", "ideas")


def choose_strategy(ctx: Context, intent: Intent, request: str, replans: int) -> Strategy:
    """The context's strategy, or an adaptive choice when it is ``auto``."""
    if ctx.strategy != "auto":
        return ctx.strategy
    if replans > 0:
        return "reflexion"  # a step already failed: carry its lessons into the new plan
    if intent.needs_web:
        return "react"  # observe search results before deciding the next step
    if any(word in request.lower() for word in _VARIANTS) or intent.confidence < 0.6:
        return "tot"  # open-ended or uncertain: compare candidate plans
    if len(intent.deliverables) <= 1:
        return "cot"
    return "plan_execute"


@lru_cache(maxsize=64)
def _draft_schema(tools: tuple[str, ...], max_steps: int, reasoning: bool) -> type[BaseModel]:
    """The draft schema for these tools (cached: building a model class costs milliseconds)."""
    tool_names: Any = Literal[tuple(tools)]
    step: Any = create_model(
        "StepDraft",
        id=(str, Field(max_length=6)),
        tool=(tool_names, ...),
        depends_on=(list[str], Field(default_factory=list, max_length=3)),
    )
    fields: dict[str, Any] = {}
    if reasoning:
        fields["reasoning"] = (str, Field(max_length=300))
    fields["steps"] = (list[step], Field(max_length=max_steps))
    return create_model("PlanDraft", **fields)


def _tool_menu(registry: ToolRegistry, names: list[str]) -> str:
    lines = []
    for name in names:
        spec = registry.get(name)
        assert spec is not None
        args = ", ".join(spec.arg_schema().get("properties", {}))
        lines.append(f"- {name}({args}): {spec.description.splitlines()[0]}")
    return "\n".join(lines)


def _score(steps: list[Step], intent: Intent, repairs: list[str]) -> float:
    """Deterministic plan score for Tree-of-Thoughts: coverage, cleanliness, brevity."""
    wanted = {DELIVERABLE_TOOL[d] for d in intent.deliverables if d in DELIVERABLE_TOOL}
    have = {s.tool for s in steps}
    coverage = len(wanted & have) / len(wanted) if wanted else 1.0
    clean = 1.0 / (1.0 + len(repairs))
    brevity = 1.0 / (1.0 + max(0, len(steps) - len(wanted)))
    return round(0.6 * coverage + 0.25 * clean + 0.15 * brevity, 3)


def _draft(
    state: State,
    intent: Intent,
    check: PlanCheck,
    names: list[str],
    ctx: Context,
    strategy: Strategy,
    temperature: float | None = None,
) -> tuple[list[Step], list[str], list[str], Decision, str]:
    """One drafted plan, validated; a rejected draft becomes the template plan."""
    registry = check.registry
    reasoning = strategy == "cot"
    schema = _draft_schema(tuple(names), min(ctx.max_steps, 6), reasoning)
    brief = state.get("brief")
    lessons = [r.lesson for r in state.get("reflections") or []][-3:]
    user = (
        f"Request: {effective_request(state)}\nGoal: {intent.goal}\n"
        f"Deliverables: {', '.join(intent.deliverables)}\n"
        f"Characters: {', '.join(intent.characters) or 'none'}\nSetting: {intent.setting}\n"
        f"Tools:\n{_tool_menu(registry, names)}"
        + (f"\nStudio knowledge: {brief.summary}" if brief and brief.summary else "")
        + (f"\nLessons from earlier attempts: {' '.join(lessons)}" if lessons else "")
    )
    system = prompts.PLAN_COT if reasoning else prompts.PLAN

    def fallback(reason: str) -> BaseModel:
        return schema.model_validate({"steps": [], **({"reasoning": ""} if reasoning else {})})

    model: Any = get_chat_model("planner")
    if temperature is not None:
        model = model.bind(temperature=temperature)
    draft, decision = decide(
        schema,
        system_user(system, user),
        node="plan",
        fallback=fallback,
        max_tokens=min(320, 60 + 40 * ctx.max_steps),
        model=model,
    )
    raw = [s.model_dump() for s in getattr(draft, "steps", [])]
    thought = str(getattr(draft, "reasoning", ""))
    try:
        steps, repairs, unavailable = check.check(raw, intent, ctx.max_steps)
    except graphlib.CycleError as exc:
        steps, repairs, unavailable = (
            [],
            [f"rejected the draft: dependency cycle {exc.args[1]}"],
            [],
        )
    steps = check.cover(steps, intent, repairs, unavailable)
    return steps, repairs, unavailable, decision, thought


def apply_past_parameters(
    steps: list[Step], brief: Brief | None, registry: ToolRegistry
) -> list[str]:
    """Retrieval-augmented planning: start tunable knobs where a similar past success did.

    Only optional numeric or boolean arguments the plan left unset are taken (never content
    such as characters or prompts, which belong to this request).
    """
    if brief is None or not brief.items:
        return []
    try:
        knowledge = importlib.import_module("tools.knowledge")
    except ModuleNotFoundError:
        return []
    notes = []
    for step in steps:
        spec = registry.get(step.tool)
        if spec is None:
            continue
        fields = spec.tool.tool_call_schema.model_fields  # type: ignore[union-attr]
        for key, value in knowledge.past_parameters(brief, step.tool).items():
            field = fields.get(key)
            tunable = isinstance(value, int | float | bool) and not isinstance(value, str)
            if field is None or field.is_required() or key in step.args or not tunable:
                continue
            step.args[key] = value
            notes.append(f"{step.id}.{key}={value}")
    return notes


def _react_next(state: State, intent: Intent, check: PlanCheck, ctx: Context) -> list[Step]:
    """ReAct: keep the steps made so far and add the next step the goal still needs."""
    current = state.get("plan")
    done = list(current.steps) if current else []
    template = check.cover([], intent, [], [])
    have = {s.tool for s in done}
    for step in template:
        if step.tool not in have:
            return [*done, step]
    return done


def plan(state: State, runtime: Runtime[Context]) -> dict[str, object]:
    """Draft, validate and (for Tree-of-Thoughts) choose the plan."""
    ctx = context_of(runtime)
    intent = state.get("intent") or Intent(goal=effective_request(state))
    registry = default_registry()
    settings = get_settings()
    unavailable = registry.unavailable(settings)
    names = [s.name for s in registry.all() if s.name not in unavailable]
    check = PlanCheck(registry, set(names), unavailable)
    previous = state.get("plan")
    strategy = choose_strategy(ctx, intent, effective_request(state), state.get("replans") or 0)
    thoughts: list[Thought] = []
    decisions: list[Decision] = []
    repairs: list[str]
    notes: list[str]
    if not names:
        steps, repairs, notes = [], [], [f"{k}: {v}" for k, v in unavailable.items()]
    elif strategy == "react" and previous is not None and previous.strategy == "react":
        steps, repairs, notes = _react_next(state, intent, check, ctx), [], []
    else:
        temps = [None] if strategy != "tot" else [0.2 + 0.3 * i for i in range(ctx.tot_branches)]
        candidates = []
        for temp in temps:
            steps, repairs, notes, decision, thought = _draft(
                state, intent, check, names, ctx, strategy, temp
            )
            decisions.append(decision)
            if thought:
                thoughts.append(Thought(node="plan", text=f"Reasoning: {thought}"))
            candidates.append((_score(steps, intent, repairs), steps, repairs, notes))
        if strategy == "tot":
            scores = ", ".join(f"{c[0]:.2f}" for c in candidates)
            thoughts.append(
                Thought(node="plan", text=f"Tree-of-Thoughts candidate scores: {scores}")
            )
        _, steps, repairs, notes = max(candidates, key=lambda c: c[0])
        if strategy == "react":
            steps = steps[:1]
    if previous is not None and (state.get("replans") or 0) >= previous.version:
        results = state.get("results") or {}
        done = {k for k, r in results.items() if r.status == "done"}
        steps = merge_replan(previous.steps, steps, done, previous.version + 1)
        thoughts.append(Thought(node="plan", text=f"Re-planning the rest; kept {sorted(done)}"))
    learned = apply_past_parameters(steps, state.get("brief"), registry)
    if learned:
        thoughts.append(Thought(node="plan", text="From past successes: " + "; ".join(learned)))
    template_tools = {t["tool"] for t in template_steps(intent)}
    for tool in sorted(template_tools & set(unavailable)):
        note = f"{tool}: {unavailable[tool]}"
        if note not in notes:
            notes.append(note)
    new_plan = Plan(
        strategy=strategy,
        steps=steps,
        repairs=repairs,
        unavailable=notes,
        version=(previous.version + 1) if previous else 1,
        rationale=f"{strategy} over {len(names)} available tools",
    )
    summary = " -> ".join(f"{s.id}:{s.tool}" for s in steps) or "no tool steps"
    thoughts.append(
        Thought(
            node="plan",
            text=f"Strategy {strategy}; plan v{new_plan.version}: {summary}"
            + (f"; repairs: {'; '.join(repairs)}" if repairs else "")
            + (f"; cannot do: {'; '.join(notes)}" if notes else ""),
        )
    )
    return {"plan": new_plan, "thoughts": thoughts, "decisions": decisions}
