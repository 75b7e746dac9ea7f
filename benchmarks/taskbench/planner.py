"""TaskBench through the product's planner: ``planning.choose`` picks and orders the tools,
``planning.link`` links them, this adapter asks the model and writes TaskBench's node format.

Per request:
1. ``ToolChooser.rank``: a score per tool (the learned selector with at least ``min_store``
   past plans, else hint + retrieval votes);
2. optionally one constrained model call (``services.structured.decide``: tool names an enum
   of the 40 tools, arguments a bounded list of strings); its tools add to the scores;
3. ``ToolChooser.choose``: threshold, type checks (drop unfed, fill gaps, bridge URLs), order;
4. ``link_steps``: each input takes the nearest earlier compatible output or a user resource,
   written as ``<node-j>`` references or the resource itself.

The model never decides links: a 135M model cannot, and links follow from order and types. If
its reply is invalid, ``decide`` records a fallback: the best retrieved plan adapted to the
request's resources.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from benchmarks.taskbench.data import Catalog
from benchmarks.taskbench.retrieval import ExampleStore
from planning.choose import ChooseConfig, Ranking, ToolChooser
from planning.link import LinkedStep, known_order, link_steps
from planning.memory import PastPlan
from planning.resources import Resources
from state.models import Decision

SYSTEM = (
    "You plan multimedia tool workflows. Choose the tools the request needs, in the order they "
    "run. Arguments are the user's files, URLs or text, or <node-j> for the output of step j "
    "(0-based). Tools:\n{tools}"
)


def plan_schema(tool_names: Sequence[str], max_nodes: int = 4) -> type[BaseModel]:
    """The JSON schema the LLM fills: tool names are an enum, arguments bounded strings."""
    tool_enum: Any = Literal[tuple(tool_names)]
    node: Any = create_model(
        "TaskNode",
        task=(tool_enum, Field(description="One tool from the list.")),
        arguments=(
            list[Annotated[str, Field(max_length=40)]],
            Field(default_factory=list, max_length=1),
        ),
    )
    return create_model(
        "TaskBenchPlan",
        task_nodes=(list[node], Field(min_length=1, max_length=max_nodes)),
    )


@dataclass
class PlannerConfig(ChooseConfig):
    """The product planner's knobs plus the model call's (prompt size, examples, tokens)."""

    examples: int = 1
    prompt_tools: int = 10
    max_tokens: int = 160
    example_chars: int = 300


@dataclass
class PlanResult:
    """A plan in TaskBench's shape and how it was made."""

    nodes: list[dict[str, Any]]
    votes: dict[str, float]
    llm_tools: list[str] = field(default_factory=list)
    decision: Decision | None = None
    notes: list[str] = field(default_factory=list)


def as_nodes(steps: Sequence[LinkedStep]) -> list[dict[str, Any]]:
    """Linked steps as TaskBench nodes: a link is ``<node-j>``, a user value is itself."""
    return [
        {
            "task": s.tool,
            "arguments": [f"<node-{f.step}>" if f.step is not None else f.value for f in s.feeds],
        }
        for s in steps
    ]


def repair(
    nodes: Sequence[dict[str, Any]], catalog: Catalog, resources: Resources
) -> tuple[list[dict[str, Any]], list[str]]:
    """A proposed plan made valid: known tools once each, in its order, links from types."""
    order, notes = known_order((str(n.get("task", "")) for n in nodes), catalog)
    return as_nodes(link_steps(order, catalog, resources)), notes


class TaskBenchPlanner:
    """Plans TaskBench requests with the product planner, a store of past plans and an LLM."""

    def __init__(
        self,
        catalog: Catalog,
        store: ExampleStore | None = None,
        *,
        use_llm: bool = True,
        config: PlannerConfig | None = None,
        model: BaseChatModel | None = None,
    ) -> None:
        """``store=None`` plans without retrieval; ``use_llm=False`` without the model."""
        self.catalog = catalog
        self.store = store if store is not None and len(store) else None
        self.use_llm = use_llm
        self.config = config or PlannerConfig()
        self.model = model
        self.schema = plan_schema(catalog.names)
        self.chooser = ToolChooser(catalog, self.store, self.config)

    def plan(self, instruction: str) -> PlanResult:
        """A valid TaskBench plan for ``instruction`` (never raises on bad model output)."""
        ranking = self.chooser.rank(instruction)
        result = PlanResult(nodes=[], votes=ranking.scores)
        if self.use_llm:
            result.llm_tools, result.decision = self._ask_llm(instruction, ranking)
        choice = self.chooser.choose(instruction, result.llm_tools, ranking)
        result.votes, result.notes = choice.scores, choice.notes
        result.nodes = as_nodes(link_steps(choice.order, self.catalog, choice.resources))
        return result

    def _example(self, plan: PastPlan) -> dict[str, Any]:
        return self.store.record(plan) if self.store is not None else {}

    def _ask_llm(self, instruction: str, ranking: Ranking) -> tuple[list[str], Decision]:
        """One constrained call (plus ``decide``'s one repair); returns the proposed tools."""
        from services.structured import decide, system_user

        cfg = self.config
        votes, neighbours, resources = ranking.scores, ranking.neighbours, ranking.resources
        shortlist = sorted(self.catalog.names, key=lambda t: -votes[t])[: cfg.prompt_tools]
        lines = [
            f"- {s.name}: {s.description}"
            for s in (self.catalog.get(t) for t in shortlist)
            if s is not None
        ]
        shots = []
        for plan, _ in neighbours[: cfg.examples]:
            record = self._example(plan)
            nodes = {
                "task_nodes": [
                    {"task": n.get("task"), "arguments": n.get("arguments")}
                    for n in record.get("task_nodes", [])
                    if isinstance(n, dict)
                ]
            }
            request = plan.request[: cfg.example_chars]
            shots.append(f"Request: {request}\nPlan: {json.dumps(nodes)[: cfg.example_chars]}")
        user = "\n\n".join([*shots, f"Request: {instruction}\nPlan:"])
        messages = system_user(SYSTEM.format(tools="\n".join(lines)), user)

        def fallback(reason: str) -> BaseModel:
            skeleton = [
                n
                for p, _ in neighbours[:1]
                for n in self._example(p).get("task_nodes", [])
                if isinstance(n, dict)
            ]
            nodes, _ = repair(skeleton, self.catalog, resources)
            if not nodes:
                nodes = as_nodes(link_steps(shortlist[:1], self.catalog, resources))
            clipped = [
                {"task": n["task"], "arguments": [a[:40] for a in n["arguments"][:1]]}
                for n in nodes[:4]
            ]
            return self.schema.model_validate({"task_nodes": clipped})

        try:
            value, decision = decide(
                self.schema,
                messages,
                node="taskbench_plan",
                fallback=fallback,
                max_tokens=cfg.max_tokens,
                model=self.model,
            )
        except Exception as exc:  # noqa: BLE001 - e.g. openai.LengthFinishReasonError
            # decide() lets the OpenAI client's "length limit reached" error through; for a
            # benchmark that is bad output like any other, so it takes the recorded fallback.
            if type(exc).__name__ in {"LLMUnavailableError", "ModelRequestsForbiddenError"}:
                raise
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            value = fallback(reason)
            decision = Decision(
                node="taskbench_plan", schema_name="TaskBenchPlan", method="fallback", reason=reason
            )
        proposed = [n.task for n in value.task_nodes]  # type: ignore[attr-defined]
        order, _ = known_order(proposed, self.catalog)
        return order, decision
