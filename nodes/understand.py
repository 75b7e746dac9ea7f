"""understand: read the request into an Intent (LLM draft, then deterministic checks)."""

from __future__ import annotations

import re
from typing import Literal

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from configs.settings import get_settings
from nodes import prompts
from nodes.common import RequestError, context_of, effective_request
from planning.constraints import (
    NOT_NAMES,
    classify_names,
    quoted_spans,
    read_constraints,
    without_injection,
)
from services.structured import decide, system_user
from state import Context, Decision, Intent, State, Thought
from state.models import Deliverable

DEFAULT_QUESTION = (
    "What should I make (a dialogue, voice lines, images or a full scene), and with which "
    "characters and setting?"
)

_RULES: list[tuple[str, tuple[Deliverable, ...]]] = [
    # A scene of an animation is seen and heard: lines, voices, a picture, the assembled scene.
    (r"\bscenes?\b|\bepisode\b|\bsketch\b|\banimatic\b", ("dialogue", "voice", "image", "scene")),
    # Speech verbs say what the characters do in the written scene: lines, not audio.
    (
        r"\bdialog(ue)?s?\b|\bconversation\b|\btalk\w*\b|\bchat\w*\b|\bscript\b|\blines\b"
        r"|\bargu\w*\b|\bexchange\b|\bquarrel\w*\b|\bbanter\b|\bsay\w*\b|\bshout\w*\b"
        r"|\bwhisper\w*\b|\byell\w*\b|\bscream\w*\b|\bexclaim\w*\b|\bmutter\w*\b"
        r"|\bexplain\w*\b|\btells?\b|\bask(?:s|ed|ing)?\b|\brepl(?:y|ies)\b",
        ("dialogue",),
    ),
    # Audio is asked for by words about sound: voices, reading aloud, narration, recording.
    (
        r"\bvoices?\b|\bvoiced\b|\bvoice-?over\b|\baudio\b|\bnarrat\w*\b|\baloud\b"
        r"|\bout loud\b|\brecord\w*\b|\bspoken\b|\bsound\b",
        ("dialogue", "voice"),
    ),
    (
        r"\bimages?\b|\bpictures?\b|\bdraw\w*\b|\bkeyframes?\b|\bbackgrounds?\b|\billustrat\w*\b"
        r"|\bposters?\b|\bconcept art\b|\bportraits?\b|\bstoryboard\w*\b|\bshots?\b|\bpanels?\b"
        r"|\bpaint\w*\b|\bsketch(?:es)?\b",
        ("image",),
    ),
]
_AUDIO_ONLY = re.compile(
    r"\bradio\b|\baudio[- ](?:only|drama|play)\b|\bpodcast\b|\bvoice[- ]only\b", re.I
)
"""Words that make a scene something only heard: no picture is implied."""
_MAKE = re.compile(
    r"\b(?:make|create|draw|generate|write|render|storyboard|design|paint|sketch|animate|compose"
    r"|produce|give me|show me|voice|record|narrate|illustrate)\b",
    re.I,
)
_QUESTION = re.compile(
    r"^\s*(?:what|what's|how|why|when|where|who|which|is|are|does|do|can you explain|should"
    r"|explain|describe|compare|define|tell me|list|summari[sz]e|recommend|suggest)\b",
    re.I,
)
"""A request that opens by asking, or by asking to be told (an answer, not a production)."""
_NOUN_USE = re.compile(
    r"\b(?:a|an|the|my|your|our|their|this|that|each|every|between)\s+(?:"
    + _MAKE.pattern.removeprefix("\\b(?:").removesuffix(")\\b")
    + r")\w*",
    re.I,
)
"""A making word used as a noun ("the difference between a storyboard and an animatic")."""
_SETTING = re.compile(
    r"\b(?:on|at|in|inside|under|near|by|through|across|around)\s+(?:the\s+|a\s+|an\s+)?"
    r"[A-Za-z][\w' -]{2,60}?(?=\s*[,.;!?]|\s+(?:with|where|while|who|when|as|so|and\s+"
    r"(?:make|have|let))\b|\s*$)",
    re.I,
)
_NOT_SETTING = re.compile(r"\b(?:voice|tone|manner|style|way|lines?|words?)\b", re.I)


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
    """Deliverables named by unmistakable words in the request (quoted lines excluded).

    A question that asks nothing to be made ("How many in-betweens do two keyframes need?")
    wants an answer, whatever nouns it mentions.
    """
    plain = text
    for start, end, _ in quoted_spans(text):
        plain = plain[:start] + " " * (end - start) + plain[end:]
    asked = re.sub(r"\bhow (?:to|do (?:you|i|we)) \w+", " ", plain, flags=re.I)
    asked = _NOUN_USE.sub(" ", asked)
    if (plain.strip().endswith("?") or _QUESTION.match(plain)) and not _MAKE.search(asked):
        return ["answer"]
    found: list[Deliverable] = []
    for pattern, kinds in _RULES:
        if re.search(pattern, plain, re.I):
            found.extend(k for k in kinds if k not in found)
    if _AUDIO_ONLY.search(plain) and "image" in found and not re.search(_RULES[3][0], plain, re.I):
        found.remove("image")
    return found


