r"""Where a request mentions each tool: the first match of any of the tool's ``hints``.

A hint is a case-insensitive regular expression searched in the request; a plain phrase
("read aloud") is one, and a pattern ("narrat", "download\\w* .{0,40}video") lets a hint cover
word forms. A hint that is not a valid pattern is matched literally. Two uses: a vote for each
tool, and the position of the first hit, which orders the plan (people describe steps in the
order they want them).
"""

from __future__ import annotations

import re
from functools import lru_cache

from planning.catalog import Catalog, ToolInfo

NO_HINT = 10**6


@lru_cache(maxsize=4096)
def _compiled(hints: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    out = []
    for hint in hints:
        try:
            out.append(re.compile(hint, re.IGNORECASE))
        except re.error:  # a phrase with a stray bracket: match it as written
            out.append(re.compile(re.escape(hint), re.IGNORECASE))
    return tuple(out)


def hint_position(tool: ToolInfo, text: str) -> int:
    """Character offset of the first hint of ``tool`` in ``text``; ``NO_HINT`` if none."""
    found = [m.start() for p in _compiled(tuple(tool.hints)) if (m := p.search(text))]
    return min(found) if found else NO_HINT


def hint_positions(text: str, catalog: Catalog) -> dict[str, int]:
    """Tool -> first hint position, for the tools with a hint in ``text``."""
    return {t.name: p for t in catalog.all() if (p := hint_position(t, text)) != NO_HINT}
