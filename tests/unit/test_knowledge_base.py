"""The Chroma store: relevance scores, batching, connection and model errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from configs.settings import Settings
from services.knowledge_base import (
    CHARACTERS,
    PAST,
    KnowledgeBase,
    KnowledgeBaseError,
    Record,
    get_knowledge_base,
    relevance,
    stable_id,
)
from tests.knowledge_helpers import FakeEmbedder, fake_store, kb_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("distance", "space", "expected"),
    [
        (0.0, "cosine", 1.0),
        (0.25, "cosine", 0.75),
        (1.0, "cosine", 0.0),  # orthogonal: unrelated
        (1.6, "cosine", 0.0),  # opposed meaning clamps to 0, never negative
        (0.0, "l2", 1.0),  # squared L2 of unit vectors is 2 - 2 cos
        (0.5, "l2", 0.75),
        (2.0, "l2", 0.0),
        (4.0, "l2", 0.0),
        (0.1, "ip", 0.9),
    ],
)
def test_distance_to_relevance(distance: float, space: str, expected: float) -> None:
    assert relevance(distance, space) == pytest.approx(expected)


def test_unknown_space_is_an_error() -> None:
    with pytest.raises(ValueError, match="manhattan"):
        relevance(0.1, "manhattan")


def test_stable_id_depends_only_on_its_parts() -> None:
    assert stable_id("a.md", 0) == stable_id("a.md", 0)
    assert len({stable_id("a.md", 0), stable_id("a.md", 1), stable_id("b.md", 0)}) == 3


def test_query_scores_are_relevances_best_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    texts = ["red boat at sea", "green forest path", "red boat in harbour"]
    vectors = kb.embed(texts)
    kb.upsert(
        CHARACTERS,
        [
            Record(f"id{i}", t, {"source": f"s{i}"}, v)
            for i, (t, v) in enumerate(zip(texts, vectors))
        ],
    )
    items = kb.query(CHARACTERS, "red boat at sea", k=3)
    assert [i.text for i in items][0] == "red boat at sea"
    assert items[0].score == pytest.approx(1.0, abs=1e-5)
    assert all(0.0 <= i.score <= 1.0 for i in items)
    assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)
    assert items[-1].text == "green forest path" and items[-1].score == 0.0
    assert items[0].metadata["id"] == "id0" and items[0].source == "s0"


def test_filtered_query_and_empty_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    assert kb.query(PAST, "anything") == []
    vec = kb.embed(["boat"])[0]
    kb.upsert(
        PAST,
        [
            Record("a", "boat", {"source": "a", "quality": 0.9}, vec),
            Record("b", "boat", {"source": "b", "quality": 0.3}, vec),
        ],
    )
    found = kb.query(PAST, "boat", where={"quality": {"$gte": 0.5}})
    assert [i.metadata["id"] for i in found] == ["a"]


def test_upsert_batches_below_the_client_maximum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    col = kb.collection(PAST)
    sizes: list[int] = []
    real = col.upsert

    def spy(**kwargs: object) -> None:
        sizes.append(len(kwargs["ids"]))  # type: ignore[arg-type]
        real(**kwargs)

    monkeypatch.setattr(col, "upsert", spy)
    monkeypatch.setattr(kb.client, "get_max_batch_size", lambda: 4)
    vec = kb.embed(["x"])[0]
    kb.upsert(PAST, [Record(f"r{i}", "x", {"source": "s"}, vec) for i in range(10)])
    assert sizes == [3, 3, 3, 1]
    assert kb.count(PAST) == 10


def test_unreachable_server_names_the_fix(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(
        data_dir=tmp_path,
        knowledge={"mode": "http", "port": port, "timeout_s": 1.0},  # type: ignore[arg-type]
    )
    kb = KnowledgeBase(settings, embedder=FakeEmbedder())
    with pytest.raises(KnowledgeBaseError) as info:
        kb.count(CHARACTERS)
    message = str(info.value)
    assert f"http://127.0.0.1:{port}" in message
    assert "chroma run" in message and "ANIMAGENT_KNOWLEDGE__MODE=embedded" in message


def test_missing_embedding_model_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        knowledge={"embedding_model_path": str(tmp_path / "no-model")},  # type: ignore[arg-type]
    )
    kb = KnowledgeBase(settings)
    with pytest.raises(KnowledgeBaseError, match="embedding_model_path") as info:
        kb.embed(["hello"])
    assert str(tmp_path / "no-model") in str(info.value)


def test_unwritable_folder_names_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    kb = KnowledgeBase(Settings(data_dir=blocker), embedder=FakeEmbedder())
    with pytest.raises(KnowledgeBaseError, match="chroma_dir"):
        kb.count(CHARACTERS)


def test_one_knowledge_base_per_configuration(tmp_path: Path) -> None:
    a = Settings(data_dir=tmp_path / "a")
    assert get_knowledge_base(a) is get_knowledge_base(Settings(data_dir=tmp_path / "a"))
    assert get_knowledge_base(a) is not get_knowledge_base(Settings(data_dir=tmp_path / "b"))
