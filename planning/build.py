"""Build a plan from what the request asks for, by the catalog's types.

1. Each deliverable the intent names (dialogue, voice, image, scene, answer, or a plugin's
   kind) is made by an available tool whose spec ``makes`` it, once per requested item
   ("three shots" -> three image steps).
2. Gap filling: every typed input a chosen tool ``consumes`` is linked to the nearest earlier
   step that ``produces`` that type; when none exists, a producer is added first (a voice step
   needs a dialogue, a scene needs voice clips).
3. Arguments come from the request's slots (characters, premise, counts, quoted lines, tone,
   ...) by name; a tool opts in by naming its parameters after a slot.
4. Drafts carry no ids: ``planning.replan.merge_steps`` gives them system ids (``s1``, ``s2``
   ... from the plan's counter, never a model's), unique for the life of a thread.

Nothing here names a tool: a plugin tool that declares ``makes`` is a deliverable like any
other.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from planning.catalog import Catalog, ToolInfo, makers, producers
from state.models import Intent

ITEM_COUNT_SLOT = {"image": "images"}
"""Deliverables made once per counted item, and the count that says how many."""


@dataclass
class Draft:
    """A step before it has an id: a tool, its slot arguments and typed links."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    links: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Argument -> (index of the producing draft, its output field)."""
    item: int | None = None
    """For counted deliverables: which item (shot) this draft makes, from 0."""
    purpose: str = ""


def request_slots(intent: Intent) -> dict[str, Any]:
    """The request's facts by slot name; tools receive those their parameters name."""
    c = intent.constraints
    speakers = c.speakers or intent.characters or ["Narrator"]
    prompt = ", ".join(p for p in (intent.goal, intent.setting, intent.style, intent.mood) if p)
    slots: dict[str, Any] = {
        "characters": speakers,
        "premise": intent.goal,
        "setting": intent.setting,
        "mood": c.tone or intent.mood,
        "tone": c.tone,
        "required_lines": [q.model_dump() for q in c.quotes],
        "prompt": prompt,
        "description": intent.goal,
        "query": intent.goal,
        "question": intent.goal,
        "name": (intent.characters or [""])[0],
    }
    if c.counts.get("lines"):
        slots["n_lines"] = c.counts["lines"]
    return slots


SLOT_NAMES = frozenset(
    {
        "characters",
        "premise",
        "setting",
        "mood",
        "tone",
        "required_lines",
        "prompt",
        "description",
        "query",
        "question",
        "name",
        "n_lines",
    }
)
"""Every slot ``request_slots`` can fill: arguments only the request's own words decide."""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def hint_hits(info: ToolInfo | None, request: str) -> int:
    """How many of a tool's hints the request's words contain (whole words)."""
    words = _words(request)
    return sum(1 for h in (info.hints if info else ()) if _words(h) <= words)


def pick(
    candidates: list[str],
    catalog: Catalog,
    request: str,
    scores: dict[str, float] | None = None,
) -> str:
    """The candidate the ranking (hints + past plans) scores highest for the request.

    Without a ranking, the one whose hints best match the request; catalog order breaks ties.
    """
    ranked = scores or {}
    return max(
        candidates,
        key=lambda n: (
            ranked.get(n, 0.0),
            hint_hits(catalog.get(n), request),
            -candidates.index(n),
        ),
    )


