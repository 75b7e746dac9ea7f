"""Which tools a request needs: a classifier over per-tool evidence, learned from past plans.

The fixed vote (cue weight + retrieval share >= threshold) treats every cue phrase as equally
reliable and ignores the tool graph. Here each (request, tool) pair becomes a row of evidence:

- the cue phrase (hit, its rank among the request's hits), per tool too, so a loose cue
  ("brief", "topics") learns a lower weight than a precise one ("stabilize");
- the retrieved neighbours' plans (similarity-weighted share, nearest plan, rank);
- types from the tool graph: can the tool's input be supplied (a user file of that type, or
  another cued tool's output), is its output consumed by another cued tool;
- the request's shape: how many tools are cued, which kinds of resources it names, how large
  the neighbours' plans are.

A logistic regression learns P(tool in the plan | evidence) from the example store's own
records, each featurised with retrieval over the store *without itself* (leave-one-out), so
nothing outside the store is seen: under cross-validation the model is refit per fold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.taskbench.cues import cue_hits
from benchmarks.taskbench.data import Catalog, gold_links, gold_tools
from benchmarks.taskbench.retrieval import ExampleStore
from benchmarks.taskbench.structure import Resources, extract_resources

KINDS = ("image", "audio", "video", "url", "text")


@dataclass
class _Evidence:
    """What is known about one request before choosing: cues, resources, neighbours."""

    text: str
    neighbours: Sequence[tuple[dict[str, Any], float]]
    positions: Mapping[str, int]
    resources: Resources
    text_p: np.ndarray | None


class ToolSelector:
    """P(tool in plan) per tool for a request, fitted on an example store."""

    def __init__(
        self,
        catalog: Catalog,
        store: ExampleStore,
        *,
        k: int = 10,
        c: float = 1.0,
        text_c: float = 30.0,
        inner: int = 5,
    ) -> None:
        """Fit on every record of ``store`` (retrieval for a record excludes the record)."""
        from sklearn.linear_model import LogisticRegression

        self.catalog = catalog
        self.names = catalog.names
        self.k = k
        self.count: Counter[str] = Counter()
        self.together: Counter[tuple[str, str]] = Counter()
        self.linked: Counter[tuple[str, str]] = Counter()
        records = store.records
        for record in records:
            self._add_stats(record, 1)
        texts = [r["instruction"] for r in records]
        targets = np.array(
            [[t in set(gold_tools(r)) for t in self.names] for r in records], dtype=int
        )
        self.text_model = _TextModel(texts, targets, text_c) if text_c > 0 else None
        held_out = _out_of_fold(texts, targets, text_c, inner) if text_c > 0 else None
        evidence = []
        for index, record in enumerate(records):
            text = record["instruction"]
            neighbours = [
                (r, s) for r, s in store.search(text, k + 1) if r.get("id") != record.get("id")
            ][:k]
            text_p = held_out[index] if held_out is not None else None
            evidence.append(self._evidence(text, neighbours, text_p))
        rows = []
        for record, ev in zip(records, evidence, strict=True):
            self._add_stats(record, -1)  # its own plan is not evidence about itself
            rows.append(self._rows(ev))
            self._add_stats(record, 1)
        self.model = LogisticRegression(C=c, max_iter=2000)
        self.model.fit(np.vstack(rows), targets.ravel())

    def _add_stats(self, record: dict[str, Any], sign: int) -> None:
        tools = set(gold_tools(record))
        for a in tools:
            self.count[a] += sign
            for b in tools:
                if a != b:
                    self.together[(a, b)] += sign
        for pair in gold_links(record):
            self.linked[pair] += sign

    def _evidence(
        self,
        text: str,
        neighbours: Sequence[tuple[dict[str, Any], float]],
        text_p: np.ndarray | None,
    ) -> _Evidence:
        return _Evidence(
            text, neighbours, cue_hits(text, self.names), extract_resources(text), text_p
        )

    def probabilities(
        self, text: str, neighbours: Sequence[tuple[dict[str, Any], float]]
    ) -> dict[str, float]:
        """Tool -> probability that the request's plan uses it."""
        text_p = self.text_model.predict([text])[0] if self.text_model is not None else None
        ev = self._evidence(text, neighbours, text_p)
        p = self.model.predict_proba(self._rows(ev))[:, 1]
        return dict(zip(self.names, (float(v) for v in p), strict=True))

    def _rows(self, ev: _Evidence) -> np.ndarray:
        """One row per tool (tool_desc order)."""
        names = self.names
        n = len(names)
        positions = ev.positions
        neighbours = ev.neighbours
        total = sum(max(s, 0.0) for _, s in neighbours) or 1.0
        share = dict.fromkeys(names, 0.0)
        for record, sim in neighbours:
            for tool in set(gold_tools(record)) & set(names):
                share[tool] += max(sim, 0.0) / total
        near = [(gold_links(r), max(s, 0.0) / total) for r, s in neighbours]
        top = set(gold_tools(neighbours[0][0])) if neighbours else set()
        top_sim = neighbours[0][1] if neighbours else 0.0
        sizes = [len(set(gold_tools(r))) for r, _ in neighbours]
        weights = [max(s, 0.0) for _, s in neighbours]
        size = float(np.average(sizes, weights=weights)) if sum(weights) > 0 else 1.0
        cued = sorted(positions, key=lambda t: positions[t])
        ret_rank = {t: i for i, t in enumerate(sorted(names, key=lambda t: -share[t]))}
        supplied = set(ev.resources.by_type)
        kinds = [float(kind in supplied) for kind in KINDS]
        out = []
        for i, name in enumerate(names):
            inputs = self.catalog.tools[name].inputs
            cue = float(name in positions)
            text_p = 0.0 if ev.text_p is None else float(ev.text_p[i])
            from_user = float(any(t in supplied for t in inputs if t != "text"))
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
        near: Sequence[tuple[set[tuple[str, str]], float]],
    ) -> list[float]:
        """How ``name`` fits the other tools of ``context``: types, past plans, neighbours."""
        tools = self.catalog.tools
        tool = tools[name]
        others = [o for o in context if o != name]
        media = [t for t in tool.inputs if t not in {"text", "url"}]
        from_user = any(t in supplied for t in tool.inputs if t != "text")
        from_tools = any(tools[o].output in tool.inputs for o in others)
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
    """Each record's text-model probabilities from a model that did not see it."""
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