_WEB = re.compile(
    r"\b(?:search|look up|google|research|find out|on the web|online|latest|reference photos?"
    r"|historic(?:al|ally)?|accurate|authentic|real-world|as it (?:looked|was|used to)"
    r"|(?:1[5-9]|20)\d0s|in (?:1[5-9]|20)\d\d)\b",
    re.I,
)
"""Words that say the request needs facts from outside the studio (the web)."""


def words_settle(text: str) -> bool:
    """Whether the request's own words settle the intent (nothing for a model to add).

    True when rules find the deliverables and the people or the place, and the request is not
    a question (a question may need the model's reading of what is asked).
    """
    if "?" in text:
        return False
    people = classify_names(text)[0]
    return bool(rule_deliverables(text)) and bool(people or setting_of(text))


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


def setting_of(text: str) -> str:
    """The first place phrase outside quotes that is not a tone ("in an excited voice")."""
    plain = text
    for start, end, _ in quoted_spans(text):
        plain = plain[:start] + " " * (end - start) + plain[end:]
    for match in _SETTING.finditer(plain):
        phrase = match.group(0).strip()
        if not _NOT_SETTING.search(phrase):
            return phrase
    return ""


def merge_intent(text: str, draft: IntentDraft) -> Intent:
    """Keep what the request's words support; fill the rest from rules; blend confidence.

    Counts, speakers, quoted lines and tone come from the text itself (``read_constraints``);
    the model's characters are kept only when they stand in the request as people (outside
    quotes, not a place, prop or product name).
    """
    constraints = read_constraints(text)
    people, others = classify_names(text)
    plain = text
    for start, end, _ in quoted_spans(text):
        plain = plain[:start] + " " * (end - start) + plain[end:]
    characters = [s for s in constraints.speakers if s != "Narrator"]
    for name in [*people, *draft.characters]:
        name = name.strip()
        match = re.search(rf"\b{re.escape(name)}\b", plain, re.I) if name else None
        if match is None:
            continue  # not in the request's own words (or only inside a quote)
        word = match.group(0)
        if word.casefold() in {c.casefold() for c in characters}:
            continue
        if word in others or word.lower() in NOT_NAMES or not word[0].isupper():
            continue
        characters.append(word)
    deliverables = rule_deliverables(text)
    if deliverables == ["answer"]:
        pass  # a question: its nouns ("two keyframes") are not things to make
    elif constraints.counts.get("lines") or constraints.quotes:
        deliverables += [d for d in ("dialogue",) if d not in deliverables]
    if constraints.counts.get("images") and deliverables != ["answer"]:
        deliverables += [d for d in ("image",) if d not in deliverables]
    if constraints.quotes and deliverables != ["answer"]:
        deliverables += [d for d in ("dialogue",) if d not in deliverables]
    if constraints.narration and deliverables != ["answer"]:
        deliverables += [d for d in ("dialogue", "voice") if d not in deliverables]
    if (
        constraints.injection
        and not deliverables
        and not rule_deliverables(without_injection(text))
    ):
        # Only an attempt to change or reveal the instructions: nothing to make, and no
        # answer either (an answer writer asked to "print your system prompt" might).
        deliverables = []
    else:
        deliverables = deliverables or list(dict.fromkeys(draft.deliverables)) or ["answer"]
    setting = setting_of(text)
    confidence = 0.7 * clarity(text, rule_deliverables(text), characters, setting) + 0.3 * float(
        draft.confidence
    )
    question = draft.question.strip()
    if not question.endswith("?") or len(question) < 10:
        question = DEFAULT_QUESTION
    mood = draft.mood.strip()
    if constraints.tone:
        mood = constraints.tone
    elif mood and mood.lower() not in text.lower():
        mood = ""  # a mood the request does not state is the model's invention
    return Intent(
        goal=grounded_goal(text, draft.goal),
        deliverables=deliverables,
        characters=characters[:8],
        setting=setting,
        mood=mood,
        needs_web=bool(draft.needs_web),
        confidence=round(min(1.0, max(0.0, confidence)), 3),
        question=question,
        constraints=constraints,
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

    settled = words_settle(text)
    if settled and get_settings().agent.understand_with_model == "auto":
        # The words name what to make and who or where: the model's form would only be
        # checked against these same rules (a 135M model's goal and mood are noise).
        draft = fallback("")
        draft.confidence = 1.0
        draft.needs_web = bool(_WEB.search(text))
        decision = Decision(
            node="understand",
            schema_name="IntentDraft",
            method="deterministic",
            reason="the request's words name its deliverables and its people or place",
        )
    else:
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
