"""Web search providers behind one interface: DuckDuckGo (ddgs), SearXNG and Tavily.

``search(query, settings)`` returns ranked ``SearchResult`` rows with duplicates by URL dropped.
A rate limit or a failing provider raises ``WebSearchError`` (``kind`` says which) after a
bounded number of retries with backoff; an empty list means the provider really found nothing.
DuckDuckGo goes through the ``ddgs`` package's own DuckDuckGo engine and result parser, not its
``auto`` mode that mixes other engines (docs/decisions/0013-web-search-ddgs-direct.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urldefrag, urlsplit, urlunsplit

import httpx
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from configs.settings import Settings, WebSettings

ErrorKind = Literal["rate_limited", "unavailable", "misconfigured", "bad_reply"]


class WebSearchError(RuntimeError):
    """The search failed; ``kind`` tells a rate limit from an outage; the message names a fix."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        """Record the kind of failure with its message."""
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class SearchResult:
    """One search hit, in the provider's order (``rank`` starts at 1)."""

    title: str
    url: str
    snippet: str
    provider: str
    rank: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


Provider = Callable[[str, WebSettings], list[dict[str, str]]]
"""(query, settings) -> raw rows with title, url, snippet; raises WebSearchError."""


def _status_error(provider: str, status: int, fix: str) -> WebSearchError:
    # DuckDuckGo answers a throttled client with 202 and a challenge page, others with 429.
    if status in (202, 403, 429):
        return WebSearchError(
            "rate_limited",
            f"{provider} refused the search (HTTP {status}: rate limited or blocked); wait and "
            f"retry, or switch web.provider ({fix})",
        )
    return WebSearchError("unavailable", f"{provider} answered HTTP {status}; {fix}")


def _duckduckgo(query: str, cfg: WebSettings) -> list[dict[str, str]]:
    from ddgs.engines.duckduckgo import Duckduckgo
    from ddgs.exceptions import DDGSException, TimeoutException

    class _Engine(Duckduckgo):
        # ddgs maps every non-200 answer to "no results"; a rate limit must be told apart.
        def request(self, *args: Any, **kwargs: Any) -> Any:
            resp = self.http_client.request(*args, **kwargs)
            if resp.status_code != 200:
                raise _status_error("DuckDuckGo", resp.status_code, "check web.duckduckgo_url")
            return resp.text

    engine = _Engine(timeout=max(1, round(cfg.search_timeout_s)))
    engine.search_url = cfg.duckduckgo_url
    try:
        found = engine.search(query) or []
    except TimeoutException as exc:
        raise WebSearchError("unavailable", f"DuckDuckGo timed out: {exc}") from exc
    except DDGSException as exc:
        raise WebSearchError("unavailable", f"DuckDuckGo cannot be reached: {exc}") from exc
    return [{"title": r.title, "url": r.href, "snippet": r.body} for r in found]


def _json(provider: str, send: Callable[[httpx.Client], httpx.Response], cfg: WebSettings) -> Any:
    timeout = httpx.Timeout(cfg.search_timeout_s, connect=cfg.connect_timeout_s)
    try:
        with httpx.Client(timeout=timeout, headers={"User-Agent": cfg.user_agent}) as client:
            resp = send(client)
    except httpx.HTTPError as exc:
        raise WebSearchError("unavailable", f"{provider} cannot be reached: {exc!r}") from exc
    if resp.status_code != 200:
        raise _status_error(provider, resp.status_code, f"check the {provider} settings in web")
    try:
        return resp.json()
    except ValueError as exc:
        raise WebSearchError("bad_reply", f"{provider} did not answer JSON: {exc}") from exc


def _searxng(query: str, cfg: WebSettings) -> list[dict[str, str]]:
    if not cfg.searxng_url:
        raise WebSearchError(
            "misconfigured", "web.provider is searxng but web.searxng_url is empty: set it"
        )
    url = cfg.searxng_url.rstrip("/") + "/search"
    data = _json(
        "SearXNG",
        lambda c: c.get(url, params={"q": query, "format": "json", "pageno": 1}),
        cfg,
    )
    rows = data.get("results") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise WebSearchError("bad_reply", "SearXNG's answer has no results list")
    if not rows and data.get("unresponsive_engines"):
        engines = ", ".join(str(e[0]) for e in data["unresponsive_engines"] if e)
        raise WebSearchError("unavailable", f"SearXNG's engines did not answer: {engines}")
    return _rows(rows)


def _tavily(query: str, cfg: WebSettings) -> list[dict[str, str]]:
    if cfg.tavily_api_key is None:
        raise WebSearchError(
            "misconfigured",
            "web.provider is tavily but no key is set: ANIMAGENT_WEB__TAVILY_API_KEY",
        )
    key = cfg.tavily_api_key.get_secret_value()
    body = {"query": query, "max_results": cfg.max_results, "search_depth": "basic"}
    data = _json(
        "Tavily",
        lambda c: c.post(cfg.tavily_url, json=body, headers={"Authorization": f"Bearer {key}"}),
        cfg,
    )
    rows = data.get("results") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise WebSearchError("bad_reply", "Tavily's answer has no results list")
    return _rows(rows)


def _rows(rows: list[Any]) -> list[dict[str, str]]:
    """Title, url, snippet from JSON rows that name their snippet ``content``."""
    return [
        {
            "title": str(r.get("title", "")),
            "url": str(r.get("url", "")),
            "snippet": str(r.get("content", "")),
        }
        for r in rows
        if isinstance(r, dict)
    ]


PROVIDERS: dict[str, Provider] = {
    "duckduckgo": _duckduckgo,
    "searxng": _searxng,
    "tavily": _tavily,
}


def url_key(url: str) -> str:
    """The URL as compared for duplicates: no fragment, lower-case host, no trailing slash."""
    parts = urlsplit(urldefrag(url.strip())[0])
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def dedupe(rows: list[dict[str, str]], provider: str, limit: int) -> list[SearchResult]:
    """Rows with a URL, first occurrence of each URL kept, renumbered from 1."""
    seen: set[str] = set()
    out: list[SearchResult] = []
    for row in rows:
        url = row.get("url", "").strip()
        if not url.startswith(("http://", "https://")):
            continue
        key = url_key(url)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            SearchResult(
                title=" ".join(row.get("title", "").split())[:300],
                url=url,
                snippet=" ".join(row.get("snippet", "").split())[:600],
                provider=provider,
                rank=len(out) + 1,
            )
        )
        if len(out) >= limit:
            break
    return out


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, WebSearchError) and exc.kind in ("rate_limited", "unavailable")


def search(
    query: str, settings: Settings, *, provider: Provider | None = None
) -> list[SearchResult]:
    """Search with the configured provider; retries rate limits and outages with backoff.

    Raises WebSearchError when the web is off, misconfigured, or still failing after
    ``web.retries`` extra tries.
    """
    cfg = settings.web
    if not cfg.enabled:
        raise WebSearchError("misconfigured", "web search is off: set web.enabled: true")
    if not query.strip():
        raise WebSearchError("misconfigured", "the search query is empty")
    call = provider or PROVIDERS[cfg.provider]
    retrying = Retrying(
        stop=stop_after_attempt(cfg.retries + 1),
        wait=wait_exponential(multiplier=cfg.backoff_s, max=max(cfg.backoff_s * 8, 0.0)),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    try:
        rows = retrying(call, query.strip(), cfg)
    except WebSearchError as exc:
        if cfg.retries and _retryable(exc):
            raise WebSearchError(exc.kind, f"{exc} (after {cfg.retries + 1} tries)") from exc
        raise
    return dedupe(rows, cfg.provider, cfg.max_results)
