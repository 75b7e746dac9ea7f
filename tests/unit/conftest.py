"""Unit tests never touch a real model: the guard makes an accidental call fail loudly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from services.fake_llm import FakeChatModel
from services.llm import override_models


@pytest.fixture(autouse=True)
def forbid_real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMAGENT_ALLOW_MODEL_REQUESTS", "0")


def dialogue_script(messages: list[Any]) -> str:
    """Two distinct lines per character named in the prompt."""
    text = str(messages[-1].content)
    names = [n.strip() for n in text.split("Characters:")[1].split("\n")[0].split(",")]
    lines = [
        {"character": name, "text": f"{name} says line {i} about the sea."}
        for i in range(2)
        for name in names
    ]
    return json.dumps({"title": "At the beach", "lines": lines})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeChatModel]:
    """The fake model for graph runs; the knowledge base stays out of these (its own tests)."""
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    from configs.settings import get_settings

    get_settings.cache_clear()
    model = FakeChatModel(scripts={"Dialogue": dialogue_script})
    with override_models(model):
        yield model
