"""Function definitions to JSON schemas, and schemas grounded in what the request says.

Function definitions arrive OpenAI/JSON-schema style, or BFCL style (``type`` "dict", "float",
"tuple", "any"). ``to_json_schema`` turns either into plain JSON schema that llama.cpp's
grammar engine (llguidance) enforces: names, types, enums and required keys.

``ground`` narrows a parameter schema to the literal values the request mentions (numbers,
quoted strings, spans of words). A small model is bad at inventing values and good at copying
one of a few: constraining a slot to the request's own values turns "write a number" into
"pick one of these", which is extractive slot filling (docs/decisions/0007-function-calling.md).
"""

from __future__ import annotations

import re
from typing import Any

_TYPE_MAP = {
    "dict": "object",
    "object": "object",
    "float": "number",
    "number": "number",
    "double": "number",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "string": "string",
    "str": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    # BFCL's checker maps "any" to str: a string is the only value that can pass.
    "any": "string",
}
MAX_STRING = 120
MAX_ITEMS = 8

_WORD_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "thousand": 1000, "million": 1000000,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "tenth": 10,
    "once": 1, "twice": 2, "double": 2, "half": 0.5, "quarter": 0.25, "dozen": 12,
}  # fmt: skip
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:[eE]-?\d+)?(%?)")
_QUOTED = re.compile(r"'([^']{1,80})'|\"([^\"]{1,80})\"|`([^`]{1,80})`")
_TOKEN = re.compile(r"[\w$€£%°³²'.:/@&+-]+")
_EDGE = ".,;:!?'\"()[]"


def json_type(kind: Any) -> str | None:
    """The JSON-schema type for a BFCL/OpenAI type name (None when unknown)."""
    return _TYPE_MAP.get(str(kind).lower()) if kind else None


def to_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """Convert one parameter definition (BFCL or OpenAI style) into enforceable JSON schema.

    Descriptions are dropped (the prompt carries them; the grammar ignores them); strings and
    arrays get length bounds so a small model cannot run away.
    """
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list) and "type" not in node:
        # pydantic writes Optional[X] as anyOf [X, null]: an omitted argument says "none".
        concrete = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
        if len(concrete) == 1:
            return to_json_schema(concrete[0])
        return {"anyOf": [to_json_schema(o) for o in concrete]}
    kind = json_type(node.get("type"))
    out: dict[str, Any] = {}
    if "enum" in node and isinstance(node["enum"], list) and node["enum"]:
        out["enum"] = list(node["enum"])
        if kind:
            out["type"] = kind
        return out
    match kind:
        case "object":
            props = node.get("properties") or {}
            out = {"type": "object", "additionalProperties": False}
            if props:
                out["properties"] = {k: to_json_schema(v) for k, v in props.items()}
                out["required"] = [r for r in node.get("required", []) if r in props]
            else:
                out["additionalProperties"] = {"type": ["string", "number", "boolean"]}
        case "array":
            out = {"type": "array", "maxItems": MAX_ITEMS}
            items = node.get("items")
            if isinstance(items, dict) and items:
                out["items"] = to_json_schema(items)
        case "string":
            out = {"type": "string", "maxLength": MAX_STRING}
        case None:
            out = {"type": "string", "maxLength": MAX_STRING}
        case _:
            out = {"type": kind}
    return out


def mentioned_numbers(text: str) -> list[int | float]:
    """Numbers the text mentions, in order, without duplicates ("5%" also gives 0.05)."""
    found: list[int | float] = []
    for match in _NUMBER.finditer(text):
        raw = match.group(0).rstrip("%").replace(",", "")
        if not raw or raw in {"-", "."}:
            continue
        try:
            value: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            continue
        found.append(value)
        if match.group(1):
            found.append(round(float(value) / 100, 10))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _WORD_NUMBERS:
            found.append(_WORD_NUMBERS[word])
    unique: list[int | float] = []
    for value in found:
        if not any(value == u and type(value) is type(u) for u in unique):
            unique.append(value)
    return unique


def mentioned_spans(text: str, max_words: int = 6) -> list[str]:
    """Quoted strings, then every run of up to ``max_words`` words, edges stripped."""
    spans: list[str] = []
    for match in _QUOTED.finditer(text):
        spans.append(next(g for g in match.groups() if g))
    # Spans keep the text between their words ("San Francisco, CA"), edges stripped.
    tokens = [m for m in _TOKEN.finditer(text) if m.group(0).strip(_EDGE)]
    for size in range(1, max_words + 1):
        for start in range(0, len(tokens) - size + 1):
            first, last = tokens[start], tokens[start + size - 1]
            spans.append(text[first.start() : last.end()].strip(_EDGE + " "))
    return [s for s in dict.fromkeys(spans) if s and len(s) <= MAX_STRING]


def ground(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """Narrow free numbers and strings of ``schema`` to values that ``text`` mentions.

    Slots with an enum keep it; a slot whose type the text offers no value for stays free
    (a default the request does not state must still be writable).
    """
    numbers = mentioned_numbers(text)
    spans = mentioned_spans(text)
    return _ground(schema, numbers, spans)


def _ground(node: dict[str, Any], numbers: list[int | float], spans: list[str]) -> dict[str, Any]:
    if "enum" in node:
        return node
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        props = {k: _ground(v, numbers, spans) for k, v in node["properties"].items()}
        return {**node, "properties": props}
    if kind == "array" and isinstance(node.get("items"), dict):
        items = _ground(node["items"], numbers, spans)
        if "enum" in items and "enum" not in node["items"]:
            # A list of mentioned values holds each at most once or so: without a bound a
            # small model repeats one value until max_tokens cuts the reply off.
            bound = len(items["enum"])
            node = {**node, "maxItems": min(int(node.get("maxItems", bound)), bound)}
        return {**node, "items": items}
    if kind == "integer":
        ints = [int(n) for n in numbers if isinstance(n, int) or float(n).is_integer()]
        return {"type": "integer", "enum": list(dict.fromkeys(ints))} if ints else node
    if kind == "number":
        return {"type": "number", "enum": list(numbers)} if numbers else node
    if kind == "string" and spans:
        return {"type": "string", "enum": spans}
    return node
