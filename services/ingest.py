"""Knowledge files -> chunks -> the right collection, all or nothing per file.

Markdown splits at headings, YAML and JSON at documents and top-level entries, plain text at
paragraphs; no chunk is longer than ``knowledge.chunk_chars``. A chunk's id hashes the file's
source path and the chunk's position, so ingesting the same file again updates it, and chunks
the new version no longer has are removed. Every file of a call is read, validated and chunked
before anything is embedded, and each file is embedded before anything of it is written.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from configs.settings import PROJECT_DIR
from services.knowledge_base import (
    CHARACTERS,
    COLLECTIONS,
    STYLES,
    KnowledgeBase,
    KnowledgeBaseError,
    Record,
    stable_id,
)

SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".txt": "text",
}
# What a `kind:` field or a folder name says about where a file belongs.
KIND_TO_COLLECTION = {
    "character": CHARACTERS,
    "characters": CHARACTERS,
    "character_knowledge": CHARACTERS,
    "style": STYLES,
    "styles": STYLES,
    "style_guide": STYLES,
    "style_guides": STYLES,
}
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Where a long text may be cut, best first, and what joins the pieces that stay together.
_CUTS = ((r"\n\s*\n", "\n\n"), (r"\n", "\n"), (r"(?<=[.!?])\s+", " "), (r"\s+", " "))
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


class IngestError(KnowledgeBaseError):
    """A knowledge file cannot be ingested; the message names the file and the fix."""


@dataclass
class Chunk:
    """One piece of a file: its text and the heading or entry it came from."""

    text: str
    section: str = ""


@dataclass
class LoadedFile:
    """A validated, chunked file, ready to embed."""

    path: Path
    source: str
    collection: str
    kind: str
    name: str
    chunks: list[Chunk]
    meta: dict[str, Any] = field(default_factory=dict)

    def records(self, embeddings: list[list[float]]) -> list[Record]:
        """The chunks as records with stable ids and the collection's metadata."""
        now = time.time()
        out = []
        for i, (chunk, vector) in enumerate(zip(self.chunks, embeddings, strict=True)):
            meta: dict[str, Any] = {
                "source": self.source,
                "kind": self.kind,
                "title": self.name,
                "section": chunk.section,
                "chunk": i,
                "created": now,
                "quality": 1.0,
            }
            if self.collection == CHARACTERS and self.name:
                meta["character"] = self.name.lower()
            out.append(Record(stable_id(self.source, i), chunk.text, meta, vector))
        return out


def source_of(path: Path) -> str:
    """The stable name of a file: relative to the project when inside it, else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(PROJECT_DIR).as_posix()
    except ValueError:
        return resolved.as_posix()


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Files to ingest and whether each was named explicitly (folders: recursive, sorted).

    Raises:
        IngestError: A path does not exist.
    """
    for path in paths:
        if not path.exists():
            raise IngestError(f"{path}: no such file or folder.")
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") for p in rel):
                    yield child, False
        else:
            yield path, True


