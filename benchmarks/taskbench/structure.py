"""Plan structure from the tool graph: order tools, link them, fill arguments, repair plans.

Links in TaskBench are ``<node-k>`` references, so getting them right is a question of order
and types, not of language: given the set of tools a request needs, the order comes from where
each tool is described in the request plus how often one tool fed another in past plans, and
each node consumes the nearest earlier output whose type it accepts (tool graph first). The
same helpers repair any proposed plan (an LLM's, a retrieved one): unknown tools are dropped,
references are rewritten to compatible earlier nodes, impossible links disappear.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.taskbench.cues import NO_CUE
from benchmarks.taskbench.data import Catalog
from benchmarks.taskbench.scoring import content_type

_FILE = re.compile(
    r"[\w\-]+\.(?:jpe?g|png|gif|bmp|tiff|svg|ico|mp3|wav|wma|ogg|aac|flac|aiff"
    r"|mp4|avi|mov|flv|wmv|mkv|webm|m4v|mpe?g|txt|pdf|docx?)\b",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s'\"<>]+")
# A quote opens after a space, colon or bracket (not inside a word like "I've") and closes
# before punctuation or a space.
_QUOTED = re.compile(
    r"(?:(?<=[\s:(])|^)(['\"“‘])(.{3,600}?)(?:['\"”’])(?=[\s.,;:!?)]|$)", re.DOTALL
)


@dataclass
class Resources:
    """What the user supplied in the request, by type, in order of appearance."""

    by_type: dict[str, list[str]] = field(default_factory=dict)

    def take(self, kind: str, used: Counter[str]) -> str | None:
        """The least used resource of ``kind`` (first unused, else reuse the first)."""
        values = self.by_type.get(kind, [])
        if not values:
            return None
        value = min(values, key=lambda v: (used[v], values.index(v)))
        used[value] += 1
        return value


def extract_resources(text: str) -> Resources:
    """Deterministic parse of file names, URLs and quoted text out of a request."""
    found: dict[str, list[str]] = {}

    def add(kind: str, value: str) -> None:
        if value and value not in found.setdefault(kind, []):
            found[kind].append(value)

    for url in _URL.findall(text):
        url = url.rstrip(".,;:!?)")
        add("url", url)
    url_spans = [m.span() for m in _URL.finditer(text)]
    for match in _FILE.finditer(text):
        if any(a <= match.start() < b for a, b in url_spans):
            continue
        add(content_type(match.group(0)), match.group(0))
    for match in _QUOTED.finditer(text):
        value = match.group(2).strip()
        if _FILE.fullmatch(value) or _URL.fullmatch(value):
            continue
        add("text", value)
    return Resources(found)


def order_tools(
    tools: Sequence[str],
    positions: Mapping[str, int],
    pair_weight: Mapping[tuple[str, str], float],
    catalog: Catalog,
    *,
    unplaced_neutral: bool = False,
    pair_order: Mapping[tuple[str, str], float] | None = None,
) -> list[str]:
    """Order a tool set as the most plausible chain.

    With ``pair_order`` (log-odds that a runs before b, e.g. from ``selector.PairOrder``) the
    score of an order is the sum of those log-odds over all pairs it puts a before b, minus 1
    per consecutive pair the tool graph cannot link. Without it: the sum over consecutive
    pairs of 1 if the first is mentioned earlier in the request (0.5 when either has no cue
    and ``unplaced_neutral``), + the past-plan weight of that link, + a small bonus if the
    tool graph allows it, - 1 if it does not. Exhaustive up to 7 tools; beyond, by pairwise
    wins (or mention position).
    """
    tools = list(dict.fromkeys(tools))
    if len(tools) <= 1:
        return tools

    def edge(a: str, b: str) -> float:
        pa, pb = positions.get(a, NO_CUE), positions.get(b, NO_CUE)
        if unplaced_neutral and NO_CUE in (pa, pb):
            mention = 0.5  # an uncued tool: types and past plans place it
        else:
            mention = 1.0 if pa < pb else 0.0
        graph = 0.05 if catalog.can_feed(a, b) else -1.0
        return mention + pair_weight.get((a, b), 0.0) + graph

    if len(tools) > 7:
        if pair_order is not None:
            return sorted(tools, key=lambda a: -sum(pair_order.get((a, b), 0.0) for b in tools))
        return sorted(tools, key=lambda t: positions.get(t, NO_CUE))

    def total(p: tuple[str, ...]) -> float:
        if pair_order is None:
            return sum(edge(p[i], p[i + 1]) for i in range(len(p) - 1))
        # a learned "a runs before b" log-odds for every pair, minus impossible links
        before = sum(
            pair_order.get((p[i], p[j]), 0.0) for i in range(len(p)) for j in range(i + 1, len(p))
        )
        return before - sum(not catalog.can_feed(p[i], p[i + 1]) for i in range(len(p) - 1))

    best = max(itertools.permutations(tools), key=total)
    return list(best)


def build_nodes(
    order: Sequence[str], catalog: Catalog, resources: Resources
) -> list[dict[str, Any]]:
    """TaskBench nodes for ordered tools, linked by type.

    Each input slot takes the previous node's output when it fits, else an older output that
    nothing consumed yet, else a user resource of the slot's type.
    """
    nodes: list[dict[str, Any]] = []
    consumed: set[int] = set()
    used: Counter[str] = Counter()
    for index, name in enumerate(order):
        tool = catalog.tools[name]
        args: list[str] = []
        linked: set[int] = set()
        for slot in tool.inputs:
            source = _nearest_source(order, index, slot, catalog, consumed, linked)
            if source is not None:
                linked.add(source)
                consumed.add(source)
                args.append(f"<node-{source}>")
                continue
            value = resources.take(slot, used)
            if value is not None:
                args.append(value)
        nodes.append({"task": name, "arguments": args})
    return nodes


def _nearest_source(
    order: Sequence[str],
    index: int,
    slot: str,
    catalog: Catalog,
    consumed: set[int],
    linked: set[int],
) -> int | None:
    """The closest earlier node whose output fits ``slot``: unconsumed ones first."""
    candidates = [
        j
        for j in range(index - 1, -1, -1)
        if j not in linked
        and catalog.tools[order[j]].output == slot
        and catalog.can_feed(order[j], order[index])
    ]
    if not candidates:
        return None
    fresh = [j for j in candidates if j not in consumed]
    # The previous node always feeds the next one in a chain; older outputs only if unused.
    if candidates[0] == index - 1:
        return index - 1
    return fresh[0] if fresh else None


def fix_modalities(
    chosen: Sequence[str], votes: Mapping[str, float], catalog: Catalog, resources: Resources
) -> tuple[list[str], list[str]]:
    """Swap a tool whose media input nothing can supply for a voted sibling that fits.

    "Transcribe it" after "my video example.mp4" cues Audio-to-Text, but only a video exists:
    the sibling with the same output and a suppliable input (Video-to-Text) is meant. Text and
    URLs count as always suppliable (the request itself is text).
    """
    notes: list[str] = []
    out = list(dict.fromkeys(chosen))
    for index, name in enumerate(list(out)):
        media = [t for t in catalog.tools[name].inputs if t not in {"text", "url"}]
        supplied = set(resources.by_type) | {catalog.tools[o].output for o in out if o != name}
        if not media or any(t in supplied for t in media):
            continue
        output = catalog.tools[name].output
        siblings = [
            t.name
            for t in catalog.tools.values()
            if t.name not in out
            and t.output == output
            and votes.get(t.name, 0.0) > 0
            and all(i in supplied or i in {"text", "url"} for i in t.inputs)
        ]
        if siblings:
            best = max(siblings, key=lambda t: votes.get(t, 0.0))
            out[index] = best
            notes.append(f"{name} -> {best}: no {'/'.join(media)} to feed it")
    return out, notes


def bridge_urls(
    chosen: Sequence[str], catalog: Catalog, text: str, resources: Resources
) -> tuple[list[str], dict[str, int]]:
    """Add the downloader a user's URL needs when no chosen tool takes a URL.

    A URL that is not inside quoted text must be fetched before anything can use it; which
    downloader follows from the URL's extension (an image URL -> the tool whose only input is
    a URL and whose output is an image; no media extension -> text). Returns the tools and
    the positions of added tools (the URL's offset, so they order first).
    """
    out = list(dict.fromkeys(chosen))
    if any("url" in catalog.tools[t].inputs for t in out):
        return out, {}
    quoted = " ".join(resources.by_type.get("text", []))
    added: dict[str, int] = {}
    for url in resources.by_type.get("url", []):
        if url in quoted:
            continue
        kind = content_type(url)
        fetchers = [
            t.name for t in catalog.tools.values() if t.inputs == ("url",) and t.output == kind
        ]
        if fetchers and fetchers[0] not in out:
            out.insert(0, fetchers[0])
            added[fetchers[0]] = max(text.find(url), 0)
        break  # one URL, one downloader: more is guessing
    return out, added


def _media(catalog: Catalog, name: str) -> list[str]:
    return [t for t in catalog.tools[name].inputs if t not in {"text", "url"}]


def drop_unfed(
    chosen: Sequence[str], catalog: Catalog, resources: Resources
) -> tuple[list[str], list[str]]:
    """Drop a tool nothing can feed when a chosen sibling with the same output can be fed.

    "Transcribe" cues both Audio-to-Text and Video-to-Text; with only a video in the request
    (and no tool producing audio) the audio variant cannot run, the video one can.
    """
    out = list(dict.fromkeys(chosen))

    def fed(name: str) -> bool:
        media = _media(catalog, name)
        supplied = set(resources.by_type) | {catalog.tools[o].output for o in out if o != name}
        return not media or any(t in supplied for t in media)

    notes: list[str] = []
    for name in list(out):
        if fed(name):
            continue
        output = catalog.tools[name].output
        # a sibling converts another medium into the same output (Audio- vs Video-to-Text)
        if any(
            o != name and catalog.tools[o].output == output and _media(catalog, o) and fed(o)
            for o in out
        ):
            out.remove(name)
            notes.append(f"dropped {name}: nothing supplies its input")
    return out, notes


def repair(
    nodes: Iterable[Mapping[str, Any]], catalog: Catalog, resources: Resources
) -> tuple[list[dict[str, Any]], list[str]]:
    """Make a proposed plan valid: known tools only, references rebuilt from types.

    Returns the repaired nodes and what was changed. The order proposed is kept; duplicates
    of a tool are dropped (TaskBench scores tool sets and name pairs).
    """
    notes: list[str] = []
    order: list[str] = []
    for node in nodes:
        name = str(node.get("task", ""))
        if name not in catalog.tools:
            notes.append(f"dropped unknown tool {name!r}")
            continue
        if name in order:
            notes.append(f"dropped repeated {name!r}")
            continue
        order.append(name)
    rebuilt = build_nodes(order, catalog, resources)
    return rebuilt, notes


def link_weights(
    plans: Iterable[tuple[Sequence[str], set[tuple[str, str]]]],
) -> dict[tuple[str, str], float]:
    """P(a feeds b | a and b in the same plan), smoothed, from past plans."""
    together: Counter[tuple[str, str]] = Counter()
    fed: Counter[tuple[str, str]] = Counter()
    for tools, links in plans:
        unique = set(tools)
        for a in unique:
            for b in unique:
                if a != b:
                    together[(a, b)] += 1
        fed.update(links)
    return {pair: (fed[pair] + 0.1) / (count + 1) for pair, count in together.items()}


def fill_gaps(
    chosen: Sequence[str],
    scores: Mapping[str, float],
    catalog: Catalog,
    resources: Resources,
    min_score: float,
) -> tuple[list[str], list[str]]:
    """Add the converter a chosen tool needs when nothing supplies one of its input types.

    "Change the voice in my video" cues Voice Changer, whose audio input neither the user
    (a video) nor another chosen tool supplies: a tool that turns something available into
    audio (Video-to-Audio) must run first. Among the tools whose output is the missing type
    and whose own inputs are available, the best scored one is added if its score reaches
    ``min_score``. Text counts as always available (the request itself is text).
    """
    out = list(dict.fromkeys(chosen))
    notes: list[str] = []
    for _ in range(len(catalog.tools)):
        supplied = {"text"} | set(resources.by_type) | {catalog.tools[o].output for o in out}
        missing = [
            (name, kind)
            for name in out
            for kind in dict.fromkeys(catalog.tools[name].inputs)
            if kind not in supplied
        ]
        added = False
        for name, kind in missing:
            candidates = [
                t.name
                for t in catalog.tools.values()
                if t.name not in out
                and t.output == kind
                and all(i in supplied for i in t.inputs)
                and scores.get(t.name, 0.0) >= min_score
            ]
            if candidates:
                best = max(candidates, key=lambda t: scores.get(t, 0.0))
                out.append(best)
                notes.append(f"added {best}: {name} needs {kind}")
                added = True
                break
        if not added:
            break
    return out, notes
