"""Past plans: what the studio planned before, found again by request similarity.

Every accepted plan is written to the ``past_generations`` collection with its request
(:func:`record_plan`, called when a run is accepted); :func:`load_past_plans` reads them back,
together with a small set of example plans for the studio's own tools shipped in
``configs/knowledge/plans/*.jsonl`` (written to the collection the first time, so planning is good
from the first run). :class:`PlanMemory` searches them in memory by TF-IDF similarity: the
selector and the order model are fitted on the same plans, and cross-validation rebuilds a
memory per fold so a held-back plan is never in it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from configs.settings import PACKAGE_DIR, Settings
from services.knowledge_base import PAST, KnowledgeBase, Record, get_knowledge_base, stable_id

PLAN_KIND = "plan"
"""``kind`` metadata of plan records in ``past_generations`` (step results are "generation")."""
SEED_PLANS_DIR = PACKAGE_DIR / "knowledge" / "plans"


@dataclass(frozen=True)
class PastPlan:
    """A request and the plan accepted for it: tools in run order and which fed which."""

    request: str
    tools: tuple[str, ...]
    links: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    """(source tool, target tool) pairs: the source's output fed the target."""
    source: str = ""


class StepLike(Protocol):
    """What :func:`record_plan` reads of a plan step (``state.models.Step`` has these)."""

    id: str
    tool: str
    depends_on: list[str]


class PlanMemory:
    """Past plans searchable by request similarity (TF-IDF, or vectors from ``embed``)."""

    def __init__(
        self,
        plans: Iterable[PastPlan],
        embed: Callable[[Sequence[str]], np.ndarray] | None = None,
    ) -> None:
        """Index ``plans`` by request; ``embed`` (unit-norm vectors) replaces TF-IDF."""
        self.plans = list(plans)
        self._embed = embed
        texts = [p.request for p in self.plans]
        self._matrix: Any = None
        if embed is not None:
            self._matrix = embed(texts) if texts else None
        elif texts:
            from sklearn.feature_extraction.text import TfidfVectorizer

            self._vectorizer = TfidfVectorizer(
                sublinear_tf=True, ngram_range=(1, 2), stop_words="english"
            )
            try:
                self._matrix = self._vectorizer.fit_transform(texts)
            except ValueError:  # only stop words: nothing to compare by
                self._matrix = None

    def __len__(self) -> int:
        """How many past plans the memory holds."""
        return len(self.plans)

    def search(self, text: str, k: int = 10) -> list[tuple[PastPlan, float]]:
        """The ``k`` most similar past plans with cosine similarity, best first."""
        if self._matrix is None:
            return []
        if self._embed is not None:
            sims = np.asarray(self._matrix @ self._embed([text])[0]).ravel()
        else:
            query = self._vectorizer.transform([text])
            sims = np.asarray((self._matrix @ query.T).todense()).ravel()
        top = np.argsort(-sims, kind="stable")[:k]
        return [(self.plans[i], float(sims[i])) for i in top]


def _kb(store_or_settings: KnowledgeBase | Settings | None) -> KnowledgeBase:
    if isinstance(store_or_settings, KnowledgeBase):
        return store_or_settings
    return get_knowledge_base(store_or_settings)


def plan_links(steps: Sequence[StepLike]) -> frozenset[tuple[str, str]]:
    """(source tool, target tool) for every dependency between ``steps``."""
    tool_of = {s.id: s.tool for s in steps}
    return frozenset((tool_of[d], s.tool) for s in steps for d in s.depends_on if d in tool_of)


def _record(plan: PastPlan, kb: KnowledgeBase, origin: str) -> Record:
    meta: dict[str, Any] = {
        "kind": PLAN_KIND,
        "origin": origin,
        "source": plan.source or f"{PAST}/plans",
        "request": plan.request[:2000],
        "tools": json.dumps(list(plan.tools)),
        "links": json.dumps(sorted(plan.links)),
        "created": time.time(),
    }
    record_id = stable_id(PLAN_KIND, plan.request, *plan.tools)
    return Record(record_id, plan.request, meta, kb.embed([plan.request])[0])


def record_plan(
    store_or_settings: KnowledgeBase | Settings | None, request: str, steps: Sequence[StepLike]
) -> str:
    """Write an accepted plan with its request to ``past_generations``; returns the record id.

    The id depends on the request and the tools, so accepting the same plan again (a resumed
    run) updates one record instead of adding a duplicate.
    """
    if not steps:
        raise ValueError("record_plan: a plan with no steps teaches nothing; record accepted plans")
    kb = _kb(store_or_settings)
    plan = PastPlan(request, tuple(s.tool for s in steps), plan_links(steps))
    record = _record(plan, kb, "run")
    kb.upsert(PAST, [record])
    return record.id


def _as_plan(meta: dict[str, Any], text: str) -> PastPlan | None:
    try:
        tools = tuple(str(t) for t in json.loads(str(meta.get("tools", "[]"))))
        links = frozenset((str(a), str(b)) for a, b in json.loads(str(meta.get("links", "[]"))))
    except (ValueError, TypeError):  # a record written by hand or by an older version
        return None
    request = str(meta.get("request") or text)
    return PastPlan(request, tools, links, str(meta.get("source", ""))) if tools else None


def read_seed_plans(folder: Path = SEED_PLANS_DIR) -> list[PastPlan]:
    """The example plans shipped in ``folder``: ``*.jsonl``, one plan per line.

    A line is ``{"request": ..., "tools": [names in run order], "links": [[1, 2], ...]}``;
    ``links`` are 1-based step numbers (step 1 feeds step 2), a chain when absent. JSONL and not
    YAML so that ``animagent ingest configs/knowledge`` skips these files (they are plans, not
    character or style knowledge).
    """
    plans: list[PastPlan] = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                tools = tuple(str(t) for t in entry["tools"])
                chain = [[i, i + 1] for i in range(1, len(tools))]
                pairs = entry["links"] if "links" in entry else chain
                links = frozenset((tools[a - 1], tools[b - 1]) for a, b in pairs)
                plans.append(PastPlan(str(entry["request"]), tools, links, f"{path.name}:{number}"))
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise ValueError(
                    f"{path}:{number}: not a plan ({exc!r}); each line needs `request`, `tools` "
                    "(tool names in run order) and optional `links` ([from, to] step numbers "
                    "from 1)"
                ) from exc
    return plans


def ensure_seed_plans(kb: KnowledgeBase, folder: Path = SEED_PLANS_DIR) -> int:
    """Write the shipped example plans to ``past_generations`` once; returns how many."""
    if kb.snapshot(PAST, where={"origin": "seed"}):
        return 0
    plans = read_seed_plans(folder)
    if plans:
        kb.upsert(PAST, [_record(p, kb, "seed") for p in plans])
    return len(plans)


def load_past_plans(
    store_or_settings: KnowledgeBase | Settings | None,
    *,
    seed: bool = True,
    known: Callable[[str], bool] | None = None,
) -> list[PastPlan]:
    """Every plan in ``past_generations`` (after seeding the examples when ``seed``).

    ``known`` (e.g. ``lambda n: catalog.get(n) is not None``) drops plans that use a tool
    that is no longer registered, so a removed plugin cannot be chosen from memory.
    """
    kb = _kb(store_or_settings)
    if seed:
        ensure_seed_plans(kb)
    plans = []
    for record in kb.snapshot(PAST, where={"kind": PLAN_KIND}):
        plan = _as_plan(record.metadata, record.text)
        if plan is not None and (known is None or all(known(t) for t in plan.tools)):
            plans.append(plan)
    return plans
