"""Past plans in past_generations: recorded with their request, read back, seeded once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planning.memory import (
    PastPlan,
    ensure_seed_plans,
    load_past_plans,
    read_seed_plans,
    record_plan,
)
from services.knowledge_base import PAST
from state.models import Step
from tests.knowledge_helpers import fake_store, kb_for

REQUEST = "Create a short scene where Luca and Alberto talk on the beach at sunset"


def steps() -> list[Step]:
    return [
        Step(id="s1", tool="write_dialogue"),
        Step(id="s2", tool="synthesize_voice", args={"lines": "$s1.lines"}, depends_on=["s1"]),
        Step(id="s3", tool="assemble_scene", args={"clips": "$s2.clips"}, depends_on=["s2"]),
    ]


def test_an_accepted_plan_is_written_with_its_request_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fake_store(tmp_path, monkeypatch)
    first = record_plan(settings, REQUEST, steps())
    assert record_plan(settings, REQUEST, steps()) == first  # a resumed run: same record
    kb = kb_for(settings)
    plans = load_past_plans(kb, seed=False)
    assert plans == [
        PastPlan(
            REQUEST,
            ("write_dialogue", "synthesize_voice", "assemble_scene"),
            frozenset(
                {("write_dialogue", "synthesize_voice"), ("synthesize_voice", "assemble_scene")}
            ),
            plans[0].source,
        )
    ]
    # a plan using a tool that is gone is not offered to the planner
    assert load_past_plans(kb, seed=False, known=lambda n: n != "assemble_scene") == []
    with pytest.raises(ValueError, match="no steps"):
        record_plan(kb, REQUEST, [])


def test_seed_plans_are_written_once_and_join_the_recorded_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = kb_for(fake_store(tmp_path, monkeypatch))
    shipped = read_seed_plans()
    record_plan(kb, REQUEST + " again", steps())
    plans = load_past_plans(kb)
    assert len(plans) == len(shipped) + 1
    assert ensure_seed_plans(kb) == 0  # already there: nothing written twice
    assert kb.count(PAST) == len(shipped) + 1


def test_step_results_in_the_same_collection_are_not_plans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.knowledge_base import Record

    kb = kb_for(fake_store(tmp_path, monkeypatch))
    kb.upsert(PAST, [Record("g1", "a line", {"kind": "generation"}, kb.embed(["a line"])[0])])
    kb.upsert(
        PAST, [Record("p1", "bad", {"kind": "plan", "tools": "not json"}, kb.embed(["b"])[0])]
    )
    assert load_past_plans(kb, seed=False) == []


def test_a_malformed_seed_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "mine.jsonl").write_text(
        json.dumps({"request": "x", "tools": ["a", "b"]}) + "\n" + json.dumps({"tools": []}) + "\n"
    )
    with pytest.raises(ValueError, match=r"mine.jsonl:2: not a plan.*request"):
        read_seed_plans(tmp_path)
    (tmp_path / "mine.jsonl").write_text(json.dumps({"request": "x", "tools": ["a", "b"]}))
    assert read_seed_plans(tmp_path)[0].links == frozenset({("a", "b")})
