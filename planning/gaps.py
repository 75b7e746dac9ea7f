"""Check a chosen tool set against the types: drop what cannot be fed, add what is missing.

"Transcribe my video" may point at both an audio and a video transcriber: the one nothing can
feed goes (``drop_unfed``). "Change the voice in my video" points at a voice changer whose
audio input neither the user nor another chosen tool supplies: the converter that makes audio
from something available is added (``fill_gaps``). A URL in the request that no chosen tool
takes gets the fetcher of its kind (``bridge_urls``). Types only: no tool is named here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from planning.catalog import Catalog, ToolInfo
from planning.link import inputs, outputs
from planning.resources import TEXT, URL, Resources, kind_of

FREE = frozenset({TEXT, URL})
"""Types the request itself can always supply (it is text, and names its URLs)."""


def _media(catalog: Catalog, name: str) -> list[str]:
    tool = catalog.get(name)
    return [t for t in inputs(tool) if t not in FREE] if tool else []


def _outputs(catalog: Catalog, name: str) -> set[str]:
    tool = catalog.get(name)
    return outputs(tool) if tool else set()


def _supplied(catalog: Catalog, resources: Resources, tools: Sequence[str]) -> set[str]:
    return resources.kinds | {t for o in tools for t in _outputs(catalog, o)}


def drop_unfed(
    chosen: Sequence[str], catalog: Catalog, resources: Resources
) -> tuple[list[str], list[str]]:
    """Drop a tool nothing can feed when a chosen sibling with the same output can be fed."""
    out = list(dict.fromkeys(chosen))

    def fed(name: str) -> bool:
        media = _media(catalog, name)
        supplied = _supplied(catalog, resources, [o for o in out if o != name])
        return not media or any(t in supplied for t in media)

    notes: list[str] = []
    for name in list(out):
        if fed(name):
            continue
        made = _outputs(catalog, name)
        # a sibling converts another medium into the same output
        if any(
            o != name and _outputs(catalog, o) == made and _media(catalog, o) and fed(o)
            for o in out
        ):
            out.remove(name)
            notes.append(f"dropped {name}: nothing supplies its input")
    return out, notes


def fix_modalities(
    chosen: Sequence[str], votes: Mapping[str, float], catalog: Catalog, resources: Resources
) -> tuple[list[str], list[str]]:
    """Swap a tool whose media input nothing can supply for a voted sibling that fits."""
    notes: list[str] = []
    out = list(dict.fromkeys(chosen))
    for index, name in enumerate(list(out)):
        media = _media(catalog, name)
        supplied = _supplied(catalog, resources, [o for o in out if o != name])
        if not media or any(t in supplied for t in media):
            continue
        made = _outputs(catalog, name)
        siblings = [
            t.name
            for t in catalog.all()
            if t.name not in out
            and outputs(t) == made
            and votes.get(t.name, 0.0) > 0
            and all(i in supplied or i in FREE for i in inputs(t))
        ]
        if siblings:
            best = max(siblings, key=lambda t: votes.get(t, 0.0))
            out[index] = best
            notes.append(f"{name} -> {best}: no {'/'.join(media)} to feed it")
    return out, notes


def bridge_urls(
    chosen: Sequence[str], catalog: Catalog, text: str, resources: Resources
) -> tuple[list[str], dict[str, int]]:
    """Add the fetcher a user's URL needs when no chosen tool takes a URL.

    A URL that is not inside quoted text must be fetched before anything can use it; which
    fetcher follows from the URL's extension (the tool whose only input is a URL and whose
    output is that kind). Returns the tools and the request offsets of added tools (the URL's
    offset, so they order first).
    """
    out = list(dict.fromkeys(chosen))
    if any(URL in inputs(t) for o in out if (t := catalog.get(o)) is not None):
        return out, {}
    quoted = " ".join(resources.by_type.get(TEXT, []))
    added: dict[str, int] = {}
    for url in resources.by_type.get(URL, []):
        if url in quoted:
            continue
        kind = kind_of(url)
        fetchers = [t.name for t in catalog.all() if inputs(t) == (URL,) and outputs(t) == {kind}]
        if fetchers and fetchers[0] not in out:
            out.insert(0, fetchers[0])
            added[fetchers[0]] = max(text.find(url), 0)
        break  # one URL, one fetcher: more is guessing
    return out, added


def _chain(
    kind: str,
    supplied: set[str],
    candidates: Sequence[ToolInfo],
    scores: Mapping[str, float],
    depth: int,
) -> list[str] | None:
    """The best chain of tools that makes ``kind`` from ``supplied`` types (producers first).

    Shorter chains win, then the higher least score along the chain; ``depth`` bounds its
    length. None when no chain of scored-enough tools exists.
    """
    best: tuple[int, float, list[str]] | None = None
    for tool in candidates:
        if kind not in outputs(tool):
            continue
        chain: list[str] = []
        have = set(supplied)
        for need in dict.fromkeys(inputs(tool)):
            if need in have:
                continue
            if depth <= 1:
                break
            rest = [c for c in candidates if c.name != tool.name and c.name not in chain]
            sub = _chain(need, have, rest, scores, depth - 1)
            if sub is None:
                break
            chain += sub
            have |= {t for name in sub for c in candidates if c.name == name for t in outputs(c)}
        else:
            chain.append(tool.name)
            key = (len(chain), -min(scores.get(n, 0.0) for n in chain))
            if best is None or key < best[:2]:
                best = (key[0], key[1], chain)
    return best[2] if best else None


def fill_gaps(
    chosen: Sequence[str],
    scores: Mapping[str, float],
    catalog: Catalog,
    resources: Resources,
    min_score: float,
    depth: int = 2,
) -> tuple[list[str], list[str]]:
    """Add the converters a chosen tool needs when nothing supplies one of its input types.

    Among the chains of tools (at most ``depth`` long) that make the missing type from what is
    available, every tool scored at least ``min_score``, the shortest is added (ties: the one
    whose weakest tool scores best). So "change the voice in my video" can get a video-to-
    audio converter, and, when only text is at hand, a text-to-video step before it. Text
    counts as always available (the request itself is text).
    """
    out = list(dict.fromkeys(chosen))
    notes: list[str] = []
    every = catalog.all()
    for _ in range(len(every)):
        supplied = {TEXT} | _supplied(catalog, resources, out)
        missing = [
            (name, kind)
            for name in out
            if (tool := catalog.get(name)) is not None
            for kind in dict.fromkeys(inputs(tool))
            if kind not in supplied
        ]
        pool = [t for t in every if t.name not in out and scores.get(t.name, 0.0) >= min_score]
        added = False
        for name, kind in missing:
            chain = _chain(kind, supplied, pool, scores, depth)
            if chain:
                out += chain
                notes.append(f"added {' -> '.join(chain)}: {name} needs {kind}")
                added = True
                break
        if not added:
            break
    return out, notes
