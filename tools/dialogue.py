"""write_dialogue: the writer model writes lines for the scene's characters."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from langchain_core.tools import InjectedToolArg
from pydantic import BaseModel, Field, create_model

from services.llm import get_chat_model
from services.outputs import atomic_write_bytes, atomic_write_json
from services.structured import decide, system_user
from tools.registry import ToolContext, ToolRegistry, make_spec

WRITER_PROMPT = (
    "You write dialogue for animated films. Write what the characters SAY to each other, not "
    "descriptions of them. Each line: one character speaking one or two short sentences, "
    "taking turns. Stay true to the characters and the setting.\n"
    'Example for two characters in a cafe: {"title": "Coffee", "lines": ['
    '{"character": "Mia", "text": "You are late again, Tom."}, '
    '{"character": "Tom", "text": "The bus broke down, I swear!"}]}'
)
# Small models loop ("my brother, my brother, ..."): penalize repeats (measured, ADR 2).
SAMPLING = {"frequency_penalty": 0.8, "presence_penalty": 0.4}


@lru_cache(maxsize=64)
def _dialogue_schema(characters: tuple[str, ...], n_lines: int) -> type[BaseModel]:
    speaker: Any = Literal[tuple(characters)]
    line: Any = create_model(
        "Line",
        character=(speaker, ...),
        text=(str, Field(min_length=2, max_length=180)),
    )
    return create_model(
        "Dialogue",
        title=(str, Field(max_length=60)),
        lines=(list[line], Field(min_length=2, max_length=n_lines)),
    )


def _repair_lines(lines: list[dict[str, str]], characters: list[str]) -> list[dict[str, str]]:
    """Drop empty and repeated lines; if one voice says everything, let them take turns."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        text = " ".join(str(line.get("text", "")).split())
        if len(text) < 2 or text.lower() in seen:
            continue
        seen.add(text.lower())
        kept.append({"character": str(line.get("character", characters[0])), "text": text})
    if len(characters) > 1 and len({ln["character"] for ln in kept}) == 1:
        for i, ln in enumerate(kept):
            ln["character"] = characters[i % len(characters)]
    return kept


def write_dialogue(
    characters: list[str],
    premise: str,
    setting: str = "",
    mood: str = "",
    n_lines: int = 6,
    notes: str = "",
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Write a short scene dialogue for the given characters.

    Args:
        characters: Names of the characters who speak (1 to 5).
        premise: What happens in the scene, in one or two sentences.
        setting: Where and when the scene takes place.
        mood: The emotional tone (e.g. warm, tense, playful).
        n_lines: How many lines to write (2 to 12).
        notes: Director's notes from earlier attempts to take into account.
    """
    assert ctx is not None
    cast = [c.strip() for c in characters if c.strip()][:5] or ["Narrator"]
    n_lines = max(2, min(12, n_lines))
    schema = _dialogue_schema(tuple(cast), n_lines)
    brief = f"\nStudio notes:\n{ctx.brief}" if ctx.brief else ""
    user = (
        f"Characters: {', '.join(cast)}\nSetting: {setting or 'unspecified'}\n"
        f"Mood: {mood or 'natural'}\nPremise: {premise}\nWrite {n_lines} lines."
        f"{brief}{chr(10) + 'Director notes: ' + notes if notes else ''}"
    )

    def fallback(reason: str) -> BaseModel:
        opener = f"Look at this place, {setting}." if setting else "Here we are."
        return schema.model_validate(
            {
                "title": premise[:60],
                "lines": [
                    {"character": cast[0], "text": opener},
                    {"character": cast[-1], "text": premise[:170] or "Let's begin."},
                ],
            }
        )

    value, decision = decide(
        schema,
        system_user(WRITER_PROMPT, user),
        node="write_dialogue",
        fallback=fallback,
        max_tokens=60 + 60 * n_lines,
        model=get_chat_model("writer").bind(**SAMPLING),  # type: ignore[arg-type]
    )
    data = value.model_dump()
    lines = _repair_lines(data["lines"], cast)
    script = "\n".join(f"{ln['character'].upper()}: {ln['text']}" for ln in lines)
    json_path = atomic_write_json(
        ctx.path("dialogue.json"), {"title": data["title"], "lines": lines}
    )
    md = f"# {data['title']}\n\n{script}\n"
    atomic_write_bytes(ctx.path("dialogue.md"), md.encode("utf-8"))
    return {
        "title": data["title"],
        "lines": lines,
        "script": script,
        "characters": cast,
        "decision": decision.method,
        "artifacts": [
            {"path": json_path.name, "kind": "json"},
            {"path": "dialogue.md", "kind": "text"},
        ],
    }


def check_dialogue(args: dict[str, Any], output: dict[str, Any]) -> dict[str, bool]:
    """Lines exist, every character speaks, and the model (not the fallback) wrote them."""
    lines = output.get("lines", [])
    speakers = {ln.get("character") for ln in lines}
    wanted = set(output.get("characters") or args.get("characters") or [])

    def varied(text: str) -> bool:
        words = text.lower().split()
        return len(set(words)) >= 0.5 * len(words)

    return {
        "has_lines": len(lines) >= 2,
        "no_repetition": all(varied(ln.get("text", "")) for ln in lines),
        "every_character_speaks": bool(wanted) and wanted <= speakers,
        "model_written": output.get("decision") != "fallback",
    }


def improve_dialogue(args: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """More room and the judge's reasons as notes."""
    new = dict(args)
    new["n_lines"] = min(12, int(args.get("n_lines", 6)) + 2)
    new["notes"] = "; ".join(reasons)[:400]
    return new


def register(registry: ToolRegistry) -> None:
    """Add write_dialogue."""
    registry.add(
        make_spec(
            write_dialogue,
            category="writing",
            est_seconds=4.0,
            model="llm:writer",
            outputs=("title", "lines", "script", "characters"),
            produces={"lines": "dialogue", "script": "text"},
            makes="dialogue",
            hints=("dialogue", "conversation", "script", "lines", "talk", "argument"),
            check=check_dialogue,
            improve=improve_dialogue,
        )
    )
