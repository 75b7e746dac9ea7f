"""Scripted chat models for the acceptance suite: a cooperative but imperfect one, garbage, echo.

``StudioFake`` fills whatever JSON schema it is given from the prompt text, the way a small
instruct model does on a good day: it finds deliverables by keywords, takes every capitalized
word for a character (places and brands included: the product must filter them), writes as
many lines as the prompt asks for, puts a quoted line in the first speaker's mouth, and judges
everything 0.8. Field names it does not know get the schema's minimal value, so new schema
fields in the product do not break it.

``variant="garbage"`` answers prose that is no JSON at all; ``variant="echo"`` fills every
string with the request and scores itself 1.0. A product must not accept either's output.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult

from services.fake_llm import FakeChatModel, example_from_schema

Variant = Literal["cooperative", "garbage", "echo"]

_KINDS = {
    "dialogue": r"dialog|conversation|lines?\b|talk|argu|banter|exchange|quarrel|chat|story|says?",
    "voice": r"voice|aloud|record|narrat|audio|radio",
    "scene": r"\bscene|animatic|video",
    "image": r"image|picture|draw|poster|keyframe|storyboard|panel|shots?\b|background",
}
_KIND_TOOL = {
    "dialogue": "write_dialogue",
    "voice": "synthesize_voice",
    "scene": "assemble_scene",
    "image": "generate_image",
}
_TONES = ("angry", "excited", "calm", "sad", "cheerful", "nervous", "menacing", "dramatic")
_STOP = {
    "write",
    "make",
    "lines",
    "line",
    "dialogue",
    "short",
    "give",
    "with",
    "about",
    "their",
    "while",
    "where",
    "that",
    "this",
    "then",
    "into",
    "from",
    "please",
    "characters",
    "setting",
    "premise",
    "mood",
    "natural",
    "unspecified",
}
_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_QUOTE = re.compile(r"[\"\u201c]([^\"\u201d]{2,120})[\"\u201d]|(?<![\w])'([^']{2,120}?)'(?![\w])")


def _user_text(messages: list[BaseMessage]) -> str:
    humans = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
    return humans[0] if humans else (str(messages[-1].content) if messages else "")


def _field(text: str, name: str) -> str:
    match = re.search(rf"^{name}:\s*(.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def _request(text: str) -> str:
    """The request inside a node's prompt (``Request:`` / ``Premise:`` line), else the text."""
    return _field(text, "Request") or _field(text, "Premise") or _field(text, "Goal") or text


def _capitalized(text: str) -> list[str]:
    found: list[str] = []
    for sentence in re.split(r"[.!?:]\s+", text):
        for i, word in enumerate(re.findall(r"\b[A-Z][a-zA-Z-]+\b", sentence)):
            if i == 0 and sentence.startswith(word):
                continue
            if word not in found:
                found.append(word)
    return found


def _count(text: str, nouns: str) -> int | None:
    match = re.search(rf"\b(\d+|{'|'.join(_NUMBERS)})[- ](?:\w+[- ])?(?:{nouns})\b", text, re.I)
    if not match:
        return None
    token = match.group(1).lower()
    return int(token) if token.isdigit() else _NUMBERS[token]


def _content_words(text: str) -> list[str]:
    seen: list[str] = []
    for w in re.findall(r"[a-z]{4,}", text.lower()):
        if w not in _STOP and w not in seen:
            seen.append(w)
    return seen or ["moment", "weather", "plan", "tomorrow"]


