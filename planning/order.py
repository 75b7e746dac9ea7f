"""The order tools run in: learned from past plans when there are enough, else by mention.

``PairOrder`` is a logistic regression for "a runs before b" over evidence that needs no tool
names: which tool the request mentions first (hint positions) and which is mentioned at all,
how often a preceded b and a fed b in past plans (leave-one-out), which way the catalog allows
a link, which takes a resource the user supplied, which is a source (only free inputs).
``order_tools`` picks the order with the highest summed log-odds, minus 1 per consecutive pair
the catalog cannot link; without a model, mention order plus past links plus the catalog.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from planning.catalog import Catalog
from planning.gaps import FREE
from planning.hints import NO_HINT, hint_positions
from planning.link import inputs
from planning.memory import PastPlan
from planning.resources import TEXT, Resources, extract_resources

EXHAUSTIVE = 7
"""Up to this many tools every permutation is scored; beyond, pairwise wins sort them."""


def order_tools(
    tools: Sequence[str],
    positions: Mapping[str, int],
    pair_weight: Mapping[tuple[str, str], float],
    catalog: Catalog,
    *,
    unplaced_neutral: bool = False,
    pair_order: Mapping[tuple[str, str], float] | None = None,
) -> list[str]:
    """Order a tool set as the most plausible chain.

    With ``pair_order`` (log-odds that a runs before b, from ``PairOrder.scores``) the score of
    an order is the sum of those log-odds over all pairs it puts a before b, minus 1 per
    consecutive pair the catalog cannot link. Without it: the sum over consecutive pairs of 1
    if the first is mentioned earlier in the request (0.5 when either has no hint and
    ``unplaced_neutral``), + the past-plan weight of that link, + a small bonus if the catalog
    allows it, - 1 if it does not.
    """
    tools = list(dict.fromkeys(tools))
    if len(tools) <= 1:
        return tools

    def edge(a: str, b: str) -> float:
        pa, pb = positions.get(a, NO_HINT), positions.get(b, NO_HINT)
        if unplaced_neutral and NO_HINT in (pa, pb):
            mention = 0.5  # an unmentioned tool: types and past plans place it
        else:
            mention = 1.0 if pa < pb else 0.0
        graph = 0.05 if catalog.can_feed(a, b) else -1.0
        return mention + pair_weight.get((a, b), 0.0) + graph

    if len(tools) > EXHAUSTIVE:
        if pair_order is not None:
            return sorted(tools, key=lambda a: -sum(pair_order.get((a, b), 0.0) for b in tools))
        return sorted(tools, key=lambda t: positions.get(t, NO_HINT))

    def total(p: tuple[str, ...]) -> float:
        if pair_order is None:
            return sum(edge(p[i], p[i + 1]) for i in range(len(p) - 1))
        before = sum(
            pair_order.get((p[i], p[j]), 0.0) for i in range(len(p)) for j in range(i + 1, len(p))
        )
        return before - sum(not catalog.can_feed(p[i], p[i + 1]) for i in range(len(p) - 1))

    best: tuple[str, ...] = tuple(tools)
    best_score = float("-inf")
    for candidate in itertools.permutations(tools):
        value = total(candidate)
        if value > best_score:  # strictly better: the first best order wins ties, as max() does
            best, best_score = candidate, value
    return list(best)


def link_weights(plans: Iterable[PastPlan]) -> dict[tuple[str, str], float]:
    """P(a feeds b | a and b in the same plan), smoothed, from past plans."""
    together: Counter[tuple[str, str]] = Counter()
    fed: Counter[tuple[str, str]] = Counter()
    for plan in plans:
        unique = set(plan.tools)
        for a in unique:
            for b in unique:
                if a != b:
                    together[(a, b)] += 1
        fed.update(plan.links)
    return {pair: (fed[pair] + 0.1) / (count + 1) for pair, count in together.items()}


class PairOrder:
    """P(tool a runs before tool b | both in the plan), fitted on past plans' tool pairs."""

    def __init__(self, catalog: Catalog, plans: Sequence[PastPlan]) -> None:
        """Fit on the ordered tool pairs of ``plans`` (each pair's counts leave its plan out)."""
        from sklearn.linear_model import LogisticRegression

        self.catalog = catalog
        self.before: Counter[tuple[str, str]] = Counter()
        self.fed: Counter[tuple[str, str]] = Counter()
        for plan in plans:
            self._add(plan, 1)
        rows: list[list[float]] = []
        labels: list[int] = []
        for plan in plans:
            order = [t for t in dict.fromkeys(plan.tools) if catalog.get(t) is not None]
            if len(order) < 2:
                continue
            self._add(plan, -1)  # its own plan is not evidence about itself
            positions = hint_positions(plan.request, catalog)
            resources = extract_resources(plan.request)
            for i, a in enumerate(order):
                for b in order[i + 1 :]:
                    rows.append(self._row(a, b, positions, resources))
                    labels.append(1)
                    rows.append(self._row(b, a, positions, resources))
                    labels.append(0)
            self._add(plan, 1)
        self.model: Any = None
        if len(set(labels)) == 2:
            self.model = LogisticRegression(max_iter=1000).fit(np.asarray(rows), labels)

    def _add(self, plan: PastPlan, sign: int) -> None:
        order = list(dict.fromkeys(plan.tools))
        for i, a in enumerate(order):
            for b in order[i + 1 :]:
                self.before[(a, b)] += sign
        for pair in plan.links:
            self.fed[pair] += sign

    def _inputs(self, name: str) -> tuple[str, ...]:
        tool = self.catalog.get(name)
        return inputs(tool) if tool is not None else ()

    def _row(
        self, a: str, b: str, positions: Mapping[str, int], resources: Resources
    ) -> list[float]:
        pa, pb = positions.get(a), positions.get(b)
        mention = 0.0 if pa is None or pb is None else (1.0 if pa < pb else -1.0)
        cued = float(pa is not None) - float(pb is not None)
        ab, ba = self.before[(a, b)], self.before[(b, a)]
        fab, fba = self.fed[(a, b)], self.fed[(b, a)]
        supplied = resources.kinds

        def user_fed(t: str) -> float:
            return float(any(i in supplied for i in self._inputs(t) if i != TEXT))

        def source(t: str) -> float:
            return float(all(i in FREE for i in self._inputs(t)))

        return [
            mention,
            cued,
            source(a) - source(b),
            (ab - ba) / (ab + ba + 1),
            (fab - fba) / (fab + fba + 1),
            float(self.catalog.can_feed(a, b)) - float(self.catalog.can_feed(b, a)),
            user_fed(a) - user_fed(b),
        ]

    def scores(
        self, tools: Sequence[str], positions: Mapping[str, int], resources: Resources
    ) -> dict[tuple[str, str], float]:
        """Log-odds that a runs before b, for every ordered pair of ``tools``."""
        pairs = [(a, b) for a in tools for b in tools if a != b]
        if self.model is None or not pairs:
            return {}
        x = np.asarray([self._row(a, b, positions, resources) for a, b in pairs])
        logits = self.model.decision_function(x)
        return {pair: float(v) for pair, v in zip(pairs, logits, strict=True)}
