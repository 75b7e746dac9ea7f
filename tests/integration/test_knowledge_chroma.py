"""The knowledge base for real: packaged MiniLM embeddings, a Chroma folder, a `chroma run`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from configs.settings import PACKAGE_DIR, Settings
from services import knowledge_base
from services.embeddings import Embedder, get_embedder
from services.ingest import ingest_paths
from services.knowledge_base import CHARACTERS, STYLES, KnowledgeBase, KnowledgeBaseError
from state.models import Intent

pytestmark = pytest.mark.integration
SEED = [PACKAGE_DIR / "knowledge" / "characters", PACKAGE_DIR / "knowledge" / "styles"]
QUESTIONS = [
    ("What is Alberto's catchphrase?", CHARACTERS, "alberto.md"),
    ("Who keeps the harbour lighthouse?", CHARACTERS, "marea.yaml"),
    ("What colour is Luca's shirt?", CHARACTERS, "luca.md"),
    ("Which bird follows the boys around hoping for food?", CHARACTERS, "pip.md"),
    ("How should the light look when the sun is low over the sea?", STYLES, "golden-hour-coast.md"),
    ("How do I keep two characters on the same side of the screen?", STYLES, "dialogue-staging.md"),
    ("soft watercolour washes on paper for a children's book look", STYLES, "storybook-watercolor"),
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return get_embedder()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_packaged_model_gives_unit_vectors(embedder: Embedder) -> None:
    a, b, c = embedder.embed(["a boy on the beach", "a child on the shore", "tax law reform"])
    assert len(a) == 384
    assert sum(x * x for x in a) == pytest.approx(1.0, abs=1e-4)
    assert sum(x * y for x, y in zip(a, b)) > sum(x * y for x, y in zip(a, c)) + 0.2


def test_seed_ingest_reingest_and_recall(tmp_path: Path, embedder: Embedder) -> None:
    kb = KnowledgeBase(Settings(data_dir=tmp_path), embedder=embedder)
    first = ingest_paths(kb, SEED)
    ids = {n: sorted(kb.collection(n).get()["ids"]) for n in (CHARACTERS, STYLES)}
    second = ingest_paths(kb, SEED)
    assert first.chunks == second.chunks == sum(kb.counts().values())
    assert {n: sorted(kb.collection(n).get()["ids"]) for n in (CHARACTERS, STYLES)} == ids
    hits = 0
    for question, collection, expected in QUESTIONS:
        found = kb.query(collection, question, k=5)
        hits += any(expected in item.source for item in found)
        assert all(0.0 <= item.score <= 1.0 for item in found)
    assert hits / len(QUESTIONS) >= 0.85

    # A new client on the same folder (a new process in real life) sees the same store.
    reopened = KnowledgeBase(Settings(data_dir=tmp_path), embedder=embedder)
    assert reopened.counts() == kb.counts()


def test_brief_for_the_demo_request(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.knowledge import build_brief, ensure_seeded

    monkeypatch.setattr(knowledge_base, "_KBS", {})
    settings = Settings(data_dir=tmp_path)
    assert ensure_seeded(settings) > 0
    request = "Create a short scene where Luca and Alberto talk on the beach at sunset"
    intent = Intent(goal=request, characters=["Luca", "Alberto"], setting="beach at sunset")
    brief = build_brief(request, intent, top_k=4, settings=settings)
    styles = [i for i in brief.items if i.collection == STYLES]
    assert styles and styles[0].source.endswith("golden-hour-coast.md")
    assert {"luca", "alberto"} <= {i.metadata.get("character") for i in brief.items}


@pytest.fixture
def chroma_process(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    exe = Path(sys.executable).parent / "chroma"
    binary = str(exe) if exe.exists() else shutil.which("chroma")
    assert binary, "chromadb's `chroma` command is missing: reinstall chromadb"
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    args = [binary, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*args, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "chroma run exited early"
                assert time.monotonic() < deadline, "chroma run did not answer in 60 s"
                time.sleep(0.2)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def chroma_server(chroma_process: tuple[int, subprocess.Popen[bytes]]) -> int:
    return chroma_process[0]


def test_server_mode_against_a_real_chroma_run(
    tmp_path: Path, embedder: Embedder, chroma_server: int
) -> None:
    settings = Settings(
        data_dir=tmp_path / "unused",
        knowledge={"mode": "http", "port": chroma_server},  # type: ignore[arg-type]
    )
    kb = KnowledgeBase(settings, embedder=embedder)
    try:
        report = ingest_paths(kb, [SEED[0]])
        assert kb.count(CHARACTERS) == report.chunks > 0
        ingest_paths(kb, [SEED[0]])
        assert kb.count(CHARACTERS) == report.chunks
        found = kb.query(CHARACTERS, "Who keeps the harbour lighthouse?", k=3)
        assert found[0].source.endswith("marea.yaml")
        # Requests are bounded: a server that stops answering cannot hang a run.
        assert kb.client._server._session.timeout.read == settings.knowledge.timeout_s * 6
    finally:
        kb.close()
    assert not (tmp_path / "unused").exists()  # server mode writes no local folder


def test_unreachable_server_message(tmp_path: Path, embedder: Embedder) -> None:
    port = free_port()
    settings = Settings(
        data_dir=tmp_path,
        knowledge={"mode": "http", "port": port, "timeout_s": 1.0},  # type: ignore[arg-type]
    )
    with pytest.raises(KnowledgeBaseError, match=f"127.0.0.1:{port} cannot be reached"):
        ingest_paths(KnowledgeBase(settings, embedder=embedder), [SEED[0]])


def test_a_chroma_server_that_goes_away_mid_run(
    embedder: Embedder,
    chroma_process: tuple[int, subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fault matrix: the knowledge server dies after retrieval; the run still ends, honestly."""
    import json

    from langgraph.checkpoint.memory import InMemorySaver

    from configs.settings import get_settings
    from graph.builder import build_graph
    from services.fake_llm import FakeChatModel
    from services.llm import override_models
    from state import Context

    port, proc = chroma_process
    monkeypatch.setattr(knowledge_base, "_KBS", {})
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__MODE", "http")
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__PORT", str(port))
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__TIMEOUT_S", "2")
    monkeypatch.setenv("ANIMAGENT_ALLOW_MODEL_REQUESTS", "0")
    get_settings.cache_clear()
    lines = [
        {"character": "Luca", "text": "The tide is coming in fast tonight."},
        {"character": "Alberto", "text": "Then we race it to the rocks!"},
    ]
    fake = FakeChatModel(
        scripts={
            "Dialogue": json.dumps({"title": "Tide", "lines": lines}),
            "Judgement": {"score": 0.9, "reasons": ["lively"]},
        }
    )
    request = "Write a short dialogue where Luca and Alberto talk on the beach and voice it"
    config = {"configurable": {"thread_id": "kb-gone"}}
    with override_models(fake):
        graph = build_graph(InMemorySaver())
        for update in graph.stream(
            {"request": request}, config, context=Context(), stream_mode="updates"
        ):
            if "retrieve" in update:
                assert update["retrieve"]["brief"].items  # the server answered retrieval
                proc.terminate()  # ... and goes away before planning
                proc.wait(timeout=10)
        values = graph.get_state(config).values
    final = values["final"]
    assert [(d["kind"], d["status"]) for d in final["deliverables"]] == [
        ("dialogue", "made"),
        ("voice", "made"),
    ]
    assert final["status"] == "complete" and final["exit_code"] == 0
    assert any("past plans unavailable" in t for t in final["thoughts"])
    assert final["learned"] == [] and final["learned_plan"] == ""  # nothing could be stored
    get_settings.cache_clear()
