"""The web in the graph: the retrieve node's search, and offering answers to the studio.

``web_brief_item`` runs the registered web_search tool for the retrieve node and briefs its
answer; ``offer_answers`` (called by respond) offers the run's web answers about studio
matters to the knowledge base (services/web_offers.py).
"""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer

from configs.settings import Settings
from nodes.common import output_folder
from planning.constraints import INJECTION
from state import Context, State
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
        metadata={
            "sources": sources,
            "cited": list(output.get("cited") or []),
            "question": request,
            "file": f"web_{STEP_ID}.md",
        },
    )
    return item, f"web search read {output.get('pages_read', 0)} page(s)"


def _answers(state: State) -> list[dict[str, Any]]:
    """The run's web answers: planned research steps that passed, and the retrieve node's."""
    registry = default_registry()
    found: list[dict[str, Any]] = []
    evaluations = state.get("evaluations") or {}
    for step_id, result in (state.get("results") or {}).items():
        spec = registry.get(result.tool)
        evaluation = evaluations.get(step_id)
        if spec is None or spec.category != "research" or result.status != "done":
            continue
        if evaluation is None or not evaluation.passed:
            continue
        found.append(
            {
                "step": step_id,
                "question": str(result.args.get("question", "")),
                "answer": str(result.output.get("answer", "")),
                "sources": list(result.output.get("sources") or []),
                "cited": list(result.output.get("cited") or []),
                "file": f"web_{step_id}.md",
            }
        )
    brief = state.get("brief")
    for item in brief.items if brief is not None else []:
        if item.collection == "web":
            found.append(
                {
                    "step": STEP_ID,
                    "question": str(item.metadata.get("question", "")),
                    "answer": item.text,
                    "sources": list(item.metadata.get("sources") or []),
                    "cited": list(item.metadata.get("cited") or []),
                    "file": str(item.metadata.get("file", "")),
                }
            )
    return found


def offer_answers(
    state: State, run_id: str, settings: Settings
) -> tuple[list[dict[str, Any]], list[str]]:
    """Offer this run's web answers about studio matters to the knowledge base.

    Returns the offers made (as the manifest records them) and one note per web answer not
    offered, saying why. Never raises: the knowledge base is optional for a run.
    """
    answers = _answers(state)
    if not answers or not settings.web.offer_studio_answers:
        return [], []
    if not settings.knowledge.enabled:
        return [], ["web answers not offered: the knowledge base is disabled"]
    intent = state.get("intent")
    if intent is not None and intent.constraints.injection:
        return [], ["web answers not offered: the request tries to override instructions"]
    from services import web_offers
    from services.knowledge_base import get_knowledge_base

    made: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        kb = get_knowledge_base(settings)
        terms = web_offers.studio_terms(kb, default_registry().all())
        for found in answers:
            step = found["step"]
            reasons = web_offers.studio_reasons(found["question"], terms)
            if not reasons:
                notes.append(f"{step}: not offered (the question is not about studio matters)")
            elif not found["cited"]:
                notes.append(f"{step}: not offered (the answer cites no source)")
            elif INJECTION.search(found["answer"]):
                notes.append(
                    f"{step}: not offered (the answer repeats text that tries to override "
                    "instructions)"
                )
            else:
                stored = web_offers.offer(kb, run_id=run_id, reasons=reasons, **found)
                made.append(stored.summary())
    except Exception as exc:  # best effort, like learning: the run's own files are what matter
        notes.append(f"web answers not offered: {str(exc)[:160]}")
    return made, notes
