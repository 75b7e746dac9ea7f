"""The TaskBench planner: which tools (learned or voted), in what order and how linked.

Per request:
1. a score for each of the 40 tools: with a store of at least ``min_store`` past plans, the
   probability from ``selector.ToolSelector`` (a classifier over cue phrases, the k most
   similar past plans, a text classifier, past-plan statistics and the tool graph, fitted on
   the store); otherwise fixed-weight votes of cue phrases (cues.py) and retrieved plans
   (retrieval.py). The tools the LLM proposes through our decision layer
   (``services.structured.decide``: a JSON schema whose tool names are an enum, arguments a
   bounded list of strings, references ``<node-j>``) add to the score;
2. the tools whose score passes a threshold form the plan's tool set, validated against the
   tool graph (drop an unfed tool with a fed sibling, add the converter an unfed input needs,
   the downloader a bare URL needs);
3. the order maximises ``selector.PairOrder``'s "a runs before b" log-odds (without a store:
   mention order + past links + the tool graph); structure.py links each node to the nearest
   earlier compatible output and fills user resources (files, URLs, quoted text).

The LLM never decides links: a 135M model cannot, and links follow from order and types. If
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

from benchmarks.taskbench.cues import cue_hits
from benchmarks.taskbench.data import Catalog, gold_links, gold_tools
from benchmarks.taskbench.retrieval import ExampleStore
from benchmarks.taskbench.selector import PairOrder, ToolSelector
from benchmarks.taskbench.structure import (
    Resources,
    bridge_urls,
    build_nodes,
    drop_unfed,
    extract_resources,
    fill_gaps,
    fix_modalities,
    link_weights,
    order_tools,
    repair,
)
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
class PlannerConfig:
    """Knobs (the same for every record; chosen by cross-validation on the dev file)."""

    k: int = 10
    threshold: float = 0.3
    cue_weight: float = 0.5
    retrieval_weight: float = 0.5
    llm_weight: float = 0.15
    examples: int = 1
    prompt_tools: int = 10
    max_nodes: int = 8
    max_tokens: int = 160
    example_chars: int = 300
    bridge_urls: bool = True
    drop_unfed: bool = True
    fix_modalities: bool = False  # measured neutral (n-F1 73.1 either way); kept for reuse
    selector: bool = True  # learned tool selection (selector.py) when a store is given
    selector_threshold: float = 0.5
    selector_c: float = 1.0
    gap_score: float = 0.05  # fill_gaps: least selector probability of an added converter
    unplaced_neutral: bool = True
    text_c: float = 30.0  # per-tool TF-IDF classifier inside the selector; 0 = off
    learned_order: bool = True  # selector.PairOrder when the store is large enough
    min_store: int = 50  # fewer past plans than this: the fixed vote instead


@dataclass
class PlanResult:
    """A plan in TaskBench's shape and how it was made."""

    nodes: list[dict[str, Any]]
    votes: dict[str, float]
    llm_tools: list[str] = field(default_factory=list)
    decision: Decision | None = None
    notes: list[str] = field(default_factory=list)


