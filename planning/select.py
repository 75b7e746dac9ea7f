"""Which tools a request needs: a classifier over per-tool evidence, learned from past plans.

Each (request, tool) pair becomes a row of evidence:

- the tool's hints (hit, its rank among the request's hits), per tool too, so a loose hint
  learns a lower weight than a precise one;
- the most similar past plans (similarity-weighted share, nearest plan, rank);
- types from the catalog: can the tool's input be supplied (a user file of that type, or
  another hinted tool's output), is its output consumed by another hinted tool;
- the request's shape: how many tools are hinted, which kinds of resources it names, how
  large the neighbours' plans are;
- a per-tool TF-IDF text classifier over the past requests.

A logistic regression learns P(tool in the plan | evidence) from the memory's own plans, each
featurised with retrieval over the memory *without itself* (leave-one-out), so under
cross-validation nothing outside the training folds is seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from planning.catalog import Catalog
from planning.gaps import FREE
from planning.hints import hint_positions
from planning.link import inputs, outputs
from planning.memory import PastPlan, PlanMemory
from planning.resources import RESOURCE_KINDS, TEXT, Resources, extract_resources


@dataclass
class _Evidence:
    """What is known about one request before choosing: hints, resources, neighbours."""

    text: str
    neighbours: Sequence[tuple[PastPlan, float]]
    positions: Mapping[str, int]
    resources: Resources
    text_p: np.ndarray | None


class ToolSelector:
    """P(tool in plan) per catalog tool for a request, fitted on a plan memory."""

    def __init__(
        self,
        catalog: Catalog,
        memory: PlanMemory,
        *,
        k: int = 10,
        c: float = 1.0,
        text_c: float = 30.0,
        inner: int = 5,
    ) -> None:
        """Fit on every plan of ``memory`` (retrieval for a plan excludes that plan)."""
        from sklearn.linear_model import LogisticRegression

        self.catalog = catalog
        self.names = [t.name for t in catalog.all()]
        self._inputs = {t.name: inputs(t) for t in catalog.all()}
        self._outputs = {t.name: outputs(t) for t in catalog.all()}
        self.k = k
        self.count: Counter[str] = Counter()
        self.together: Counter[tuple[str, str]] = Counter()
        self.linked: Counter[tuple[str, str]] = Counter()
        plans = memory.plans
        for plan in plans:
            self._add_stats(plan, 1)
        texts = [p.request for p in plans]
        targets = np.array([[t in set(p.tools) for t in self.names] for p in plans], dtype=int)
        self.text_model = _TextModel(texts, targets, text_c) if text_c > 0 else None
        held_out = _out_of_fold(texts, targets, text_c, inner) if text_c > 0 else None
        rows = []
        for index, plan in enumerate(plans):
            neighbours = [(p, s) for p, s in memory.search(plan.request, k + 1) if p is not plan]
            text_p = held_out[index] if held_out is not None else None
            ev = self._evidence(plan.request, neighbours[:k], text_p)
            self._add_stats(plan, -1)  # its own plan is not evidence about itself
            rows.append(self._rows(ev))
            self._add_stats(plan, 1)
        self.model: Any = None
        labels = targets.ravel()
        if len(set(labels.tolist())) == 2:
            self.model = LogisticRegression(C=c, max_iter=2000).fit(np.vstack(rows), labels)

    def _add_stats(self, plan: PastPlan, sign: int) -> None:
        tools = set(plan.tools)
        for a in tools:
            self.count[a] += sign
            for b in tools:
                if a != b:
                    self.together[(a, b)] += sign
        for pair in plan.links:
            self.linked[pair] += sign

    def _evidence(
        self, text: str, neighbours: Sequence[tuple[PastPlan, float]], text_p: np.ndarray | None
    ) -> _Evidence:
        positions = hint_positions(text, self.catalog)
        return _Evidence(text, neighbours, positions, extract_resources(text), text_p)

    def probabilities(
        self, text: str, neighbours: Sequence[tuple[PastPlan, float]]
    ) -> dict[str, float]:
        """Tool -> probability that the request's plan uses it."""
        if self.model is None:  # every past plan used every tool, or none: no contrast
            return {n: float(self.count[n] > 0) for n in self.names}
        text_p = self.text_model.predict([text])[0] if self.text_model is not None else None
        ev = self._evidence(text, neighbours, text_p)
        p = self.model.predict_proba(self._rows(ev))[:, 1]
        return dict(zip(self.names, (float(v) for v in p), strict=True))

    def _rows(self, ev: _Evidence) -> np.ndarray:
        """One row per tool (catalog order)."""
        names = self.names
        n = len(names)
        positions = ev.positions
        neighbours = ev.neighbours
        total = sum(max(s, 0.0) for _, s in neighbours) or 1.0
        share = dict.fromkeys(names, 0.0)
        for plan, sim in neighbours:
            for tool in set(plan.tools) & set(names):
                share[tool] += max(sim, 0.0) / total
        near = [(plan.links, max(s, 0.0) / total) for plan, s in neighbours]
        top = set(neighbours[0][0].tools) if neighbours else set()
        top_sim = neighbours[0][1] if neighbours else 0.0
        sizes = [len(set(p.tools)) for p, _ in neighbours]
        weights = [max(s, 0.0) for _, s in neighbours]
        size = float(np.average(sizes, weights=weights)) if sum(weights) > 0 else 1.0
        cued = sorted(positions, key=lambda t: positions[t])
        ret_rank = {t: i for i, t in enumerate(sorted(names, key=lambda t: -share[t]))}
        supplied = ev.resources.kinds
        kinds = [float(kind in supplied) for kind in RESOURCE_KINDS]
        out = []
        for i, name in enumerate(names):
            cue = float(name in positions)
            text_p = 0.0 if ev.text_p is None else float(ev.text_p[i])
            from_user = float(any(t in supplied for t in self._inputs[name] if t != TEXT))
            rank = cued.index(name) / max(len(cued), 1) if name in positions else 1.0
            onehot = [0.0] * n
            onehot[i] = 1.0
            row = [
                cue,
                share[name],
                float(name in top),
                1.0 / (1 + ret_rank[name]),
                top_sim,
                float(len(cued)),
                size,
                rank,
                from_user,
                cue * share[name],
                cue * float(len(cued)),
                share[name] * size,
                text_p,
                cue * text_p,
                *kinds,
                *self._context(name, cue, cued, supplied, near),
                *onehot,
                *(cue * v for v in onehot),
            ]
            out.append(row)
        return np.asarray(out, dtype=float)

    def _context(
        self,
        name: str,
        cue: float,
        context: Sequence[str],
        supplied: set[str],
        near: Sequence[tuple[frozenset[tuple[str, str]], float]],
    ) -> list[float]:
        """How ``name`` fits the other tools of ``context``: types, past plans, neighbours."""
        own = self._inputs[name]
        others = [o for o in context if o != name]
        media = [t for t in own if t not in FREE]
        from_user = any(t in supplied for t in own if t != TEXT)
        from_tools = any(self._outputs[o] & set(own) for o in others)
        unfed = float(bool(media) and not from_user and not from_tools)
        feeds = float(any(self.catalog.can_feed(name, o) for o in others))
        fed_by = float(any(self.catalog.can_feed(o, name) for o in others))
        together = max((self.together[(o, name)] / (self.count[o] + 1) for o in others), default=0)
        linked = max(
            (
                (self.linked[(o, name)] + self.linked[(name, o)]) / (self.count[o] + 1)
                for o in others
            ),
            default=0.0,
        )
        attached = sum(
            w for links, w in near if any((o, name) in links or (name, o) in links for o in others)
        )
        return [
            float(from_tools),
            unfed,
            cue * unfed,
            feeds,
            fed_by,
            together,
            linked,
            attached,
            (1 - cue) * together,
            (1 - cue) * linked,
            (1 - cue) * attached,
        ]


