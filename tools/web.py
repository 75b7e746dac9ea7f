"""web_search: answer a question from the web, with numbered sources (category "research").

The answer and everything behind it (results, pages read or set aside and why, the ranking
decision) are written to the run folder as ``web_<step>.json`` and ``web_<step>.md``. A search
that fails (rate limit, outage, nothing readable) fails the step with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg

from configs.settings import Settings
from services.llm import get_chat_model
from services.outputs import atomic_write_bytes, atomic_write_json
from services.web_research import Research, research
from tools.registry import Availability, ToolContext, ToolRegistry, make_spec


def web_search(
    question: str,
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Search the web and answer a question with numbered citations to the pages read.

    Use it for facts the studio's knowledge base does not hold: techniques, references,
    history, current tools and settings.

    Args:
        question: What to find out, as a search-engine query or a plain question.
        ctx: The run's context (injected, never shown to the model).
    """
    if ctx is None:
        raise ValueError("web_search needs a run context")
    found = research(
        question,
        ctx.settings,
        models=lambda role: get_chat_model(role, ctx.settings),
        progress=ctx.progress,
    )
    return store(found, ctx)


def store(found: Research, ctx: ToolContext) -> dict[str, Any]:
    """Write the research record next to the run's other outputs; the tool's output dict.

    Raises RuntimeError with the reason when the web gave no answer.
    """
    record = found.as_dict()
    name = f"web_{ctx.step_id}"
    atomic_write_json(ctx.path(f"{name}.json"), record)
    if found.answer is None:
        raise RuntimeError(f"web search gave no answer: {found.error} (details in {name}.json)")
    text = f"# {found.query}\n\n{found.answer.answer}\n"
    atomic_write_bytes(ctx.path(f"{name}.md"), text.encode("utf-8"))
    return {
        "answer": found.answer.answer,
        "sources": record["sources"],
        "cited": found.answer.cited,
        "citations_attributed": found.answer.attributed,
        "note": found.answer.note,
        "pages_read": sum(1 for p in found.pages if p.status == "ok"),
        "pages_skipped": {p.url: p.note for p in found.pages if p.status != "ok"},
        "artifacts": [
            {"path": f"{name}.md", "kind": "text"},
            {"path": f"{name}.json", "kind": "json"},
        ],
    }


def probe_web(settings: Settings) -> Availability:
    """Available when the web is on and the chosen provider has what it needs."""
    cfg = settings.web
    if not cfg.enabled:
        return Availability(False, "web search is off: set web.enabled: true")
    if cfg.provider == "searxng" and not cfg.searxng_url:
        return Availability(False, "web.provider is searxng: set web.searxng_url")
    if cfg.provider == "tavily" and cfg.tavily_api_key is None:
        return Availability(False, "web.provider is tavily: set ANIMAGENT_WEB__TAVILY_API_KEY")
    return Availability(True)


def check_web(args: dict[str, Any], output: dict[str, Any]) -> dict[str, bool]:
    """The answer cites at least one page it read."""
    return {
        "has_answer": bool(str(output.get("answer", "")).strip()),
        "cites_sources": bool(output.get("cited")),
    }


def register(registry: ToolRegistry) -> None:
    """Add web_search."""
    registry.add(
        make_spec(
            web_search,
            category="research",
            est_seconds=15.0,
            model="llm:director+writer",
            outputs=("answer", "sources", "cited"),
            produces={"answer": "answer"},
            makes="answer",
            hints=("search the web", "look up", "find out", "online", "reference", "latest"),
            probe=probe_web,
            check=check_web,
        )
    )
