"""The whole web path: search, fetch and extract, rank (one call), answer (one call).

Every failure on the way is reported in the result (``error`` for the search, a note per
page) rather than raised, so a run always gets a clear account of what the web gave it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from configs.settings import Settings
from services.web_answer import WebAnswer, rank_pages, synthesize
from services.web_fetch import Page, Resolver, fetch_pages, resolve
from services.web_search import Provider, SearchResult, WebSearchError, search
from state.models import Decision

Progress = Callable[[float, str], None]


@dataclass
class Research:
    """What one web question produced."""

    query: str
    results: list[SearchResult] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    answer: WebAnswer | None = None
    decisions: list[Decision] = field(default_factory=list)
    error: str = ""
    error_kind: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON-able record stored with the run (page text cut to a preview)."""
        answer = self.answer
        return {
            "query": self.query,
            "answer": answer.answer if answer else "",
            "sources": [s.__dict__ for s in answer.sources] if answer else [],
            "cited": answer.cited if answer else [],
            "citations_attributed": answer.attributed if answer else False,
            "dropped_markers": answer.dropped_markers if answer else [],
            "note": answer.note if answer else "",
            "results": [r.as_dict() for r in self.results],
            "pages": [p.as_dict(text_chars=300) for p in self.pages],
            "decisions": [d.model_dump() for d in self.decisions],
            "error": self.error,
            "error_kind": self.error_kind,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def research(
    query: str,
    settings: Settings,
    *,
    models: Callable[[str], BaseChatModel],
    progress: Progress = lambda fraction, message: None,
    provider: Provider | None = None,
    resolver: Resolver = resolve,
) -> Research:
    """Answer ``query`` from the web with citations; never raises for web trouble.

    ``models`` maps a role to its chat model ("director" ranks, "writer" answers); it is only
    called once there are pages to rank, so a failed search needs no model.
    """
    cfg = settings.web
    out = Research(query=query)
    clock = time.perf_counter()
    progress(0.0, f"searching the web for {query!r}")
    try:
        out.results = search(query, settings, provider=provider)
    except WebSearchError as exc:
        out.error, out.error_kind = str(exc), exc.kind
        progress(1.0, f"web search failed: {exc}")
        return out
    finally:
        out.seconds["search"] = time.perf_counter() - clock
    if not out.results:
        out.error, out.error_kind = f"the search found nothing for {query!r}", "no_results"
        progress(1.0, out.error)
        return out
    progress(0.1, f"{len(out.results)} result(s); reading the pages")
    done = 0

    def page_done(page: Page) -> None:
        nonlocal done
        done += 1
        state = "read" if page.status == "ok" else f"skipped ({page.note})"
        progress(
            0.1 + 0.6 * done / len(out.results),
            f"page {done}/{len(out.results)} {state}: {page.url}",
        )

    clock = time.perf_counter()
    out.pages = fetch_pages(
        [r.url for r in out.results], cfg, progress=page_done, resolver=resolver
    )
    out.seconds["fetch"] = time.perf_counter() - clock
    readable = [p for p in out.pages if p.status == "ok"]
    if not readable:
        out.error, out.error_kind = "none of the result pages could be read", "no_pages"
        progress(1.0, out.error)
        return out
    clock = time.perf_counter()
    progress(0.75, f"ranking {len(readable)} page(s)")
    ranked, decision = rank_pages(query, readable, model=models("director"))
    out.decisions.append(decision)
    out.seconds["rank"] = time.perf_counter() - clock
    clock = time.perf_counter()
    progress(0.85, "writing the answer with citations")
    out.answer = synthesize(
        query,
        ranked[: cfg.max_sources],
        budget=cfg.prompt_chars,
        model=models("writer"),
        max_tokens=settings.role("writer").max_tokens,
    )
    out.seconds["answer"] = time.perf_counter() - clock
    progress(1.0, f"answered from {len(out.answer.sources)} source(s)")
    return out
