"""Web answers about studio matters, offered to the knowledge base for a person to accept.

"About studio matters" is a rule on the question (``studio_reasons``): it names something the
studio itself has or uses, as the studio's own records say:

- a character of the knowledge base (the ``character`` names in character_knowledge),
- a style guide of the knowledge base (the titles in style_guides),
- a registered tool, the model it runs (``ToolSpec.model``) or a technique it declares
  (``ToolSpec.topics``: ControlNet and LoRA for generate_image, GPT-SoVITS for the voices ...).

Only the question decides, never the answer: the answer is written from web pages, and a page
must not get itself offered by naming a character. An answer that cites no source, or that
repeats text trying to override instructions (planning.constraints.INJECTION), is not offered.

An offer is a record in the ``web_notes`` collection with ``status: offered``: the answer with
its numbered sources, the question, the date, the run id and step, and why it was offered.
Retrieval reads only ``status: accepted`` notes (services.knowledge_brief.retrieve), and a
brief's notes are shown to the person but never quoted into a prompt
(``nodes.common.brief_facts`` passes character and style facts only): web text stays data.
`animagent offers` lists offers and accepts or rejects them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from services.knowledge_base import (
    CHARACTERS,
    STYLES,
    WEB_NOTES,
    KnowledgeBase,
    KnowledgeBaseError,
    Record,
    dumps,
    stable_id,
)

Status = Literal["offered", "accepted", "rejected"]
STATUSES: tuple[Status, ...] = ("offered", "accepted", "rejected")
MIN_PREFIX = 6
CHARACTER_REASON = "names the studio's character"


class ToolFacts(Protocol):
    """What the rule reads of a registered tool (tools.registry.ToolSpec has these)."""

    @property
    def name(self) -> str:
        """The tool's name."""
        ...

    category: str
    model: str
    topics: tuple[str, ...]


class OfferError(ValueError):
    """No such offer, or an ambiguous id; the message says which ids exist."""


@dataclass
class Offer:
    """One web answer offered to (or accepted into, or rejected from) the knowledge base."""

    id: str
    question: str
    answer: str
    status: str = "offered"
    run_id: str = ""
    step: str = ""
    date: str = ""
    file: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def from_record(cls, record_id: str, text: str, meta: dict[str, Any]) -> Offer:
        """An Offer from a stored ``web_notes`` record."""

        def listed(key: str) -> list[Any]:
            try:
                value = json.loads(str(meta.get(key) or "[]"))
            except json.JSONDecodeError:
                return []
            return value if isinstance(value, list) else []

        return cls(
            id=record_id,
            question=str(meta.get("query", "")),
            answer=text,
            status=str(meta.get("status", "offered")),
            run_id=str(meta.get("run_id", "")),
            step=str(meta.get("step", "")),
            date=str(meta.get("date", "")),
            file=str(meta.get("file", "")),
            sources=[s for s in listed("sources") if isinstance(s, dict)],
            cited=[int(n) for n in listed("cited") if isinstance(n, int)],
            reasons=[str(r) for r in listed("reasons")],
        )

    def summary(self) -> dict[str, Any]:
        """What a run's manifest records about the offer."""
        return {
            "id": self.id,
            "step": self.step,
            "query": self.question,
            "reasons": self.reasons,
            "status": self.status,
        }


def _words(term: str, plural: bool) -> re.Pattern[str]:
    # Whole words, case-insensitive; hyphens and underscores join words. A technique may be
    # plural ("LoRAs"); a name may not ("Lucas" is not Luca).
    tail = "(?:e?s)?" if plural else ""
    return re.compile(rf"(?<![\w-]){re.escape(term)}{tail}(?![\w-])", re.IGNORECASE)


def studio_terms(kb: KnowledgeBase | None, tools: Iterable[ToolFacts]) -> dict[str, str]:
    """Every name the studio's records know, with the reason a question naming it is studio's.

    ``tools``: the registered tools (``default_registry().all()``). ``kb`` None: the tools'
    names only (the knowledge base is off or unreachable).
    """
    terms: dict[str, str] = {}
    for spec in tools:
        if spec.category in ("research", "knowledge"):
            continue  # searching and reading knowledge are how a question is answered
        model = spec.model.split(":", 1)[1] if ":" in spec.model else spec.model
        names = [spec.name, *spec.topics]
        if model and not spec.model.startswith("llm:"):
            names.append(model)
        for name in names:
            terms.setdefault(name.lower(), f"names {name}, which the studio's {spec.name} uses")
    if kb is not None:
        for name in sorted(kb.metadata_values(CHARACTERS, "character")):
            terms[name.lower()] = f"{CHARACTER_REASON} {name.title()}"
        for title in sorted(kb.metadata_values(STYLES, "title")):
            terms[title.lower()] = f"names the studio's style {title}"
    return terms


