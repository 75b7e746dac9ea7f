"""understand: read the request into an Intent (LLM draft, then deterministic checks)."""

from __future__ import annotations

import re
from typing import Literal

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from configs.settings import get_settings
from nodes import prompts
from nodes.common import RequestError, context_of, effective_request
from services.structured import decide, system_user
from state import Context, Intent, State, Thought
from state.models import Deliverable

DEFAULT_QUESTION = (
    "What should I make (a dialogue, voice lines, images or a full scene), and with which "
    "characters and setting?"
)

_RULES: list[tuple[str, tuple[Deliverable, ...]]] = [
    (r"\bscenes?\b|\bepisode\b|\bsketch\b", ("dialogue", "voice", "scene")),
    (
        r"\bdialog(ue)?s?\b|\bconversation\b|\btalk\w*\b|\bchat\w*\b|\bscript\b|\blines\b",
        ("dialogue",),
    ),
    (
        r"\bvoices?\b|\bspeak\w*\b|\bsay\w*\b|\baudio\b|\bnarrat\w*\b|\bread aloud\b",
        ("dialogue", "voice"),
    ),
    (
        r"\bimages?\b|\bpictures?\b|\bdraw\w*\b|\bkeyframes?\b|\bbackgrounds?\b|\billustrat\w*\b"
        r"|\bposter\b|\bconcept art\b|\bportrait\b",
        ("image",),
    ),
]
_NOT_NAMES = {
    "create",
    "make",
    "write",
    "draw",
    "generate",
    "a",
    "an",
    "the",
    "please",
    "i",
    "we",
    "it",
    "show",
    "give",
    "can",
    "could",
    "would",
    "let",
    "scene",
    "short",
    "what",
    "how",
    "when",
}
_SETTING = re.compile(r"\b(?:on|at|in|inside|under|near)\s+(?:the\s+|a\s+)?[\w\s'-]{3,60}$", re.I)


class IntentDraft(BaseModel):
    """What the model is asked to fill (bounded so a small model cannot run away)."""

    goal: str = Field(max_length=160)
    deliverables: list[Literal["dialogue", "voice", "image", "scene", "answer"]] = Field(
        max_length=4
    )
    characters: list[str] = Field(max_length=5)
    setting: str = Field(max_length=80)
    mood: str = Field(max_length=30)
    needs_web: bool
    confidence: float = Field(ge=0.0, le=1.0)
    question: str = Field(max_length=160)


def rule_deliverables(text: str) -> list[Deliverable]:
    """Deliverables named by unmistakable words in the request."""
    found: list[Deliverable] = []
    for pattern, kinds in _RULES:
        if re.search(pattern, text, re.I):
            found.extend(k for k in kinds if k not in found)
    return found


def names_in(text: str) -> list[str]:
    """Capitalized words that read as names (not the first word of a sentence or a verb)."""
    names: list[str] = []
    for sentence in re.split(r"[.!?]\s+", text):
        for i, word in enumerate(re.findall(r"\b[A-Z][a-zA-Z'-]+\b", sentence)):
            if word.lower() in _NOT_NAMES or (i == 0 and sentence.startswith(word)):
                continue
            if word not in names:
                names.append(word)
    return names


def clarity(
    text: str, deliverables: list[Deliverable], characters: list[str], setting: str
) -> float:
    """How clear a request is from its form alone (0.2 .. 1.0)."""
    score = 0.2
    score += 0.3 if deliverables else 0.0
    score += 0.25 if (characters or setting) else 0.0
    score += 0.25 if len(text.split()) >= 5 else 0.0
    return min(1.0, score)


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 3}


def grounded_goal(text: str, goal: str) -> str:
    """The model's restatement when it is about the request, else the request itself."""
    goal = goal.strip()
    if len(_content_words(goal) & _content_words(text)) >= 2:
        return goal
    return text.strip()[:160]


def merge_intent(text: str, draft: IntentDraft) -> Intent:
    """Keep what the request supports; fill the rest from rules; blend confidence."""
    lowered = text.lower()
    characters: list[str] = []
    # Names as the request spells them, once each: a model's "luca" and the rule's "Luca" are
    # one character (two spellings would make "every character speaks" unsatisfiable).
    for name in [*draft.characters, *names_in(text)]:
        match = re.search(rf"\b{re.escape(name.strip())}\b", text, re.I) if name.strip() else None
        if match is None or match.group(0).casefold() in {c.casefold() for c in characters}:
            continue
        word = match.group(0)
        if word[0].isupper() or (len(word) >= 3 and word.lower() not in _NOT_NAMES):
            characters.append(word)
    deliverables = rule_deliverables(text) or list(dict.fromkeys(draft.deliverables)) or ["answer"]
    setting = draft.setting.strip()
    if not setting or not any(w in lowered for w in setting.lower().split() if len(w) > 3):
        match = _SETTING.search(text.strip().rstrip(".!"))
        setting = match.group(0).strip() if match else ""
    confidence = 0.7 * clarity(text, rule_deliverables(text), characters, setting) + 0.3 * float(
        draft.confidence
    )
    question = draft.question.strip()
    if not question.endswith("?") or len(question) < 10:
        question = DEFAULT_QUESTION
    return Intent(
        goal=grounded_goal(text, draft.goal),
        deliverables=deliverables,
        characters=characters[:5],
        setting=setting,
        mood=draft.mood.strip(),
        needs_web=bool(draft.needs_web),
        confidence=round(min(1.0, max(0.0, confidence)), 3),
        question=question,
    )


def understand(state: State, runtime: Runtime[Context]) -> dict[str, object]:
    """Turn the request (plus clarifications) into an Intent."""
    ctx = context_of(runtime)
    text = effective_request(state)
    limit = get_settings().agent.max_request_chars
    if len(text) > limit:
        raise RequestError(
            f"The request is {len(text)} characters; the limit is {limit}. Shorten it, or raise "
            "ANIMAGENT_AGENT__MAX_REQUEST_CHARS."
        )
    if not text:
        intent = Intent(goal="", confidence=0.0, question=DEFAULT_QUESTION)
        return {
            "intent": intent,
            "thoughts": [Thought(node="understand", text="The request is empty: I need to ask.")],
        }

    def fallback(reason: str) -> IntentDraft:
        return IntentDraft(
            goal=text[:160],
            deliverables=[],
            characters=[],
            setting="",
            mood="",
            needs_web=False,
            confidence=0.5,
            question="",
        )

    draft, decision = decide(
        IntentDraft,
        system_user(prompts.UNDERSTAND, text),
        node="understand",
        fallback=fallback,
        max_tokens=220,
    )
    intent = merge_intent(text, draft)
    note = (
        f"Goal: {intent.goal} | deliver {', '.join(intent.deliverables)} | characters "
        f"{', '.join(intent.characters) or 'none'} | setting {intent.setting or 'unspecified'} | "
        f"confidence {intent.confidence:.2f} (ask below {ctx.clarify_threshold:.2f})"
    )
    return {
        "intent": intent,
        "thoughts": [Thought(node="understand", text=note)],
        "decisions": [decision],
    }
