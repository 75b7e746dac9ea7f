"""A judge that can see: an image result scored by a multimodal model, when one is configured.

Any OpenAI-compatible server with vision (Qwen2.5-VL behind vLLM or Ollama, OpenAI) set as
``roles.vision_judge`` receives the picture as a data URL next to the goal and the prompt it
was made from, and answers a score and reasons as JSON. Without that role the image's
measurable checks (``services.image_checks``) are the score. An unreachable server or an
answer that is not the asked-for JSON leaves the image unjudged, with the reason; it never
passes or fails an image on its own.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from configs.settings import LLMSettings, Settings

PROMPT = (
    "You judge one generated image for an animation studio. Compare it with the goal and the "
    "prompt it was made from: subject, characters, setting, time of day, style. Answer only a "
    'JSON object: {"score": <0..1>, "reasons": [<at most 3 short reasons>]}.'
)


class _Answer(BaseModel):
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list, max_length=3)


@dataclass
class VisionVerdict:
    """What the vision model said (``judged`` False: it could not say anything usable)."""

    judged: bool
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)


def image_path(output: dict[str, Any], run_dir: Path) -> Path | None:
    """The image file of a step output, if it made one."""
    rel = output.get("image")
    if not isinstance(rel, str) or not rel:
        return None
    path = Path(rel) if Path(rel).is_absolute() else run_dir / rel
    return path if path.is_file() else None


def parse_answer(text: str) -> _Answer | None:
    """The first JSON object in ``text`` with a score in 0..1, or None."""
    for match in re.finditer(r"\{.*?\}", text, re.DOTALL):
        try:
            return _Answer.model_validate(json.loads(match.group(0)))
        except (json.JSONDecodeError, ValidationError):
            continue
    return None


def judge_image(path: Path, goal: str, prompt: str, cfg: LLMSettings) -> VisionVerdict:
    """Ask the vision model about one image; never raises."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from services.llm import LLMUnavailableError, build_chat_model

    mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
    url = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
    message = HumanMessage(
        content=[
            {"type": "text", "text": f"Goal: {goal}\nImage prompt: {prompt}"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
    )
    try:
        model = build_chat_model(cfg)
        reply = model.invoke([SystemMessage(PROMPT), message])
    except LLMUnavailableError as exc:
        return VisionVerdict(False, reasons=[f"vision judge unavailable: {exc}"[:200]])
    except Exception as exc:  # the server is a guest: any failure means "not judged"
        return VisionVerdict(
            False,
            reasons=[
                f"vision judge at {cfg.base_url} failed ({type(exc).__name__}: "
                f"{str(exc)[:120]}); fix roles.vision_judge"
            ],
        )
    text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
    answer = parse_answer(text)
    if answer is None:
        return VisionVerdict(
            False, reasons=[f"vision judge answered no usable score: {text.strip()[:80]!r}"]
        )
    return VisionVerdict(True, round(answer.score, 3), [r for r in answer.reasons if r][:3])


def judge_media(
    output: dict[str, Any], goal: str, run_dir: Path | None, settings: Settings
) -> VisionVerdict | None:
    """The vision verdict for an image output, or None (no image, or no vision judge set)."""
    cfg = settings.roles.vision_judge
    if cfg is None or run_dir is None:
        return None
    path = image_path(output, run_dir)
    if path is None:
        return None
    return judge_image(path, goal, str(output.get("prompt", "")), cfg)
