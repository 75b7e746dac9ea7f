"""Choose and order the tools for a request: scores, a threshold, type checks, an order.

1. A score per catalog tool (:meth:`ToolChooser.rank`): with at least ``min_store`` past
   plans, the learned selector's probability (``planning.select``); before that, fixed
   weights: the tool's hints plus the similarity-weighted share of the most similar past plans
   that used it. Tools a model proposed add to the score (:meth:`ToolChooser.choose`).
2. The tools whose score passes the threshold, checked against the types (``planning.gaps``:
   drop an unfed tool that has a fed sibling, add the converter an unfed input needs, the
   fetcher a bare URL needs).
3. The order: the learned pair model (``planning.order.PairOrder``) when there are enough past
   plans, else mention order plus past links plus the catalog.

``planning.link.link_steps`` then says which output feeds which input. :func:`rank_tools` is
the one call the director's plan node needs for scores alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from planning.catalog import Catalog
from planning.gaps import bridge_urls, drop_unfed, fill_gaps, fix_modalities
from planning.hints import hint_positions
from planning.memory import PastPlan, PlanMemory
from planning.order import PairOrder, link_weights, order_tools
from planning.resources import Resources, extract_resources
from planning.select import ToolSelector


@dataclass
class ChooseConfig:
    """Knobs (the same for every request; chosen by cross-validation on TaskBench's dev file)."""

    k: int = 10
    threshold: float = 0.3
    hint_weight: float = 0.5
    retrieval_weight: float = 0.5
    proposal_weight: float = 0.15
    """Weight of a model-proposed tool when past plans were retrieved (else ``hint_weight``)."""
    max_tools: int = 8
    bridge_urls: bool = True
    drop_unfed: bool = True
    fix_modalities: bool = False  # measured neutral on TaskBench; kept for other catalogs
    selector: bool = True
    selector_threshold: float = 0.5
    selector_c: float = 1.0
    gap_score: float = 0.05  # fill_gaps: least selector probability of an added converter
    unplaced_neutral: bool = True
    text_c: float = 30.0  # per-tool TF-IDF classifier inside the selector; 0 = off
    learned_order: bool = True
    min_store: int = 50
    """Fewer past plans than this: fixed weights instead of the learned selector and order."""


@dataclass
class Ranking:
    """Per-tool scores for one request and the evidence they came from."""

    scores: dict[str, float]
    threshold: float
    positions: dict[str, int]
    neighbours: list[tuple[PastPlan, float]]
    resources: Resources
    learned: bool


@dataclass
class Choice:
    """The tools chosen for a request, in run order, and what the type checks changed."""

    order: list[str]
    scores: dict[str, float]
    resources: Resources
    notes: list[str] = field(default_factory=list)


class ToolChooser:
    """Scores, chooses and orders catalog tools for requests, from a memory of past plans."""

    def __init__(
        self,
        catalog: Catalog,
        memory: PlanMemory | None = None,
        config: ChooseConfig | None = None,
    ) -> None:
        """Fit the learned parts when ``memory`` holds at least ``config.min_store`` plans."""
        self.catalog = catalog
        self.memory = memory if memory is not None and len(memory) else None
        self.config = cfg = config or ChooseConfig()
        plans = self.memory.plans if self.memory is not None else []
        self.pair_weight = link_weights(plans)
        enough = len(plans) >= cfg.min_store
        self.pair_order = PairOrder(catalog, plans) if cfg.learned_order and enough else None
        self.selector: ToolSelector | None = None
        if self.memory is not None and cfg.selector and enough:
            self.selector = ToolSelector(
                catalog, self.memory, k=cfg.k, c=cfg.selector_c, text_c=cfg.text_c
            )

    def rank(self, request: str) -> Ranking:
        """A score per tool for ``request`` and the threshold a chosen tool must reach."""
        cfg = self.config
        names = [t.name for t in self.catalog.all()]
        positions = hint_positions(request, self.catalog)
        neighbours = self.memory.search(request, cfg.k) if self.memory else []
        resources = extract_resources(request)
        if self.selector is not None:
            scores = self.selector.probabilities(request, neighbours)
            return Ranking(scores, cfg.selector_threshold, positions, neighbours, resources, True)
        scores = {t: cfg.hint_weight * (t in positions) for t in names}
        total = sum(max(s, 0.0) for _, s in neighbours) or 1.0
        for plan, sim in neighbours:
            for tool in set(plan.tools) & set(names):
                scores[tool] += cfg.retrieval_weight * max(sim, 0.0) / total
        return Ranking(scores, cfg.threshold, positions, neighbours, resources, False)

    def choose(
        self, request: str, proposed: Sequence[str] = (), ranking: Ranking | None = None
    ) -> Choice:
        """The tools for ``request`` in run order; ``proposed`` are a model's picks."""
        cfg = self.config
        ranking = ranking or self.rank(request)
        scores = dict(ranking.scores)
        resources = ranking.resources
        # Without retrieval the model is the only other voice, so it weighs like a hint.
        weight = cfg.proposal_weight if ranking.neighbours else cfg.hint_weight
        for tool in proposed:
            if tool in scores:
                scores[tool] += weight
        names = [t.name for t in self.catalog.all()]
        ranked = sorted(names, key=lambda t: -scores[t])
        chosen = [t for t in ranked if scores[t] >= ranking.threshold][: cfg.max_tools]
        result = Choice([], scores, resources)
        if not chosen:
            chosen = ranked[:1]
            result.notes.append("no tool passed the threshold: kept the best scored one")
        if cfg.drop_unfed:
            chosen, notes = drop_unfed(chosen, self.catalog, resources)
            result.notes.extend(notes)
        if ranking.learned and cfg.gap_score < 1:
            chosen, notes = fill_gaps(chosen, scores, self.catalog, resources, cfg.gap_score)
            result.notes.extend(notes)
        if cfg.fix_modalities:
            chosen, notes = fix_modalities(chosen, scores, self.catalog, resources)
            result.notes.extend(notes)
        added: dict[str, int] = {}
        if cfg.bridge_urls:
            chosen, added = bridge_urls(chosen, self.catalog, request, resources)
        mentioned = {**ranking.positions, **added}
        fallback = {t: 10**6 + i for i, t in enumerate(proposed)}
        result.order = order_tools(
            chosen,
            {**fallback, **mentioned},
            self.pair_weight,
            self.catalog,
            unplaced_neutral=cfg.unplaced_neutral,
            pair_order=(
                self.pair_order.scores(chosen, mentioned, resources)
                if self.pair_order is not None
                else None
            ),
        )
        return result


def rank_tools(
    request: str,
    catalog: Catalog,
    past_plans: Sequence[PastPlan] = (),
    config: ChooseConfig | None = None,
) -> dict[str, float]:
    """Score every catalog tool for ``request`` (higher = more likely needed).

    Fixed weights (hints + similar past plans) while fewer than ``config.min_store`` past plans
    exist, the learned selector after. Plans naming tools the catalog lacks are ignored.
    """
    known = [p for p in past_plans if all(catalog.get(t) is not None for t in p.tools)]
    return ToolChooser(catalog, PlanMemory(known), config).rank(request).scores
