"""From a request to a Brief: retrieve, optionally re-rank in one LLM call, synthesize.

The synthesis is extractive and deterministic (the best chunks, cut short, each with its
source), so a brief costs no LLM call and cannot invent facts; re-ranking is the only LLM
step, and it scores every candidate in one call.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from configs.settings import Settings, get_settings
from services.knowledge_base import (
    CHARACTERS,
    PAST,
    STYLES,
    WEB_NOTES,
    KnowledgeBase,
    get_knowledge_base,
)
from state.models import Brief, Intent, KnowledgeItem

MAX_RERANK = 24
RERANK_SYSTEM = (
    "You rate how useful each numbered piece of studio knowledge is for the request, from 0 "
    "(useless) to 10 (essential). Reply with one score per piece, in the order given."
)


class RerankScores(BaseModel):
    """The re-ranker's answer: one 0..10 score per candidate, in the order given."""

    scores: list[int] = Field(default_factory=list, max_length=MAX_RERANK)


def resolve_character(name: str, known: set[str]) -> str:
    """The stored character name that ``name`` refers to ("marea" -> "nonna marea")."""
    wanted = " ".join(name.lower().split())
    if wanted in known:
        return wanted
    for candidate in sorted(known):
        if wanted in candidate.split() or candidate in wanted.split():
            return candidate
    return wanted


def retrieve(
    kb: KnowledgeBase, request: str, intent: Intent | None, top_k: int
) -> tuple[list[KnowledgeItem], list[str]]:
    """Characters named in the intent, matching styles, similar past successes and web notes.

    Web notes are read only once a person accepted them (services/web_offers.py); offered and
    rejected ones are never retrieved.

    Returns:
        The items (best first within each group) and notes about what was not found.
    """
    floor = kb.settings.knowledge.min_relevance
    notes: list[str] = []
    names = [n for n in (intent.characters if intent else []) if n.strip()]
    context = " ".join(p for p in (intent.setting, intent.mood) if p) if intent else ""
    style_text = " ".join(p for p in ((intent.style if intent else ""), request, context) if p)
    known = kb.metadata_values(CHARACTERS, "character") if names else set()
    texts = [f"{n}: {request} {context}".strip() for n in names] + [style_text, request]
    vectors = kb.embed(texts)
    items: list[KnowledgeItem] = []
    for name, vector in zip(names, vectors, strict=False):
        stored = resolve_character(name, known)
        found = kb.query(CHARACTERS, "", k=top_k, where={"character": stored}, embedding=vector)
        if not found:
            notes.append(f"no knowledge about {name!r}")
        items += found
    items += [i for i in kb.query(STYLES, "", k=top_k, embedding=vectors[-2]) if i.score >= floor]
    past = {"quality": {"$gte": kb.settings.agent.quality_threshold}}
    found = kb.query(PAST, "", k=top_k, where=past, embedding=vectors[-1])
    items += [i for i in found if i.score >= floor]
    accepted = {"status": "accepted"}
    found = kb.query(WEB_NOTES, "", k=top_k, where=accepted, embedding=vectors[-1])
    items += [i for i in found if i.score >= floor]
    return items, notes