def read_text(path: Path, max_file_mb: float) -> str:
    """The file's text, refusing what is not a usable knowledge file."""
    size = path.stat().st_size
    if size > max_file_mb * 1024 * 1024:
        raise IngestError(
            f"{path}: {size / 1024 / 1024:.1f} MB is over the {max_file_mb:g} MB limit. Split the "
            "file, or raise knowledge.max_file_mb (ANIMAGENT_KNOWLEDGE__MAX_FILE_MB)."
        )
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise IngestError(f"{path}: looks binary (NUL bytes); knowledge files are UTF-8 text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    if not text.strip():
        raise IngestError(f"{path}: the file is empty; nothing to ingest.")
    return text


def split_long(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters.

    Cuts prefer paragraph, then line, then sentence, then word boundaries.
    """
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    for pattern, sep in _CUTS:
        parts = [p for p in re.split(pattern, text) if p.strip()]
        if len(parts) > 1:
            out: list[str] = []
            current = ""
            for part in parts:
                candidate = f"{current}{sep}{part}" if current else part
                if len(candidate) <= limit:
                    current = candidate
                    continue
                if current:
                    out.append(current)
                current = part
            if current:
                out.append(current)
            return [p for piece in out for p in split_long(piece, limit)]
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"front matter is not valid YAML: {exc}") from exc
    return (meta if isinstance(meta, dict) else {}), text[match.end() :]


def chunk_markdown(text: str, title: str, limit: int) -> tuple[list[Chunk], str]:
    """Sections under headings, each prefixed by its heading path; returns (chunks, H1 title)."""
    sections: list[tuple[list[str], list[str]]] = [([], [])]
    path: list[str] = []
    h1 = ""
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            level, heading = len(match.group(1)), match.group(2)
            if level == 1 and not h1:
                h1 = heading
            path = [*path[: level - 1], heading]
            sections.append((list(path), []))
        else:
            sections[-1][1].append(line)
    name = title or h1
    chunks = []
    for heading_path, lines in sections:
        body = "\n".join(lines).strip()
        if not body:
            continue
        label = " > ".join(heading_path)
        prefix = " > ".join(p for p in [name, *heading_path[1 if h1 else 0 :]] if p)
        for piece in split_long(body, max(50, limit - len(prefix) - 2)):
            chunks.append(Chunk(f"{prefix}: {piece}" if prefix else piece, label))
    return chunks, name


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return str(yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)).strip()


def chunk_entries(docs: list[Any], title: str, limit: int) -> list[Chunk]:
    """One chunk per top-level entry of each mapping document (or item of a list)."""
    chunks = []
    for doc in docs:
        if isinstance(doc, dict):
            entries = [(str(k), v) for k, v in doc.items() if k not in {"kind", "name", "title"}]
        elif isinstance(doc, list):
            entries = [("", v) for v in doc]
        else:
            entries = [("", doc)]
        for key, value in entries:
            body = _render(value)
            if not body:
                continue
            prefix = " > ".join(p for p in (title, key) if p)
            for piece in split_long(body, max(50, limit - len(prefix) - 2)):
                chunks.append(Chunk(f"{prefix}: {piece}" if prefix else piece, key))
    return chunks


def route(path: Path, kind: str, override: str | None) -> str:
    """The collection for a file: ``--collection``, else its ``kind:``, else its folder."""
    if override:
        return override
    if kind:
        if kind.lower() in KIND_TO_COLLECTION:
            return KIND_TO_COLLECTION[kind.lower()]
        raise IngestError(
            f"{path}: unknown kind {kind!r}; use kind: character or kind: style, or pass "
            "--collection NAME."
        )
    for part in reversed(path.resolve().parent.parts):
        if part.lower() in KIND_TO_COLLECTION:
            return KIND_TO_COLLECTION[part.lower()]
    raise IngestError(
        f"{path}: cannot tell which collection it belongs to. Put `kind: character` or "
        "`kind: style` in its front matter / top level, keep it under a characters/ or styles/ "
        f"folder, or pass --collection NAME (built-in: {', '.join(COLLECTIONS)})."
    )


def load_file(
    path: Path, *, chunk_chars: int, max_file_mb: float, collection: str | None = None
) -> LoadedFile:
    """Read, validate, parse and chunk one knowledge file (no embedding, no writing).

    Raises:
        IngestError: Unknown extension, too large, binary, empty, unparsable, or unroutable,
            with a message naming the file and the fix.
    """
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(
            f"{path}: unknown extension {path.suffix or '(none)'!r}; knowledge files are "
            f"{', '.join(sorted(SUFFIXES))}."
        )
    text = read_text(path, max_file_mb)
    meta: dict[str, Any] = {}
    try:
        if fmt == "markdown":
            meta, body = _front_matter(text)
            name = str(meta.get("name") or meta.get("character") or meta.get("title") or "")
            chunks, name = chunk_markdown(body, name, chunk_chars)
        elif fmt == "text":
            name = ""
            chunks = [Chunk(p) for p in split_long(text, chunk_chars)]
        else:
            docs = list(yaml.safe_load_all(text)) if fmt == "yaml" else [json.loads(text)]
            docs = [d for d in docs if d is not None]
            first = docs[0] if docs and isinstance(docs[0], dict) else {}
            meta = {k: first[k] for k in ("kind", "name", "title", "character") if k in first}
            name = str(meta.get("name") or meta.get("character") or meta.get("title") or "")
            chunks = chunk_entries(docs, name, chunk_chars)
    except (yaml.YAMLError, json.JSONDecodeError, ValueError) as exc:
        raise IngestError(f"{path}: cannot parse it as {fmt}: {exc}") from exc
    if not chunks:
        raise IngestError(f"{path}: no text found to ingest (only headings or empty entries).")
    kind = str(meta.get("kind") or "")
    target = route(path, kind, collection)
    kind = kind or {CHARACTERS: "character", STYLES: "style"}.get(target, "note")
    return LoadedFile(path, source_of(path), target, kind, name or path.stem, chunks, meta)


@dataclass
class IngestReport:
    """What one ingest call did."""

    files: list[tuple[str, str, int]] = field(default_factory=list)  # source, collection, chunks
    skipped: list[str] = field(default_factory=list)
    """Files in folders that are not knowledge: other types, and README files (documentation)."""
    warnings: list[str] = field(default_factory=list)
    """Knowledge files in folders that could not be used, each with why (non-strict mode)."""
    removed: int = 0
    seconds: float = 0.0

    @property
    def chunks(self) -> int:
        """Chunks written in all."""
        return sum(n for _, _, n in self.files)


Progress = Callable[[int, int, str], None]


def ingest_paths(
    kb: KnowledgeBase,
    paths: Iterable[Path],
    *,
    collection: str | None = None,
    progress: Progress | None = None,
    strict: bool = False,
) -> IngestReport:
    """Ingest files and folders into the knowledge base.

    Every file is loaded and validated first. A bad file named explicitly fails the call before
    anything is written. A bad file found in a folder (unparsable, empty, no collection) is
    skipped with a warning in ``report.warnings`` and the rest are ingested; with ``strict``
    it fails the call before anything is written, as a named file does. Files of other types
    and README files (a folder's documentation) found in folders are skipped and listed. Each
    file is then embedded and written all or nothing, so a failure part-way keeps every file
    written before it whole and leaves the failing one at its previous version.

    Raises:
        IngestError: Bad input (every problem found is listed).
        KnowledgeBaseError: The store or the embedding model failed.
    """
    started = time.perf_counter()
    cfg = kb.settings.knowledge
    if collection is not None:
        try:
            kb.collection(collection)  # a name Chroma refuses fails before any work
        except IngestError:
            raise
        except KnowledgeBaseError as exc:  # a refused name is bad input, not a broken store
            raise IngestError(str(exc)) from exc
    report = IngestReport()
    loaded: list[LoadedFile] = []
    problems: list[str] = []
    for path, explicit in iter_files(paths):
        documentation = path.stem.lower() == "readme"
        if not explicit and (path.suffix.lower() not in SUFFIXES or documentation):
            report.skipped.append(str(path))
            continue
        try:
            loaded.append(
                load_file(
                    path,
                    chunk_chars=cfg.chunk_chars,
                    max_file_mb=cfg.max_file_mb,
                    collection=collection,
                )
            )
        except IngestError as exc:
            if explicit or strict:
                problems.append(str(exc))
            else:
                report.warnings.append(f"skipped {exc}")
    if problems:
        raise IngestError("Nothing was ingested:\n" + "\n".join(f"- {p}" for p in problems))
    if not loaded:
        raise IngestError("Nothing to ingest: no .md, .yaml, .json or .txt files found.")
    for done, item in enumerate(loaded, start=1):
        vectors = kb.embed([c.text for c in item.chunks])
        report.removed += kb.replace_source(item.collection, item.source, item.records(vectors))
        report.files.append((item.source, item.collection, len(item.chunks)))
        if progress:
            progress(done, len(loaded), item.source)
    report.seconds = time.perf_counter() - started
    return report
