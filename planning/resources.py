"""What a request supplies by itself: file names, URLs and quoted text, by data type.

A deterministic parse (no model): a file's type follows from its extension, a URL is a ``url``
(what it points at is :func:`kind_of` its path), quoted text is ``text``. The planner feeds a
step's typed input from these when no earlier step produces that type.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

URL = "url"
TEXT = "text"
# Extension -> the data type a file of that kind holds. Media types use the catalog's names
# (planning.catalog: image, audio, video, text).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image": ("jpg", "jpeg", "png", "gif", "bmp", "tiff", "svg", "ico", "webp"),
    "audio": ("mp3", "wav", "wma", "ogg", "aac", "flac", "aiff", "m4a"),
    "video": ("mp4", "avi", "mov", "flv", "wmv", "mkv", "webm", "m4v", "mpg", "mpeg"),
    TEXT: ("txt", "pdf", "doc", "docx", "md"),
}
RESOURCE_KINDS = (*(k for k in EXTENSIONS if k != TEXT), URL, TEXT)
"""Every kind :func:`extract_resources` can report, in a fixed order (features use it)."""

_BY_EXT = {ext: kind for kind, exts in EXTENSIONS.items() for ext in exts}
_FILE = re.compile(
    r"[\w\-]+\.(?:" + "|".join(sorted(_BY_EXT, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_URL = re.compile(r"https?://[^\s'\"<>]+")
# A quote opens after a space, colon or bracket (not inside a word like "I've") and closes
# before punctuation or a space.
_QUOTED = re.compile(
    r"(?:(?<=[\s:(])|^)(['\"“‘])(.{3,600}?)(?:['\"”’])(?=[\s.,;:!?)]|$)", re.DOTALL
)


def kind_of(name: str) -> str:
    """The data type of a file name or URL by its extension; ``text`` when it has none known."""
    path = name.strip("'\"").split("?", 1)[0].split("#", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1]
    ext = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    return _BY_EXT.get(ext, TEXT)


@dataclass
class Resources:
    """What the user supplied in the request, by type, in order of appearance."""

    by_type: dict[str, list[str]] = field(default_factory=dict)

    @property
    def kinds(self) -> set[str]:
        """The data types the request supplies at least one value of."""
        return set(self.by_type)

    def take(self, kind: str, used: Counter[str]) -> str | None:
        """The least used resource of ``kind`` (first unused, else reuse the first)."""
        values = self.by_type.get(kind, [])
        if not values:
            return None
        value = min(values, key=lambda v: (used[v], values.index(v)))
        used[value] += 1
        return value


def extract_resources(text: str) -> Resources:
    """File names, URLs and quoted text out of a request, by type."""
    found: dict[str, list[str]] = {}

    def add(kind: str, value: str) -> None:
        if value and value not in found.setdefault(kind, []):
            found[kind].append(value)

    for url in _URL.findall(text):
        add(URL, url.rstrip(".,;:!?)"))
    url_spans = [m.span() for m in _URL.finditer(text)]
    for match in _FILE.finditer(text):
        if any(a <= match.start() < b for a, b in url_spans):
            continue
        add(kind_of(match.group(0)), match.group(0))
    for match in _QUOTED.finditer(text):
        value = match.group(2).strip()
        if _FILE.fullmatch(value) or _URL.fullmatch(value):
            continue
        add(TEXT, value)
    return Resources(found)
