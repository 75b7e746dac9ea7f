"""retrieve: what the studio already knows about this request (RAG), as a Brief."""

from __future__ import annotations

import importlib

from langgraph.runtime import Runtime

from configs.settings import get_settings
from nodes.common import context_of, effective_request
from nodes.web import web_brief_item
from state import Brief, Context, State, Thought


def retrieve(state: State, runtime: Runtime[Context]) -> dict[str, object]:
    """Build the brief from the knowledge base; a missing or failing store never stops a run."""
    ctx = context_of(runtime)
    settings = get_settings()
    intent = state.get("intent")
    notes: list[str] = []
    brief = Brief()
    if not settings.knowledge.enabled:
        brief.note = "knowledge base disabled (knowledge.enabled=false)"
    else:
        try:
            knowledge = importlib.import_module("tools.knowledge")
        except ModuleNotFoundError:
            brief.note = "no knowledge base configured"
        else:
            try:
                seeded = knowledge.ensure_seeded(settings)
                brief = knowledge.build_brief(
                    effective_request(state), intent, top_k=ctx.top_k, settings=settings
                )
                if seeded:
                    notes.append(f"seeded the knowledge base with {seeded} chunks")
            except Exception as exc:  # the store is optional for a run: say why and go on
                brief = Brief(note=f"knowledge base unavailable: {exc}")
    # An answer the person asked for is a planned web_search step (judged like any deliverable);
    # here the web only informs the making of something else, so nothing is searched twice.
    if intent is not None and intent.needs_web and "answer" not in intent.deliverables:
        if not ctx.web_search:
            notes.append("web search was asked for but is switched off (context web_search=false)")
        else:
            web_item, web_note = web_brief_item(effective_request(state), ctx, settings)
            notes.append(web_note)
            if web_item is not None:
                brief.items.append(web_item)
                brief.sources.append(web_item.source)
    if notes:
        brief.note = "; ".join(filter(None, [brief.note, *notes]))
    text = (
        f"Retrieved {len(brief.items)} item(s) from {', '.join(brief.sources) or 'no sources'}"
        + (f" ({brief.note})" if brief.note else "")
    )
    return {"brief": brief, "thoughts": [Thought(node="retrieve", text=text)]}