class StudioFake(FakeChatModel):
    """Fills each requested schema from the prompt; see the module docstring."""

    variant: Variant = "cooperative"

    @property
    def _llm_type(self) -> str:
        return f"animagent-acceptance-{self.variant}"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        fmt = kwargs.get("response_format") or {}
        spec = fmt.get("json_schema", {}) if isinstance(fmt, dict) else {}
        name = str(spec.get("name", ""))
        self.calls.append({"schema": name, "messages": messages, "kwargs": kwargs})
        text = _user_text(messages)
        if self.variant == "garbage":
            content = f"Sure! Here is what you asked for :) {text[:40]} ... (no JSON, sorry)"
        elif spec:
            schema = spec.get("schema", {})
            content = json.dumps(self.fill(schema, schema, "", text, name))
        else:
            content = _request(text)[:200] if self.variant == "echo" else "OK."
        usage: UsageMetadata = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        message = AIMessage(content=content, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def fill(
        self, node: dict[str, Any], root: dict[str, Any], key: str, text: str, name: str
    ) -> Any:
        """A value for schema ``node`` (the property ``key``) read from the prompt ``text``."""
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self.fill(
                root.get("$defs", {}).get(ref.split("/")[-1], {}), root, key, text, name
            )
        if "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"] or node["anyOf"]
            return self.fill(options[0], root, key, text, name)
        kind = node.get("type")
        if kind == "object":
            props = node.get("properties", {})
            return {k: self.fill(v, root, k, text, name) for k, v in props.items()}
        special = self._special(node, root, key, text, name)
        return special if special is not None else example_from_schema(node, root)

    def _special(  # noqa: C901 - one branch per field name a product schema may use
        self, node: dict[str, Any], root: dict[str, Any], key: str, text: str, name: str
    ) -> Any:
        request = _request(text)
        echo = self.variant == "echo"
        kind = node.get("type")
        enum = node.get("items", {}).get("enum") if kind == "array" else node.get("enum")
        if key in ("score", "confidence") and kind == "number":
            return 1.0 if echo else 0.8
        if key == "reasons" and kind == "array":
            return [request[:80]] if echo else ["clear and on topic"]
        if key == "deliverables" and enum:
            wanted = [k for k, pat in _KINDS.items() if re.search(pat, request, re.I)]
            return [k for k in wanted if k in enum] or [enum[-1]]
        if key in ("characters", "speakers") and kind == "array":
            return _capitalized(request)[: int(node.get("maxItems", 5))]
        if key == "lines" and kind == "array":
            return self._lines(node, root, text)
        if key == "steps" and kind == "array":
            return self._steps(node, root, text)
        if key == "quotes" and kind == "array":
            return [{"character": "", "text": a or b} for a, b in _QUOTE.findall(request)][:3]
        if kind == "integer" and key in ("lines", "n_lines", "images", "shots"):
            nouns = "lines?" if "line" in key else "images?|shots?|panels?|keyframes?"
            return _count(request, nouns) or int(node.get("minimum", 1))
        if kind == "string" and not enum:
            limit = int(node.get("maxLength", 200))
            if echo:
                return request[:limit]
            value = {
                "goal": request.split(".")[0],
                "setting": (
                    re.findall(r"\b(?:in|at|on|outside) (?:the |a )?([\w -]{3,40})", request)
                    or [""]
                )[0],
                "mood": next((t for t in _TONES if t[:4] in request.lower()), ""),
                "tone": next((t for t in _TONES if t[:4] in request.lower()), ""),
                "question": "Which characters should speak, and where?",
                "lesson": "Keep every line short and in character.",
                "title": " ".join(_content_words(request)[:3]).title(),
                "reasoning": "Write the lines first, then voice them.",
            }.get(key)
            return value[:limit] if value is not None else None
        return None

    def _lines(self, node: dict[str, Any], root: dict[str, Any], text: str) -> list[dict[str, str]]:
        item = node.get("items", {})
        if "$ref" in item:
            item = root.get("$defs", {}).get(item["$ref"].split("/")[-1], {})
        speaker = item.get("properties", {}).get("character", {})
        cast = (
            list(speaker.get("enum") or [])
            or [c.strip() for c in _field(text, "Characters").split(",") if c.strip()]
            or ["Narrator"]
        )
        asked = re.search(r"Write (\d+) lines", text)
        n = int(asked.group(1)) if asked else int(node.get("maxItems", 4))
        n = max(int(node.get("minItems", 1)), min(n, int(node.get("maxItems", n))))
        request = _request(text)
        if self.variant == "echo":
            return [{"character": cast[i % len(cast)], "text": request[:170]} for i in range(n)]
        names = {c.lower() for c in _capitalized(request)}
        topic = [w for w in _content_words(request) if w not in names] or _content_words("")
        quotes = [a or b for a, b in _QUOTE.findall(text)]
        lines = []
        for i in range(n):
            other = cast[(i + 1) % len(cast)]
            w = [topic[(i + j) % len(topic)] for j in range(4)]
            line = f"{w[0].capitalize()}, {other}? Not {w[2]} without {w[1]}, {w[3]} first!"
            lines.append({"character": cast[i % len(cast)], "text": line})
        if quotes:  # imperfect: the first quote goes to whoever speaks first
            lines[0]["text"] = quotes[0]
        return lines

    def _steps(self, node: dict[str, Any], root: dict[str, Any], text: str) -> list[dict[str, Any]]:
        item = node.get("items", {})
        if "$ref" in item:
            item = root.get("$defs", {}).get(item["$ref"].split("/")[-1], {})
        tools = list(item.get("properties", {}).get("tool", {}).get("enum") or [])
        kinds = [k.strip() for k in _field(text, "Deliverables").split(",") if k.strip()]
        wanted = [_KIND_TOOL[k] for k in kinds if _KIND_TOOL.get(k) in tools]
        if "assemble_scene" in wanted and "synthesize_voice" not in wanted:
            wanted.insert(wanted.index("assemble_scene"), "synthesize_voice")
        steps = []
        for i, tool in enumerate(dict.fromkeys(wanted), start=1):
            steps.append(
                {"id": f"s{i}", "tool": tool, "depends_on": [f"s{i - 1}"] if i > 1 else []}
            )
        return steps[: int(node.get("maxItems", len(steps) or 1))]