def rerank(request: str, items: list[KnowledgeItem], settings: Settings) -> list[KnowledgeItem]:
    """Order ``items`` by one LLM call's usefulness scores (ties keep retrieval order).

    A bad or missing answer keeps the retrieval order: re-ranking can only reorder.
    """
    from services.structured import decide, system_user

    if len(items) < 2:
        return items
    head, tail = items[:MAX_RERANK], items[MAX_RERANK:]
    listing = "\n".join(f"[{i}] ({it.collection}) {it.text[:300]}" for i, it in enumerate(head))
    answer, _ = decide(
        RerankScores,
        system_user(RERANK_SYSTEM, f"Request: {request}\n\nPieces:\n{listing}"),
        node="retrieve",
        fallback=lambda reason: RerankScores(scores=[]),
        role="judge",
        max_tokens=8 * len(head) + 32,
    )
    scores = [max(0, min(10, s)) for s in answer.scores]
    for i, it in enumerate(head[: len(scores)]):
        it.metadata["rerank"] = scores[i]
    scored = [(scores[i] if i < len(scores) else -1, -i, it) for i, it in enumerate(head)]
    ranked = [it for _, _, it in sorted(scored, key=lambda t: (t[0], t[1]), reverse=True)]
    return ranked + tail


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _past_line(item: KnowledgeItem) -> str:
    meta = item.metadata
    params = meta.get("params", "{}")
    try:
        shown = json.dumps(json.loads(str(params)), sort_keys=True)
    except json.JSONDecodeError:
        shown = str(params)
    return (
        f"{meta.get('tool', 'step')} for {_cut(str(meta.get('request', '')), 80)!r} scored "
        f"{float(meta.get('quality', 0.0)):.2f} with {_cut(shown, 160)}"
    )


def synthesize(items: list[KnowledgeItem], limit: int) -> tuple[str, list[str]]:
    """A short brief naming its sources, and every distinct source in order.

    The summary keeps the best two pieces per source (per character) and per group, so one
    long character sheet cannot crowd out the style or the past successes.
    """
    groups = {
        CHARACTERS: "Characters",
        STYLES: "Style",
        PAST: "Past successes",
        WEB_NOTES: "Web notes (accepted; from the web)",
    }
    lines: list[str] = []
    sources: list[str] = []
    for collection, title in groups.items():
        group = [i for i in items if i.collection == collection]
        shown: dict[str, int] = {}
        group_lines: list[str] = []
        for item in group:
            source = item.source or f"{PAST}:{item.metadata.get('id', '')}"
            if source not in sources:
                sources.append(source)
            key = source if collection == CHARACTERS else collection
            if shown.get(key, 0) >= 2:
                continue
            shown[key] = shown.get(key, 0) + 1
            body = _past_line(item) if collection == PAST else _cut(item.text, 170)
            group_lines.append(f"- {body} [{source}]")
        if group_lines:
            lines += [f"{title}:", *group_lines]
    summary = "\n".join(lines)
    return (summary if len(summary) <= limit else summary[: limit - 1] + "…"), sources


def build_brief(
    request: str,
    intent: Intent | None,
    *,
    top_k: int,
    settings: Settings | None = None,
    kb: KnowledgeBase | None = None,
) -> Brief:
    """Everything the studio knows that bears on ``request``, as a Brief for planning.

    Never raises for an empty store (the note says how to fill it); raises KnowledgeBaseError
    when the store or the embedding model fails.
    """
    settings = settings or get_settings()
    if not settings.knowledge.enabled:
        return Brief(note="knowledge base disabled (knowledge.enabled=false)")
    kb = kb or get_knowledge_base(settings)
    counts = kb.counts()
    if not any(counts.values()):
        return Brief(note="knowledge base is empty: run `animagent ingest configs/knowledge`")
    items, notes = retrieve(kb, request, intent, top_k)
    if settings.knowledge.rerank:
        items = rerank(request, items, settings)
    summary, sources = synthesize(items, settings.knowledge.brief_chars)
    return Brief(summary=summary, items=items, sources=sources, note="; ".join(notes))


def past_parameters(brief: Brief, tool: str) -> dict[str, Any]:
    """The arguments of the best-scoring past success with ``tool`` in the brief ({} if none).

    Planning starts from these instead of defaults: what worked before for a similar request.
    """
    best: tuple[float, dict[str, Any]] = (-1.0, {})
    for item in brief.items:
        if item.collection != PAST or item.metadata.get("tool") != tool:
            continue
        try:
            params = json.loads(str(item.metadata.get("params", "{}")))
        except json.JSONDecodeError:
            continue
        quality = float(item.metadata.get("quality", 0.0)) * max(item.score, 1e-6)
        if isinstance(params, dict) and quality > best[0]:
            best = (quality, params)
    return best[1]
