"""The retrieve node's web part: run the registered web_search tool and brief its answer."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer

from configs.settings import Settings
from nodes.common import output_folder
from state import Context
from state.models import KnowledgeItem
from tools.registry import ToolContext, default_registry

STEP_ID = "retrieve"


def _writer() -> Any:
    try:
        return get_stream_writer()
    except RuntimeError:  # called outside a graph
        return lambda event: None


def web_brief_item(
    request: str, ctx: Context, settings: Settings
) -> tuple[KnowledgeItem | None, str]:
    """The web's answer to ``request`` as a brief item, and a note on what happened.

    Never raises: an unavailable tool or a failed search becomes the note.
    """
    spec = default_registry().get("web_search")
    if spec is None:
        return None, "web search was asked for but the web_search tool is not registered"
    available = spec.availability(settings)
    if not available.ok:
        return None, f"web search was asked for but is unavailable: {available.reason}"
    write = _writer()

    def progress(fraction: float, message: str) -> None:
        write(
            {
                "event": "progress",
                "step": STEP_ID,
                "tool": spec.name,
                "fraction": round(fraction, 3),
                "message": message,
            }
        )

    tool_ctx = ToolContext(
        run_dir=output_folder(ctx), step_id=STEP_ID, settings=settings, progress=progress
    )
    try:
        output = spec.run(spec.validate({"question": request}), tool_ctx)
    except Exception as exc:  # the web is optional for a run: say why and go on
        return None, f"web search failed: {exc}"[:500]
    sources = output.get("sources") or []
    # Relevance 1.0 when the answer cites what it read, 0.5 when it cites nothing: the brief's
    # relevance filter keeps it either way, and a reader sees which kind it was.
    item = KnowledgeItem(
        collection="web",
        text=str(output["answer"]),
        source=f"web: {', '.join(str(s['url']) for s in sources[:3])}" if sources else "web",
        score=1.0 if output.get("cited") else 0.5,
        metadata={"sources": sources, "file": f"web_{STEP_ID}.md"},
    )
    return item, f"web search read {output.get('pages_read', 0)} page(s)"
