"""Small helpers every node uses: the effective request, the run folder, the context."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import HumanMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime

from services.outputs import run_dir
from state import Context, State


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
