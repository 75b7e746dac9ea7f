"""Web search speed against the local site (benchmarks/web_site.py on 127.0.0.1; no internet).

1. Fetch and extract (httpx + trafilatura): time per page and pages per second with 1, 4 and 8
   pages fetched at once (each page ~9 KB of HTML, 20 paragraphs); extraction alone per page.
2. The whole path for 5 results: search (ddgs's DuckDuckGo parser on the local site) -> fetch
   -> rank (one structured call) -> answer (one plain call), with the fake model and with the
   embedded model; the LLM call count is checked, not assumed.

    OMP_NUM_THREADS=1 python -m benchmarks web [--pages 40]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from benchmarks.common import write_result
from benchmarks.web_site import LocalWeb

CONCURRENCY = (1, 4, 8)


def _settings(site: LocalWeb, concurrency: int = 4) -> Any:
    from configs.settings import Settings

    return Settings(
        web={
            "duckduckgo_url": site.url("/ddg/html/"),
            "allowed_hosts": ["127.0.0.1"],
            "concurrency": concurrency,
            "max_results": 5,
        }
    )


def fetch_rates(site: LocalWeb, pages: int) -> list[dict[str, Any]]:
    """Wall time and per-page time for ``pages`` fetches at each concurrency."""
    from services.web_fetch import fetch_pages

    rows = []
    for concurrency in CONCURRENCY:
        cfg = _settings(site, concurrency).web
        urls = [site.url(f"/page/bench{i % 5}?n={concurrency}-{i}") for i in range(pages)]
        fetch_pages(urls[:2], cfg)  # warm up imports and the extractor
        started = time.perf_counter()
        fetched = fetch_pages(urls, cfg)
        wall = time.perf_counter() - started
        assert all(p.status == "ok" for p in fetched), [p.note for p in fetched]
        per_page = [p.seconds for p in fetched]
        rows.append(
            {
                "concurrency": concurrency,
                "pages": pages,
                "wall_s": round(wall, 3),
                "pages_per_s": round(pages / wall, 2),
                "page_ms_median": round(statistics.median(per_page) * 1000, 1),
                "page_ms_max": round(max(per_page) * 1000, 1),
            }
        )
    return rows


def extract_ms(site: LocalWeb, runs: int = 20) -> float:
    """Median trafilatura time on one bench page's HTML (no network)."""
    import httpx

    from services.web_fetch import extract

    body = httpx.get(site.url("/page/bench0")).text
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        extract(body, "http://127.0.0.1/page/bench0", "text/html")
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 2)


def whole_path(site: LocalWeb, model_name: str) -> dict[str, Any]:
    """search -> fetch -> rank -> answer for 5 results; LLM calls counted by the usage counter."""
    from services.fake_llm import FakeChatModel
    from services.llm import USAGE, get_chat_model
    from services.web_research import research

    settings = _settings(site)
    fake = FakeChatModel(text="OpenPose at 0.8-1.0 keeps poses [1]; 0.9 in ComfyUI [2].")

    def models(role: str) -> Any:
        return fake if model_name == "fake" else get_chat_model(role, settings)

    # Untimed first: imports (openai, trafilatura) and loading the model are not what a
    # question costs once the agent runs.
    research("bench pose consistency", settings, models=lambda role: fake)
    if model_name != "fake":
        for role in ("director", "writer"):
            models(role).invoke("Say OK.", max_tokens=2)
    before = USAGE.snapshot()
    calls_before = len(fake.calls)
    started = time.perf_counter()
    found = research("bench pose consistency", settings, models=models)
    wall = time.perf_counter() - started
    after = USAGE.snapshot()
    calls = (
        len(fake.calls) - calls_before if model_name == "fake" else after["calls"] - before["calls"]
    )
    assert found.answer is not None, found.error
    return {
        "model": model_name,
        "results": len(found.results),
        "pages_read": sum(p.status == "ok" for p in found.pages),
        "llm_calls": calls,
        "ranking": found.decisions[0].method,
        "ranking_reason": found.decisions[0].reason[:300],
        "dropped_markers": found.answer.dropped_markers,
        "cited": len(found.answer.cited),
        "wall_s": round(wall, 3),
        **{f"{k}_s": round(v, 3) for k, v in found.seconds.items()},
        "answer_chars": len(found.answer.answer),
        "citations_attributed": found.answer.attributed,
        "note": found.answer.note,
        "answer": found.answer.answer[:600],
    }


def markdown(result: dict[str, Any]) -> str:
    """The report section."""
    load = result.get("load_avg")
    lines = [
        f"Fetch and extract, {result['fetch'][0]['pages']} pages of ~9 KB HTML from the local "
        f"site; trafilatura alone: {result['extract_ms']} ms per page (median).",
        "",
    ]
    if load:
        lines += [
            f"Load average (1/5/15 min) at the start {load['start']}, at the end {load['end']}; "
            f"embedded model threads: {result.get('llm_threads')}.",
            "",
        ]
    lines += [
        "| concurrent fetches | wall s | pages/s | ms per page (median) | ms per page (max) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['concurrency']} | {r['wall_s']} | {r['pages_per_s']} | {r['page_ms_median']} "
        f"| {r['page_ms_max']} |"
        for r in result["fetch"]
    ]
    lines += [
        "",
        "Search -> fetch -> rank -> answer, 5 results:",
        "",
        "| model | results | pages read | LLM calls | ranking | cited | search s | fetch s "
        "| rank s | answer s | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['results']} | {r['pages_read']} | {r['llm_calls']} | {r['ranking']} "
        f"| {r['cited']} | {r.get('search_s')} | {r.get('fetch_s')} | {r.get('rank_s')} "
        f"| {r.get('answer_s')} | {r['wall_s']} |"
        for r in result["paths"]
    ]
    return "\n".join(lines)


def measure(pages: int = 40, embedded: bool = True) -> dict[str, Any]:
    """All the figures (the entry point benchmarks/all.py calls)."""
    import os

    from configs.settings import get_settings

    start_load = [round(x, 2) for x in os.getloadavg()]
    with LocalWeb() as site:
        result: dict[str, Any] = {
            "llm_threads": get_settings().llm.threads,
            "fetch": fetch_rates(site, pages),
            "extract_ms": extract_ms(site),
            "paths": [whole_path(site, "fake")]
            + ([whole_path(site, "embedded")] if embedded else []),
        }
    result["load_avg"] = {"start": start_load, "end": [round(x, 2) for x in os.getloadavg()]}
    result["markdown"] = markdown(result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--no-embedded", action="store_true")
    args = parser.parse_args()
    result = measure(args.pages, embedded=not args.no_embedded)
    write_result("web", result)
    print(result["markdown"])


if __name__ == "__main__":
    main()
