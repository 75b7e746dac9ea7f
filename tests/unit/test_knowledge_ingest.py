"""Ingestion: chunking, routing, stable ids, bad input, all-or-nothing writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest import (
    IngestError,
    chunk_markdown,
    ingest_paths,
    load_file,
    source_of,
    split_long,
)
from services.knowledge_base import CHARACTERS, STYLES, KnowledgeBaseError
from tests.knowledge_helpers import fake_store, kb_for

SHEET = """---
kind: character
name: Rosa
---
# Rosa

## Appearance
Red coat, green boots.

## Voice
Husky and slow.
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, **kw: object) -> object:
    args: dict[str, object] = {"chunk_chars": 800, "max_file_mb": 5.0, **kw}
    return load_file(path, **args)  # type: ignore[arg-type]


def test_split_long_respects_limit_and_keeps_every_word() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 40 for i in range(10))
    pieces = split_long(text, 120)
    assert all(len(p) <= 120 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert split_long("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_markdown_splits_at_headings_and_prefixes_the_name(tmp_path: Path) -> None:
    loaded = load(write(tmp_path / "rosa.md", SHEET))
    assert loaded.collection == CHARACTERS  # type: ignore[attr-defined]
    assert loaded.name == "Rosa"  # type: ignore[attr-defined]
    texts = [c.text for c in loaded.chunks]  # type: ignore[attr-defined]
    assert texts == ["Rosa > Appearance: Red coat, green boots.", "Rosa > Voice: Husky and slow."]


def test_markdown_long_section_is_cut_below_chunk_chars() -> None:
    body = "# Big\n\n## Notes\n" + "\n\n".join("sentence " * 30 for _ in range(8))
    chunks, name = chunk_markdown(body, "", 300)
    assert name == "Big"
    assert len(chunks) > 3
    assert all(len(c.text) <= 300 and c.text.startswith("Big > Notes: ") for c in chunks)


def test_yaml_entries_and_documents_become_chunks(tmp_path: Path) -> None:
    path = write(
        tmp_path / "styles" / "ink.yaml",
        "name: Ink\npalette: black and red\nlinework: bold\n---\nextra: second document\n",
    )
    loaded = load(path)
    assert loaded.collection == STYLES  # type: ignore[attr-defined]
    assert [c.text for c in loaded.chunks] == [  # type: ignore[attr-defined]
        "Ink > palette: black and red",
        "Ink > linework: bold",
        "Ink > extra: second document",
    ]


def test_json_top_level_entries_and_kind_routing(tmp_path: Path) -> None:
    data = {"kind": "character", "name": "Bo", "voice": "high", "traits": ["brave", "loud"]}
    loaded = load(write(tmp_path / "bo.json", json.dumps(data)))
    assert loaded.collection == CHARACTERS  # type: ignore[attr-defined]
    texts = [c.text for c in loaded.chunks]  # type: ignore[attr-defined]
    assert texts[0] == "Bo > voice: high"
    assert "brave" in texts[1] and "loud" in texts[1]


def test_text_splits_by_paragraphs_and_routes_by_folder(tmp_path: Path) -> None:
    path = write(tmp_path / "characters" / "notes.txt", "one " * 100 + "\n\n" + "two " * 100)
    loaded = load(path, chunk_chars=450)
    assert loaded.collection == CHARACTERS  # type: ignore[attr-defined]
    assert len(loaded.chunks) == 2  # type: ignore[attr-defined]


def test_collection_option_overrides_routing(tmp_path: Path) -> None:
    loaded = load(write(tmp_path / "characters" / "a.md", SHEET), collection="my_notes")
    assert loaded.collection == "my_notes"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.md", "   \n", "empty"),
        ("bin.md", b"\x00\x01\x02abc", "binary"),
        ("latin.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("doc.pdf", "hello", "unknown extension '.pdf'"),
        ("bad.yaml", "a: [unclosed", "cannot parse it as yaml"),
        ("bad.json", "{nope", "cannot parse it as json"),
        ("headings.md", "# Only\n## Headings\n", "no text found"),
    ],
)
def test_bad_files_get_clear_messages(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    path = write(tmp_path / "characters" / name, content)
    with pytest.raises(IngestError, match=message) as info:
        load(path)
    assert str(path) in str(info.value)


def test_too_large_file_names_the_setting(tmp_path: Path) -> None:
    path = write(tmp_path / "characters" / "big.txt", "word " * 1000)
    with pytest.raises(IngestError, match="max_file_mb"):
        load(path, max_file_mb=0.001)


def test_unroutable_and_unknown_kind_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="--collection"):
        load(write(tmp_path / "misc" / "a.txt", "hello"))
    with pytest.raises(IngestError, match="unknown kind 'prop'"):
        load(write(tmp_path / "misc" / "b.yaml", "kind: prop\ntext: a chair\n"))


def test_source_is_project_relative_inside_the_project() -> None:
    assert source_of(Path("configs/knowledge/characters/luca.md")) == (
        "configs/knowledge/characters/luca.md"
    )


def test_reingest_updates_instead_of_duplicating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    sheet = write(tmp_path / "k" / "characters" / "rosa.md", SHEET)
    first = ingest_paths(kb, [sheet])
    ids = set(kb.collection(CHARACTERS).get()["ids"])
    second = ingest_paths(kb, [sheet])
    assert first.chunks == second.chunks == 2
    assert set(kb.collection(CHARACTERS).get()["ids"]) == ids
    # A shorter new version: the chunk it no longer has is removed.
    write(sheet, SHEET.split("## Voice")[0])
    third = ingest_paths(kb, [sheet])
    assert (third.chunks, third.removed, kb.count(CHARACTERS)) == (1, 1, 1)


def test_strict_a_bad_file_in_a_folder_means_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    folder = tmp_path / "k"
    write(folder / "characters" / "rosa.md", SHEET)
    write(folder / "characters" / "broken.json", "{")
    write(folder / "characters" / "empty.md", "")
    with pytest.raises(IngestError) as info:
        ingest_paths(kb, [folder], strict=True)
    assert "broken.json" in str(info.value) and "empty.md" in str(info.value)
    assert kb.count(CHARACTERS) == 0


def test_by_default_bad_files_in_a_folder_are_skipped_with_a_warning_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    folder = tmp_path / "k"
    write(folder / "README.md", "# About this folder\n\nHow to write a character sheet.\n")
    write(folder / "characters" / "rosa.md", SHEET)
    write(folder / "characters" / "broken.json", "{")
    write(folder / "notes.md", "# Loose note\n\nNo kind, no folder that says one.\n")
    report = ingest_paths(kb, [folder])
    assert [s.endswith("rosa.md") for s, _, _ in report.files] == [True]
    assert kb.count(CHARACTERS) > 0
    assert len(report.warnings) == 2
    assert any("broken.json" in w for w in report.warnings)
    assert any("notes.md" in w and "kind:" in w for w in report.warnings)
    assert report.skipped == [str(folder / "README.md")]  # documentation, not a warning


def test_the_shipped_knowledge_folder_ingests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from configs.settings import PACKAGE_DIR

    kb = kb_for(fake_store(tmp_path, monkeypatch))
    report = ingest_paths(kb, [PACKAGE_DIR / "knowledge"])
    assert len(report.files) == 7 and not report.warnings
    assert str(PACKAGE_DIR / "knowledge" / "README.md") in report.skipped


def test_folders_skip_other_file_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    folder = tmp_path / "k"
    write(folder / "characters" / "rosa.md", SHEET)
    write(folder / "characters" / "portrait.png", b"\x89PNG\x00")
    write(folder / "characters" / ".hidden.md", "secret")
    report = ingest_paths(kb, [folder])
    assert [s.endswith("rosa.md") for s, _, _ in report.files] == [True]
    assert report.skipped == [str(folder / "characters" / "portrait.png")]


def test_failed_write_restores_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    sheet = write(tmp_path / "k" / "characters" / "rosa.md", SHEET)
    ingest_paths(kb, [sheet])
    before = kb.collection(CHARACTERS).get()
    write(sheet, SHEET.replace("Red coat", "Blue cape").split("## Voice")[0])

    real_delete = kb.delete
    calls = {"n": 0}

    def failing_delete(name: str, ids: list[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # the stale-chunk delete, after the new chunks were upserted
            raise KnowledgeBaseError("disk full")
        real_delete(name, ids)

    monkeypatch.setattr(kb, "delete", failing_delete)
    with pytest.raises(KnowledgeBaseError, match="disk full"):
        ingest_paths(kb, [sheet])
    after = kb.collection(CHARACTERS).get()
    assert sorted(after["ids"]) == sorted(before["ids"])
    assert sorted(after["documents"]) == sorted(before["documents"])


def test_refused_collection_name_fails_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    sheet = write(tmp_path / "k" / "rosa.md", SHEET)
    with pytest.raises(KnowledgeBaseError, match="refused the collection name 'a b'"):
        ingest_paths(kb, [sheet], collection="a b")


def test_missing_path_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    with pytest.raises(IngestError, match="no such file"):
        ingest_paths(kb, [tmp_path / "nope.md"])