class TaskBenchPlanner:
    """Plans TaskBench requests from a catalog, an optional store of past plans and an LLM."""

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
        self.registry = catalog.registry()
        records = store.records if store is not None else []
        self.pair_weight = link_weights((gold_tools(r), gold_links(r)) for r in records)
        self.pair_order: PairOrder | None = None
        if self.config.learned_order and len(records) >= self.config.min_store:
            self.pair_order = PairOrder(catalog, records)
        self.selector: ToolSelector | None = None
        if (
            self.store is not None
            and self.config.selector
            and len(self.store) >= self.config.min_store
        ):
            self.selector = ToolSelector(
                catalog,
                self.store,
                k=self.config.k,
                c=self.config.selector_c,
                text_c=self.config.text_c,
            )

    def plan(self, instruction: str) -> PlanResult:
        """A valid TaskBench plan for ``instruction`` (never raises on bad model output)."""
        cfg = self.config
        names = self.catalog.names
        resources = extract_resources(instruction)
        positions = cue_hits(instruction, names)
        neighbours = self.store.search(instruction, cfg.k) if self.store else []
        votes = {t: cfg.cue_weight * (t in positions) for t in names}
        if neighbours:
            total = sum(max(s, 0.0) for _, s in neighbours) or 1.0
            for record, sim in neighbours:
                for tool in set(gold_tools(record)) & set(names):
                    votes[tool] += cfg.retrieval_weight * max(sim, 0.0) / total
        threshold = cfg.threshold
        if self.selector is not None:
            votes = self.selector.probabilities(instruction, neighbours)
            threshold = cfg.selector_threshold
        result = PlanResult(nodes=[], votes=votes)
        if self.use_llm:
            llm_tools, decision = self._ask_llm(instruction, votes, neighbours, resources)
            result.llm_tools, result.decision = llm_tools, decision
            # Without retrieval the model is the only other voice, so it weighs like a cue.
            weight = cfg.llm_weight if neighbours else cfg.cue_weight
            for tool in llm_tools:
                votes[tool] += weight
        ranked = sorted(names, key=lambda t: -votes[t])
        chosen = [t for t in ranked if votes[t] >= threshold][: cfg.max_nodes]
        if not chosen:
            chosen = ranked[:1]
            result.notes.append("no tool passed the threshold: kept the best voted one")
        if cfg.drop_unfed:
            chosen, notes = drop_unfed(chosen, self.catalog, resources)
            result.notes.extend(notes)
        if self.selector is not None and cfg.gap_score < 1:
            chosen, notes = fill_gaps(chosen, votes, self.catalog, resources, cfg.gap_score)
            result.notes.extend(notes)
        if cfg.fix_modalities:
            chosen, notes = fix_modalities(chosen, votes, self.catalog, resources)
            result.notes.extend(notes)
        added: dict[str, int] = {}
        if cfg.bridge_urls:
            chosen, added = bridge_urls(chosen, self.catalog, instruction, resources)
        fallback_pos = {t: 10**6 + i for i, t in enumerate(result.llm_tools)}
        order = order_tools(
            chosen,
            {**fallback_pos, **positions, **added},
            self.pair_weight,
            self.catalog,
            unplaced_neutral=cfg.unplaced_neutral,
            pair_order=(
                self.pair_order.scores(chosen, {**positions, **added}, resources)
                if self.pair_order is not None
                else None
            ),
        )
        result.nodes = build_nodes(order, self.catalog, resources)
        return result

    def _ask_llm(
        self,
        instruction: str,
        votes: dict[str, float],
        neighbours: list[tuple[dict[str, Any], float]],
        resources: Resources,
    ) -> tuple[list[str], Decision]:
        """One constrained call (plus ``decide``'s one repair); returns the proposed tools."""
        from services.structured import decide, system_user

        cfg = self.config
        shortlist = sorted(self.catalog.names, key=lambda t: -votes[t])[: cfg.prompt_tools]
        lines = [
            f"- {s.name}: {s.description}"
            for s in (self.registry.get(t) for t in shortlist)
            if s is not None
        ]
        shots = []
        for record, _ in neighbours[: cfg.examples]:
            plan = {
                "task_nodes": [
                    {"task": n.get("task"), "arguments": n.get("arguments")}
                    for n in record.get("task_nodes", [])
                    if isinstance(n, dict)
                ]
            }
            request = record["instruction"][: cfg.example_chars]
            shots.append(f"Request: {request}\nPlan: {json.dumps(plan)[: cfg.example_chars]}")
        user = "\n\n".join([*shots, f"Request: {instruction}\nPlan:"])
        messages = system_user(SYSTEM.format(tools="\n".join(lines)), user)

        def fallback(reason: str) -> BaseModel:
            skeleton = [
                n for r, _ in neighbours[:1] for n in r.get("task_nodes", []) if isinstance(n, dict)
            ]
            nodes, _ = repair(skeleton, self.catalog, resources)
            if not nodes:
                nodes = build_nodes(shortlist[:1], self.catalog, resources)
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
        repaired, _ = repair([{"task": t} for t in proposed], self.catalog, resources)
        return [n["task"] for n in repaired], decision
