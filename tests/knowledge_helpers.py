"""Shared helpers for the knowledge tests: a fast fake embedder and a temp-folder store."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import pytest

from configs.settings import Settings
from services import knowledge_base
from services.embeddings import Embedder
from services.knowledge_base import KnowledgeBase

DIM = 64


class FakeEmbedder(Embedder):
    """Bag-of-words vectors: texts sharing words are close, so retrieval is testable offline."""

    def __init__(self) -> None:
        super().__init__(Path("fake"))
        self.calls = 0

    def embed(self, texts: list[str], batch_size: int = 64) -> list[list[float]]:
        self.calls += 1
        out = []
        for text in texts:
            vec = [0.0] * DIM
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                vec[int(hashlib.sha1(word.encode()).hexdigest(), 16) % DIM] += 1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec] if any(vec) else [1.0] + [0.0] * (DIM - 1))
        return out


def fake_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **knowledge: object) -> Settings:
    """Settings whose knowledge base lives in ``tmp_path`` and embeds with FakeEmbedder."""
    fake = FakeEmbedder()
    monkeypatch.setattr(knowledge_base, "get_embedder", lambda *a, **k: fake)
    knowledge_base.reset_knowledge_bases()
    monkeypatch.setattr(knowledge_base, "_KBS", {})
    return Settings(data_dir=tmp_path / "data", knowledge=knowledge)  # type: ignore[arg-type]


def kb_for(settings: Settings) -> KnowledgeBase:
    """The (cached) knowledge base of these settings."""
    return knowledge_base.get_knowledge_base(settings)
