"""Unit tests never touch a real model: the guard makes an accidental call fail loudly."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from configs.settings import Settings, get_settings
from services import gpu as gpu_service
from services.fake_llm import FakeChatModel
from services.llm import override_models
from tests import image_helpers


@pytest.fixture(autouse=True)
def forbid_real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMAGENT_ALLOW_MODEL_REQUESTS", "0")


SEA_WORDS = ["tide", "gulls", "boat", "shells", "waves", "sunset", "harbour", "nets", "sail"]
PASSING_JUDGE = {"score": 0.9, "reasons": ["clear and in character"]}


def dialogue_script(messages: list[Any]) -> str:
    """Distinct lines for the characters named in the prompt, as many as it asks for."""
    text = str(messages[-1].content)
    names = [n.strip() for n in text.split("Characters:")[1].split("\n")[0].split(",")]
    count = int(re.search(r"Write (?:exactly|up to) (\d+) lines", text).group(1))  # type: ignore[union-attr]
    lines = [
        {
            "character": names[i % len(names)],
            "text": f"Look at the {SEA_WORDS[i % len(SEA_WORDS)]}, number {i + 1}!",
        }
        for i in range(min(count, max(2, len(names))))
    ]
    return json.dumps({"title": "At the beach", "lines": lines})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeChatModel]:
    """The fake model for graph runs; the knowledge base stays out of these (its own tests)."""
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    from configs.settings import get_settings

    get_settings.cache_clear()
    # Every script is explicit: the judge passes only because this fixture says so, and
    # tests of the failure paths replace it.
    model = FakeChatModel(scripts={"Dialogue": dialogue_script, "Judgement": PASSING_JUDGE})
    with override_models(model):
        yield model


# Tiny random SDXL, ControlNet and LoRAs: built once per session, only when a test asks.


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-sdxl")
    sdxl = image_helpers.build_tiny_sdxl(root / "sdxl")
    return {
        "sdxl": sdxl,
        "canny": image_helpers.build_tiny_controlnet(sdxl, root / "cn-canny"),
        "luca": image_helpers.build_tiny_lora(root / "loras", "luca", seed=1),
        "alberto": image_helpers.build_tiny_lora(root / "loras", "alberto", seed=2),
        "misfit": image_helpers.build_tiny_lora(root / "loras", "misfit", block=(16, 32), seed=3),
        "loras": root / "loras",
    }


@pytest.fixture
def image_env(tiny_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ANIMAGENT_IMAGE__MODEL_PATH", str(tiny_models["sdxl"]))
    monkeypatch.setenv("ANIMAGENT_IMAGE__DEVICE", "cpu")
    monkeypatch.setenv("ANIMAGENT_IMAGE__WIDTH", "64")
    monkeypatch.setenv("ANIMAGENT_IMAGE__HEIGHT", "64")
    monkeypatch.setenv("ANIMAGENT_IMAGE__STEPS", "2")
    monkeypatch.setenv(
        "ANIMAGENT_IMAGE__CONTROLNETS", json.dumps({"canny": str(tiny_models["canny"])})
    )
    monkeypatch.setenv("ANIMAGENT_IMAGE__LORA_DIR", str(tiny_models["loras"]))
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    get_settings.cache_clear()
    # A fresh residency per test: loads are counted per test.
    monkeypatch.setattr(gpu_service, "_RESIDENCY", None)
    return get_settings()


def web_intent(goal: str, deliverables: list[str]) -> dict[str, object]:
    """The understand model's reply for a request that needs the web (fake-model scripts)."""
    return {
        "goal": goal,
        "deliverables": deliverables,
        "characters": [],
        "setting": "",
        "mood": "",
        "needs_web": True,
        "confidence": 0.95,
        "question": "",
    }