class PairOrder:
    """P(tool a runs before tool b | both in the plan), a logistic regression over evidence.

    Evidence for an ordered pair: which is mentioned first in the request (cue positions) and
    which has a cue at all, how often a preceded b and a fed b in past plans (leave-one-out
    on the store), which way the tool graph allows a link, which of the two takes a resource
    the user supplied, and which is a source (only text or URL inputs). Fitted on every pair
    of tools in the store's plans.
    """

    def __init__(self, catalog: Catalog, records: Sequence[dict[str, Any]]) -> None:
        """Fit on the ordered tool pairs of ``records``."""
        from sklearn.linear_model import LogisticRegression

        self.catalog = catalog
        self.before: Counter[tuple[str, str]] = Counter()
        self.fed: Counter[tuple[str, str]] = Counter()
        for record in records:
            self._add(record, 1)
        rows: list[list[float]] = []
        labels: list[int] = []
        for record in records:
            order = [t for t in dict.fromkeys(gold_tools(record)) if t in catalog.tools]
            if len(order) < 2:
                continue
            self._add(record, -1)  # its own plan is not evidence about itself
            text = record["instruction"]
            positions = cue_hits(text, catalog.names)
            resources = extract_resources(text)
            for i, a in enumerate(order):
                for b in order[i + 1 :]:
                    rows.append(self._row(a, b, positions, resources))
                    labels.append(1)
                    rows.append(self._row(b, a, positions, resources))
                    labels.append(0)
            self._add(record, 1)
        self.model: Any = None
        if len(set(labels)) == 2:
            self.model = LogisticRegression(max_iter=1000).fit(np.asarray(rows), labels)

    def _add(self, record: dict[str, Any], sign: int) -> None:
        order = list(dict.fromkeys(gold_tools(record)))
        for i, a in enumerate(order):
            for b in order[i + 1 :]:
                self.before[(a, b)] += sign
        for pair in gold_links(record):
            self.fed[pair] += sign

    def _row(
        self, a: str, b: str, positions: Mapping[str, int], resources: Resources
    ) -> list[float]:
        pa, pb = positions.get(a), positions.get(b)
        mention = 0.0 if pa is None or pb is None else (1.0 if pa < pb else -1.0)
        cued = float(pa is not None) - float(pb is not None)
        ab, ba = self.before[(a, b)], self.before[(b, a)]
        fab, fba = self.fed[(a, b)], self.fed[(b, a)]
        supplied = set(resources.by_type)

        def user_fed(t: str) -> float:
            return float(any(i in supplied for i in self.catalog.tools[t].inputs if i != "text"))

        def source(t: str) -> float:
            return float(all(i in {"text", "url"} for i in self.catalog.tools[t].inputs))

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
