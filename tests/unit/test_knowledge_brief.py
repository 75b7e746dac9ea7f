"""Briefs, re-ranking, learning from runs, seeding, the knowledge tools and `ingest`."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.knowledge import register as register_cli
from configs import settings as settings_module
from configs.settings import Settings
from services.fake_llm import FakeChatModel
from services.knowledge_base import CHARACTERS, PAST, STYLES, KnowledgeItem
from services.knowledge_brief import RerankScores, rerank, resolve_character, synthesize
from services.llm import override_models
from state.models import Artifact, Intent, StepResult
from tests.knowledge_helpers import fake_store, kb_for
from tools.knowledge import (
    build_brief,
    character_info,
    ensure_seeded,
    past_parameters,
    probe_knowledge,
    record_generation,
    register,
    similar_generations,
    style_guide,
)
from tools.registry import ToolContext, ToolRegistry

REQUEST = "Create a short scene where Luca and Alberto talk on the beach at sunset"
INTENT = Intent(goal=REQUEST, characters=["Luca", "Alberto"], setting="beach at sunset")


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = fake_store(tmp_path, monkeypatch)
    assert ensure_seeded(settings) > 0
    return settings


def step(tool: str = "generate_image", **args: object) -> StepResult:
    return StepResult(
        step_id="s1",
        tool=tool,
        status="done",
        args={"prompt": "two boys on a beach at sunset", "steps": 28, "seed": 3, **args},
        artifacts=[Artifact(path="s1/image.png", kind="image")],
    )


def test_empty_store_gives_a_note_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    brief = build_brief(REQUEST, INTENT, top_k=3, settings=fake_store(tmp_path, monkeypatch))
    assert brief.items == [] and "animagent ingest" in brief.note


def test_disabled_store_is_not_touched(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", knowledge={"enabled": False})  # type: ignore[arg-type]
    brief = build_brief(REQUEST, INTENT, top_k=3, settings=settings)
    assert "disabled" in brief.note
    assert not (tmp_path / "d").exists()
    assert ensure_seeded(settings) == 0


def test_seeding_happens_once(seeded: Settings) -> None:
    counts = kb_for(seeded).counts()
    assert counts[CHARACTERS] > 0 and counts[STYLES] > 0
    assert ensure_seeded(seeded) == 0
    assert kb_for(seeded).counts() == counts


def test_seeding_off_adds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = fake_store(tmp_path, monkeypatch, seed_on_first_run=False)
    assert ensure_seeded(settings) == 0
    assert kb_for(settings).count(CHARACTERS) == 0


def test_brief_names_characters_styles_and_sources(seeded: Settings) -> None:
    brief = build_brief(REQUEST, INTENT, top_k=3, settings=seeded)
    chars = [i for i in brief.items if i.collection == CHARACTERS]
    assert {i.metadata["character"] for i in chars} == {"luca", "alberto"}
    assert any(i.collection == STYLES for i in brief.items)
    assert "configs/knowledge/characters/luca.md" in brief.sources
    assert "[configs/knowledge/characters/alberto.md]" in brief.summary
    assert brief.summary.startswith("Characters:") and "Style:" in brief.summary
    assert len(brief.summary) <= seeded.knowledge.brief_chars


def test_unknown_character_is_noted(seeded: Settings) -> None:
    intent = Intent(goal="x", characters=["Zorblax"])
    brief = build_brief("Zorblax dances", intent, top_k=2, settings=seeded)
    assert "Zorblax" in brief.note
    assert not [i for i in brief.items if i.collection == CHARACTERS]


def test_partial_names_resolve_to_stored_characters() -> None:
    known = {"luca", "nonna marea"}
    assert resolve_character("Marea", known) == "nonna marea"
    assert resolve_character(" LUCA ", known) == "luca"
    assert resolve_character("Bob", known) == "bob"


def test_successes_are_remembered_and_shape_parameters(seeded: Settings, tmp_path: Path) -> None:
    run = tmp_path / "outputs" / "thread-1"
    first = record_generation(
        request=REQUEST, step=step(), score=0.85, run_dir=run, settings=seeded
    )
    again = record_generation(
        request=REQUEST, step=step(), score=0.85, run_dir=run, settings=seeded
    )
    assert first == again and kb_for(seeded).count(PAST) == 1
    stored = kb_for(seeded).collection(PAST).get(ids=[first])["metadatas"][0]
    assert stored["characters"] == ["alberto", "luca"] and stored["quality"] == 0.85
    assert str(run / "s1" / "image.png") in stored["artifact_paths"]

    brief = build_brief(REQUEST, INTENT, top_k=3, settings=seeded)
    assert "Past successes:" in brief.summary and "0.85" in brief.summary
    assert past_parameters(brief, "generate_image")["steps"] == 28
    assert past_parameters(brief, "synthesize_voice") == {}


def test_low_scores_are_not_offered_as_successes(seeded: Settings, tmp_path: Path) -> None:
    record_generation(request=REQUEST, step=step(), score=0.2, run_dir=tmp_path, settings=seeded)
    brief = build_brief(REQUEST, INTENT, top_k=3, settings=seeded)
    assert not [i for i in brief.items if i.collection == PAST]


def test_similar_generations_filters_by_character_and_quality(
    seeded: Settings, tmp_path: Path
) -> None:
    for i, (score, who) in enumerate([(0.9, "Luca"), (0.7, "Pip"), (0.95, "Pip")]):
        record_generation(
            request=f"a scene with {who} on the beach",
            step=step(character=who).model_copy(update={"step_id": f"s{i}"}),
            score=score,
            run_dir=tmp_path,
            settings=seeded,
        )
    ctx = ToolContext(run_dir=tmp_path, settings=seeded)
    pips = similar_generations("beach scene", character="Pip", ctx=ctx)["items"]
    assert sorted(r["quality"] for r in pips) == [0.7, 0.95]
    good = similar_generations("beach scene", character="pip", min_quality=0.8, ctx=ctx)["items"]
    assert [r["quality"] for r in good] == [0.95]
    assert good[0]["tool"] == "generate_image" and 0.0 <= good[0]["score"] <= 1.0


def test_character_and_style_tools(seeded: Settings, tmp_path: Path) -> None:
    ctx = ToolContext(run_dir=tmp_path, settings=seeded)
    info = character_info("Alberto", "his voice", ctx=ctx)
    assert info["items"] and all(r["source"].endswith("alberto.md") for r in info["items"])
    assert all(0.0 <= r["score"] <= 1.0 for r in info["items"])
    styles = style_guide("watercolor storybook pastel paper", ctx=ctx)["items"]
    assert styles[0]["source"].endswith("storybook-watercolor.yaml")


def test_tools_register_and_probe(tmp_path: Path) -> None:
    registry = ToolRegistry()
    register(registry)
    names = {s.name for s in registry.all() if s.category == "knowledge"}
    assert names == {"character_info", "style_guide", "similar_generations"}
    assert "ctx" not in registry.get("similar_generations").arg_schema()["properties"]  # type: ignore[union-attr]
    assert probe_knowledge(Settings(data_dir=tmp_path)).ok
    off = probe_knowledge(Settings(knowledge={"enabled": False}))  # type: ignore[arg-type]
    assert not off.ok and "ANIMAGENT_KNOWLEDGE__ENABLED" in off.reason
    down = probe_knowledge(
        Settings(knowledge={"mode": "http", "port": 9, "timeout_s": 0.5})  # type: ignore[arg-type]
    )
    assert not down.ok and "chroma run" in down.reason


def items(*texts: str) -> list[KnowledgeItem]:
    return [KnowledgeItem(collection=STYLES, text=t, source=f"{t}.md", score=0.5) for t in texts]


def test_rerank_is_one_call_that_reorders() -> None:
    fake = FakeChatModel(scripts={"RerankScores": {"scores": [1, 9, 5]}})
    with override_models(fake):
        ranked = rerank("sunset", items("a", "b", "c"), Settings())
    assert [i.text for i in ranked] == ["b", "c", "a"]
    assert len(fake.calls) == 1 and len(fake.calls_for("RerankScores")) == 1
    assert ranked[0].metadata["rerank"] == 9


def test_rerank_keeps_order_when_the_model_answers_badly() -> None:
    fake = FakeChatModel(scripts={"RerankScores": "no idea"})
    with override_models(fake):
        ranked = rerank("sunset", items("a", "b", "c"), Settings())
    assert [i.text for i in ranked] == ["a", "b", "c"]


def test_brief_with_rerank_setting_calls_the_model_once(seeded: Settings) -> None:
    settings = seeded.model_copy(
        update={"knowledge": seeded.knowledge.model_copy(update={"rerank": True})}
    )
    fake = FakeChatModel(scripts={"RerankScores": {"scores": []}})
    with override_models(fake):
        build_brief(REQUEST, INTENT, top_k=2, settings=settings)
    assert len(fake.calls_for("RerankScores")) == 1
    assert RerankScores.model_json_schema()["properties"]["scores"]["maxItems"] == 24


def test_synthesis_caps_pieces_per_source_and_length() -> None:
    many = [
        KnowledgeItem(collection=CHARACTERS, text=f"fact {i} " * 20, source="luca.md", score=0.5)
        for i in range(5)
    ]
    summary, sources = synthesize(many, 300)
    assert summary.count("[luca.md]") <= 2 and sources == ["luca.md"]
    assert len(summary) <= 300


def test_ingest_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = fake_store(tmp_path, monkeypatch)
    monkeypatch.setattr(settings_module, "get_settings", lambda: settings)
    monkeypatch.setattr("cli.knowledge.get_settings", lambda: settings)
    app = typer.Typer()
    register_cli(app)

    @app.command()
    def version() -> None:  # a second command keeps `ingest` a named subcommand
        pass

    runner = CliRunner()
    ok = runner.invoke(app, ["ingest", "configs/knowledge/characters"])
    assert ok.exit_code == 0, ok.output
    assert "luca.md" in ok.output and "character_knowledge" in ok.output
    bad_file = tmp_path / "notes.pdf"
    bad_file.write_text("hello")
    bad = runner.invoke(app, ["ingest", str(bad_file)])
    assert bad.exit_code == 2 and "unknown extension '.pdf'" in " ".join(bad.output.split())
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or folder" in " ".join(missing.output.split())
    shipped = runner.invoke(app, ["ingest", "configs/knowledge"])  # README.md is documentation
    assert shipped.exit_code == 0 and "7 file(s)" in " ".join(shipped.output.split())
    refused = runner.invoke(app, ["ingest", "--collection", "x", "configs/knowledge/styles"])
    assert refused.exit_code == 2
    assert "refused the collection name 'x'" in " ".join(refused.output.split())
