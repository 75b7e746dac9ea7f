"""write_dialogue: the writer model writes lines for the scene's characters."""

from __future__ import annotations

import re
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
    "descriptions of them. Each line: one character speaking one or two short sentences of "
    "their own, taking turns. Stay true to the characters and the setting. Write new words: "
    "never repeat the request, the notes or these instructions. Reply as JSON: a title and "
    "the lines, each line a character name and the words spoken."
)
DEFAULT_LINES = 6
# Small models loop ("my brother, my brother, ..."): penalize repeats (measured, ADR 2).
SAMPLING = {"frequency_penalty": 0.8, "presence_penalty": 0.4}


@lru_cache(maxsize=64)
def _dialogue_schema(characters: tuple[str, ...], n_lines: int) -> type[BaseModel]:
    speaker: Any = Literal[tuple(characters)]
    line: Any = create_model(
        "Line",
        character=(speaker, ...),
        text=(str, Field(min_length=2, max_length=120)),
    )
    return create_model(
        "Dialogue",
        title=(str, Field(max_length=60)),
        lines=(list[line], Field(min_length=min(2, n_lines), max_length=n_lines)),
    )


_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,40}>")
"""Markup a model sometimes wraps a line in (``<p>``): not words anyone says."""
_SELF_DESCRIBED = r"(?:is|are|was|were|has|have|had|looks|seems)\b"


def described(line: dict[str, str]) -> bool:
    """A line that describes its own speaker in the third person ("Luca is a boy who...").

    That is narration, not something the character says, whatever the line's label: the
    speaker's own name as the subject of "is/was/has..." or of a past-tense verb, anywhere in
    the line ("On the beach, Luca and Alberto talked about...").
    """
    who = str(line.get("character", "")).strip()
    if not who or who.lower() == "narrator":
        return False
    text = _TAG.sub(" ", str(line.get("text", ""))).strip().lstrip("\"'“‘ ")
    subject = rf"{re.escape(who)}(?:\s+and\s+[A-Z][\w'-]*)?"
    verb = rf"(?:{_SELF_DESCRIBED}|[a-z]{{2,}}ed\b)"
    return re.search(rf"(?<![\w'-]){subject}\s+{verb}", text, re.IGNORECASE) is not None