def studio_reasons(question: str, terms: dict[str, str]) -> list[str]:
    """Why ``question`` is about studio matters (empty: it is not).

    A character matches by its full name or by any word of it ("Marea" for "nonna marea").
    """
    reasons: list[str] = []
    for term, reason in terms.items():
        names = [term]
        character = reason.startswith(CHARACTER_REASON)
        if character:
            names += [w for w in term.split() if len(w) >= 3]
        if any(_words(n, not character).search(question) for n in names):
            if reason not in reasons:
                reasons.append(reason)
    return reasons


def _get(kb: KnowledgeBase, ids: list[str] | None = None) -> list[Offer]:
    got = kb.collection(WEB_NOTES).get(ids=ids, include=["documents", "metadatas"])
    docs = got.get("documents") or [""] * len(got["ids"])
    metas = got.get("metadatas") or [{}] * len(got["ids"])
    return [
        Offer.from_record(record_id, docs[i] or "", dict(metas[i] or {}))
        for i, record_id in enumerate(got["ids"])
    ]


def offer(
    kb: KnowledgeBase,
    *,
    question: str,
    answer: str,
    sources: list[dict[str, Any]],
    cited: list[int],
    run_id: str,
    step: str,
    reasons: list[str],
    file: str = "",
) -> Offer:
    """Store ``answer`` as an offered web note; the stored Offer.

    The id depends on the run and step only, so offering again (a resumed run) updates the
    same offer, and an offer a person already accepted or rejected stays as they left it.
    """
    record_id = stable_id(WEB_NOTES, run_id, step)
    existing = _get(kb, [record_id])
    if existing and existing[0].status in ("accepted", "rejected"):
        return existing[0]
    meta: dict[str, Any] = {
        "source": f"{WEB_NOTES}/{run_id}/{step}",
        "kind": "web_answer",
        "status": "offered",
        "query": question[:2000],
        "run_id": run_id,
        "step": step,
        "file": file,
        "created": time.time(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sources": dumps(sources),
        "cited": dumps(cited),
        "reasons": dumps(reasons),
        "quality": 1.0,
    }
    vector = kb.embed([f"{question}\n{answer}"])[0]
    kb.upsert(WEB_NOTES, [Record(record_id, answer, meta, vector)])
    return Offer.from_record(record_id, answer, meta)


def offers(kb: KnowledgeBase, status: Status | None = "offered") -> list[Offer]:
    """Stored web notes with ``status`` (None: all), oldest first."""
    found = [o for o in _get(kb) if status is None or o.status == status]
    return sorted(found, key=lambda o: (o.date, o.id))


def find(kb: KnowledgeBase, wanted: str) -> Offer:
    """The offer whose id is ``wanted`` or starts with it (at least 6 characters)."""
    wanted = wanted.strip().lower()
    every = _get(kb)
    exact = [o for o in every if o.id == wanted]
    matches = exact or (
        [o for o in every if o.id.startswith(wanted)] if len(wanted) >= MIN_PREFIX else []
    )
    if len(matches) == 1:
        return matches[0]
    pending = ", ".join(o.id[:8] for o in every if o.status == "offered") or "none"
    if not matches:
        raise OfferError(
            f"no web offer with id {wanted!r} (at least {MIN_PREFIX} characters of an id from "
            f"`animagent offers`; pending: {pending})"
        )
    raise OfferError(f"{wanted!r} matches {len(matches)} offers: give more of the id")


def decide(kb: KnowledgeBase, wanted: str, status: Status) -> Offer:
    """Accept or reject an offer (or put it back to offered); the updated Offer."""
    if status not in STATUSES:
        raise OfferError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
    found = find(kb, wanted)
    col = kb.collection(WEB_NOTES)
    got = col.get(ids=[found.id], include=["metadatas"])
    meta = dict((got.get("metadatas") or [{}])[0] or {})
    meta.update(status=status, decided=time.time())
    try:
        col.update(ids=[found.id], metadatas=[meta])
    except Exception as exc:
        raise KnowledgeBaseError(f"Chroma refused to update web offer {found.id}: {exc}") from exc
    found.status = status
    return found
