"""How much of a text is copied from other texts (word n-gram overlap).

Used by evaluate to reject output that repeats a past generation, a prompt or the request
beyond a small overlap: a 135M model copies whatever example it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORDS = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-case word tokens."""
    return _WORDS.findall(text.lower())


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The word n-grams of ``text``."""
    tokens = words(text)
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def copied_fraction(text: str, sources: Iterable[str], n: int = 4) -> float:
    """The share of ``text``'s word n-grams that also occur in any of ``sources`` (0..1)."""
    mine = ngrams(text, n)
    if not mine:
        return 0.0
    theirs: set[tuple[str, ...]] = set()
    for source in sources:
        theirs |= ngrams(source, n)
    return len(mine & theirs) / len(mine)


def copied_lines(
    lines: Iterable[str], sources: Iterable[str], *, n: int = 4, limit: float = 0.5
) -> list[str]:
    """The lines (of at least ``n`` words) whose n-grams are mostly found in ``sources``."""
    pool = list(sources)
    return [
        line for line in lines if len(words(line)) >= n and copied_fraction(line, pool, n) > limit
    ]
