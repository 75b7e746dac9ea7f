"""Which LoRA draws which character: read from the character sheets in the knowledge base.

A sheet names its adapter in a ``lora`` entry (YAML) or a ``## LoRA`` section (Markdown)::

    lora:
      file: luca_v2.safetensors   # relative to image.lora_dir, or absolute
      trigger: lcboy              # words that wake the adapter up
      weight: 0.8

Ingest stores that entry as its own chunk (section ``lora``), so it is found by metadata,
without a similarity search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.diffusion import LoraSpec
from services.outputs import safe_name


def parse_lora_chunk(text: str) -> dict[str, Any] | None:
    """The ``file`` / ``trigger`` / ``weight`` mapping in one stored chunk, or None."""
    body = text.split(": ", 1)[1] if " > " in text.split("\n", 1)[0] else text
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or not data.get("file"):
        return None
    return data


def lora_for(name: str, entry: dict[str, Any], lora_dir: Path | None) -> LoraSpec:
    """A LoraSpec from a sheet's entry (relative files resolve against ``lora_dir``)."""
    path = Path(str(entry["file"])).expanduser()
    if not path.is_absolute() and lora_dir is not None:
        path = Path(lora_dir).expanduser() / path
    try:
        weight = float(entry.get("weight", 1.0))
    except (TypeError, ValueError):
        weight = 1.0
    trigger = entry.get("trigger") or entry.get("trigger_words") or ""
    if isinstance(trigger, list):
        trigger = ", ".join(str(t) for t in trigger)
    return LoraSpec(
        path=path, name=safe_name(name, 40).lower(), weight=weight, trigger=str(trigger)
    )


def character_loras(
    kb: Any, names: list[str], lora_dir: Path | None, collection: str
) -> list[LoraSpec]:
    """The LoRA of each named character that has one in its sheet (order of ``names``)."""
    out: list[LoraSpec] = []
    for name in names:
        for record in kb.snapshot(collection, {"character": name.lower()}):
            section = str(record.metadata.get("section", "")).split(" > ")[-1].strip().lower()
            if section != "lora":
                continue
            entry = parse_lora_chunk(record.text)
            if entry is not None:
                out.append(lora_for(name, entry, lora_dir))
                break
    return out


def with_triggers(prompt: str, loras: list[LoraSpec]) -> str:
    """The prompt with each adapter's trigger words in front (once)."""
    missing = [
        lo.trigger for lo in loras if lo.trigger and lo.trigger.lower() not in prompt.lower()
    ]
    return ", ".join([*missing, prompt]) if missing else prompt