def _repair_lines(lines: list[dict[str, str]], characters: list[str]) -> list[dict[str, str]]:
    """Drop empty and repeated lines; if one voice says everything, let them take turns."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        text = " ".join(_TAG.sub(" ", str(line.get("text", ""))).split())
        if len(text) < 2 or text.lower() in seen:
            continue
        seen.add(text.lower())
        kept.append({"character": str(line.get("character", characters[0])), "text": text})
    if len(characters) > 1 and len({ln["character"] for ln in kept}) == 1:
        for i, ln in enumerate(kept):
            ln["character"] = characters[i % len(characters)]
    return kept


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def place_required(
    lines: list[dict[str, str]], required: list[dict[str, str]], cast: list[str], n_lines: int
) -> list[dict[str, str]]:
    """Make the quoted lines part of the dialogue, verbatim, by their speakers, within n_lines.

    A line the model already wrote verbatim (by the right speaker) stays where it is; a
    missing one replaces the same speaker's line nearest to the middle of the scene (any
    line when that speaker has none), so the count the person asked for still holds.
    """
    out = [dict(ln) for ln in lines]
    for quote in required:
        text = " ".join(str(quote.get("text", "")).split())
        who = str(quote.get("character") or "") or cast[0]
        if not text:
            continue
        if any(_norm(ln["text"]) == _norm(text) and ln["character"] == who for ln in out):
            continue
        fixed = {"character": who, "text": text}
        taken = {
            i
            for i, ln in enumerate(out)
            for q in required
            if _norm(ln["text"]) == _norm(str(q.get("text", "")))
        }
        free = [i for i in range(len(out)) if i not in taken]
        if len(out) < n_lines or not free:
            out.append(fixed)
        else:
            # Replace a line of the same speaker when there is one, so everyone keeps a line.
            middle = len(out) // 2
            same = [i for i in free if out[i]["character"] == who] or free
            out[min(same, key=lambda i: abs(i - middle))] = fixed
    return out[: max(n_lines, len(required))]


def write_dialogue(
    characters: list[str],
    premise: str,
    setting: str = "",
    mood: str = "",
    n_lines: int = 0,
    required_lines: list[dict[str, str]] | None = None,
    notes: str = "",
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Write a short scene dialogue for the given characters.

    Args:
        characters: Names of the characters who speak (1 to 8); each one gets a line.
        premise: What happens in the scene, in one or two sentences.
        setting: Where and when the scene takes place.
        mood: The emotional tone (e.g. warm, tense, excited).
        n_lines: Exactly how many lines to write (1 to 24); 0 lets the scene decide (about 6).
        required_lines: Lines the request quotes, spoken verbatim: [{"character", "text"}].
        notes: Director's notes from earlier attempts to take into account.
    """
    assert ctx is not None
    cast = [c.strip() for c in characters if c.strip()][:8] or ["Narrator"]
    required = [q for q in required_lines or [] if str(q.get("text", "")).strip()]
    for quote in required:
        who = str(quote.get("character") or "")
        if who and who not in cast:
            cast.append(who)
    exact = n_lines > 0
    n_lines = max(1, min(24, n_lines)) if exact else max(DEFAULT_LINES, len(required))
    schema = _dialogue_schema(tuple(cast), n_lines)
    brief = (
        f"\nWhat the studio knows (facts, not lines to reuse):\n{ctx.brief}" if ctx.brief else ""
    )
    must = "".join(
        f"\nOne line must be, word for word: {q.get('character') or cast[0]}: {q['text']}"
        for q in required
    )
    user = (
        f"Characters: {', '.join(cast)}\nSetting: {setting or 'unspecified'}\n"
        f"Mood: {mood or 'natural'}\nPremise: {premise}\n"
        f"Write {'exactly' if exact else 'up to'} {n_lines} lines."
        f"{must}{brief}{chr(10) + 'Director notes: ' + notes if notes else ''}"
    )

    def fallback(reason: str) -> BaseModel:
        # No invented dialogue: a reply we cannot read is a failed step, not a made one.
        raise RuntimeError(f"the writer model gave no usable dialogue ({reason[:160]})")

    value, decision = decide(
        schema,
        system_user(WRITER_PROMPT, user),
        node="write_dialogue",
        fallback=fallback,
        max_tokens=40 + 55 * n_lines,
        model=get_chat_model("writer").bind(**SAMPLING),  # type: ignore[arg-type]
    )
    data = value.model_dump()
    lines = place_required(_repair_lines(data["lines"], cast), required, cast, n_lines)
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
    """The request's constraints hold: count, speakers, quoted lines; no loops, no echoes."""
    lines = output.get("lines", [])
    speakers = {ln.get("character") for ln in lines}
    wanted = set(args.get("characters") or output.get("characters") or [])
    n_lines = int(args.get("n_lines") or 0)
    required = [q for q in args.get("required_lines") or [] if str(q.get("text", "")).strip()]

    def varied(text: str) -> bool:
        words = text.lower().split()
        return len(set(words)) >= 0.5 * len(words)

    def spoken(quote: dict[str, str]) -> bool:
        who = quote.get("character") or ""
        return any(
            _norm(ln.get("text", "")) == _norm(str(quote.get("text", "")))
            and (not who or ln.get("character") == who)
            for ln in lines
        )

    return {
        "has_lines": len(lines) >= 1,
        "line_count": not n_lines or len(lines) == max(n_lines, len(required)),
        "no_repetition": all(varied(ln.get("text", "")) for ln in lines),
        "every_character_speaks": bool(wanted) and wanted <= speakers,
        "quoted_lines_spoken": all(spoken(q) for q in required),
        "spoken_not_described": not any(described(ln) for ln in lines),
        "model_written": output.get("decision") != "fallback",
    }


def improve_dialogue(args: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """The evaluation's reasons as notes; the count the person asked for never changes."""
    new = dict(args)
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
