"""Functions `animagent chat --functions tests.unit.chat_functions` offers the model."""

from __future__ import annotations


def character_voice(name: str) -> dict[str, str]:
    """Look up the voice a named character speaks with."""
    voices = {"Luca": "bright tenor", "Alberto": "raspy baritone"}
    if name not in voices:
        raise KeyError(f"no character named {name}")
    return {"name": name, "voice": voices[name]}