class Builder:
    """Drafts a plan for one intent over the available part of a catalog."""

    def __init__(
        self,
        catalog: Catalog,
        available: set[str],
        unavailable: dict[str, str],
        intent: Intent,
        request: str,
        scores: dict[str, float] | None = None,
    ) -> None:
        """Plan with ``available`` tools of ``catalog``; ``unavailable`` maps a tool to why.

        ``scores`` ranks tools for this request (``planning.choose.rank_tools``: hints and the
        most similar past plans); it decides between tools that make the same thing.
        """
        self.catalog = catalog
        self.scores = scores or {}
        self.available = available
        self.unavailable = unavailable
        self.intent = intent
        self.request = request
        self.slots = request_slots(intent)
        self.drafts: list[Draft] = []
        self.notes: list[str] = []
        self.repairs: list[str] = []

    def fork(self) -> Builder:
        """A copy to extend without touching this one (a Tree-of-Thoughts branch)."""
        twin = copy.copy(self)
        twin.drafts = [copy.copy(d) for d in self.drafts]
        for draft in twin.drafts:
            draft.args, draft.links = dict(draft.args), dict(draft.links)
        twin.notes, twin.repairs = list(self.notes), list(self.repairs)
        return twin

    def _info(self, tool: str) -> ToolInfo:
        info = self.catalog.get(tool)
        assert info is not None, tool
        return info

    def _slot_args(self, tool: str, params: set[str]) -> dict[str, Any]:
        info = self._info(tool)
        return {
            k: v
            for k, v in self.slots.items()
            if k in params and k not in info.consumes and v not in ("", [], None)
        }

    def add(self, tool: str, params: set[str], item: int | None = None) -> int | None:
        """Add ``tool`` (and, first, producers of what it consumes); its index, or None."""
        for i, draft in enumerate(self.drafts):
            if draft.tool == tool and draft.item == item:
                return i
        info = self._info(tool)
        required = set(self.schema(tool).get("required", []))
        links: dict[str, tuple[int, str]] = {}
        for arg, data_type in info.consumes.items():
            source = self._producer_of(data_type, item)
            if source is None:
                if arg not in required:
                    continue  # an optional input (e.g. images for a scene): go without it
                self.notes.append(
                    f"{tool}: needs {data_type} input, and no available tool produces it"
                )
                return None
            links[arg] = source
        draft = Draft(
            tool=tool,
            args=self._slot_args(tool, params),
            links=links,
            item=item,
            purpose=f"make the {info.makes or 'input'}"
            + (f" (item {item + 1})" if item is not None else ""),
        )
        if item is not None and "prompt" in draft.args:
            total = self.intent.constraints.counts.get(ITEM_COUNT_SLOT.get(info.makes, ""), 1)
            draft.args["prompt"] = f"{draft.args['prompt']}, shot {item + 1} of {total}"
        self.drafts.append(draft)
        return len(self.drafts) - 1

    def _producer_of(self, data_type: str, item: int | None) -> tuple[int, str] | None:
        for i in range(len(self.drafts) - 1, -1, -1):
            produced = self._info(self.drafts[i].tool).produces
            for out_field, out_type in produced.items():
                if out_type == data_type:
                    return i, out_field
        candidates = producers(self.catalog, data_type, self.available)
        if not candidates:
            return None
        wanted = set(self.intent.deliverables)
        preferred = [c for c in candidates if self._info(c).makes in wanted] or candidates
        index = self.add(
            pick(preferred, self.catalog, self.request, self.scores), self.params(preferred[0])
        )
        if index is None:
            return None
        out_field = next(
            f for f, t in self._info(self.drafts[index].tool).produces.items() if t == data_type
        )
        return index, out_field

    def schema(self, tool: str) -> dict[str, Any]:
        """The JSON schema of ``tool``'s model-visible arguments."""
        return self._info(tool).arg_schema()

    def params(self, tool: str) -> set[str]:
        """The parameter names of ``tool``."""
        return set(self.schema(tool).get("properties", {}))

    def deliverable(self, kind: str) -> None:
        """Plan the steps that make ``kind`` (or note why it cannot be made)."""
        everyone = makers(self.catalog, kind)
        usable = [m for m in everyone if m in self.available]
        if not usable:
            if everyone:
                tool = everyone[0]
                reason = self.unavailable.get(tool, "not available")
                self.notes.append(f"{kind}: not made — {tool}: {reason}")
            else:
                self.notes.append(f"{kind}: not made — no registered tool makes {kind}")
            return
        tool = pick(usable, self.catalog, self.request, self.scores)
        count_slot = ITEM_COUNT_SLOT.get(kind)
        count = self.intent.constraints.counts.get(count_slot, 1) if count_slot else 1
        for item in range(count) if count > 1 else [None]:
            self.add(tool, self.params(tool), item)

    def build(self) -> list[Draft]:
        """Drafts for every deliverable of the intent, producers before consumers."""
        for kind in self.intent.deliverables:
            self.deliverable(kind)
        return self.drafts