class _TextModel:
    """One TF-IDF logistic regression per tool (one-vs-rest) over the request's words."""

    def __init__(self, texts: Sequence[str], targets: np.ndarray, c: float) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))
        x = self.vectorizer.fit_transform(texts)
        self.models: list[Any] = []
        self.constant: list[float] = []
        for j in range(targets.shape[1]):
            y = targets[:, j]
            if y.min() == y.max():  # a tool never (or always) used: its rate
                self.models.append(None)
                self.constant.append(float(y[0]) if len(y) else 0.0)
                continue
            self.models.append(LogisticRegression(C=c, max_iter=1000).fit(x, y))
            self.constant.append(0.0)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Rows of per-tool probabilities."""
        x = self.vectorizer.transform(texts)
        columns = [
            m.predict_proba(x)[:, 1] if m is not None else np.full(len(texts), c)
            for m, c in zip(self.models, self.constant, strict=True)
        ]
        return np.stack(columns, axis=1)


def _out_of_fold(texts: Sequence[str], targets: np.ndarray, c: float, folds: int) -> np.ndarray:
    """Each plan's text-model probabilities from a model that did not see it."""
    out = np.zeros(targets.shape)
    n = len(texts)
    for f in range(folds):
        test = [i for i in range(n) if i % folds == f]
        train = [i for i in range(n) if i % folds != f]
        if not test or not train:
            continue
        model = _TextModel([texts[i] for i in train], targets[train], c)
        out[test] = model.predict([texts[i] for i in test])
    return out
