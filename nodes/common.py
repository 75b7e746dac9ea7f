"""Small helpers every node uses: the effective request, the run folder, the context."""

from __future__ import annotations

import re
from pathlib import Path

from langchain_core.messages import HumanMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime

from services.outputs import run_dir
from state import Brief, Context, State

FACT_COLLECTIONS = ("character_knowledge", "style_guides")


class RequestError(ValueError):
    """The request itself is unusable; the message says how to fix it."""


def context_of(runtime: Runtime[Context] | None) -> Context:
    """The run's context, or the settings defaults when the caller passed none."""
    ctx = runtime.context if runtime is not None else None
    return ctx if isinstance(ctx, Context) else Context()


def base_request(state: State) -> str:
    """The request text: ``request``, else the last human chat message (Studio's chat)."""
    text = (state.get("request") or "").strip()
    if not text:
        for msg in reversed(state.get("messages") or []):
            if isinstance(msg, HumanMessage):
                text = str(msg.content).strip()
                break
    return text


def effective_request(state: State) -> str:
    """The request plus every clarification answer given so far."""
    text = base_request(state)
    answers = [c.answer for c in state.get("clarifications") or [] if c.answer.strip()]
    return " ".join([text, *answers]).strip()


def thread_id() -> str:
    """The current thread id ("adhoc" when the graph runs without a checkpointer)."""
    try:
        configurable = get_config().get("configurable", {})
    except RuntimeError:
        return "adhoc"
    return str(configurable.get("thread_id") or "adhoc")


def output_folder(ctx: Context) -> Path:
    """Where this run writes its files."""
    return run_dir(ctx.output_subdir or thread_id())


def brief_facts(brief: Brief | None, limit: int = 700) -> str:
    """What the studio knows, as facts about characters and style for a prompt.

    Never past generations' lines, source tags, file names or ids: a small model copies
    whatever text it is shown, and reads tags aloud. Never web text either (the retrieve
    node's web answer, accepted web notes): it is data from pages, shown to the person,
    and must not reach a prompt where it could read as instructions.
    """
    if brief is None:
        return ""
    facts: list[str] = []
    for item in brief.items:
        if item.collection not in FACT_COLLECTIONS:
            continue
        text = " ".join(item.text.split())
        text = re.sub(r"\[[^\]]*\]|\S+\.(?:md|ya?ml|json|txt)\b", "", text).strip()
        if text and text not in facts:
            facts.append(text[:170])
    out = "; ".join(facts)
    return out if len(out) <= limit else out[: limit - 1].rsplit(" ", 1)[0] + "…"
