import graphlib

import pytest

from nodes.plan_rules import PlanCheck, merge_replan, references, template_steps
from state import Intent, Step
from tools.registry import default_registry

INTENT = Intent(
    goal="a beach talk",
    deliverables=["dialogue", "voice", "scene"],
    characters=["Luca", "Alberto"],
    setting="on the beach",
    confidence=0.9,
)


@pytest.fixture
def check() -> PlanCheck:
    registry = default_registry()
    unavailable = registry.unavailable()
    names = {s.name for s in registry.all() if s.name not in unavailable}
    return PlanCheck(registry, names, unavailable)


def test_template_is_a_valid_chain(check: PlanCheck) -> None:
    steps, repairs, unavailable = check.check(template_steps(INTENT), INTENT, 12)
    assert [s.tool for s in steps] == ["write_dialogue", "synthesize_voice", "assemble_scene"]
    assert steps[1].depends_on == ["s1"] and steps[2].depends_on == ["s2"]
    assert repairs == [] and unavailable == []


def test_unknown_tools_mapped_or_dropped(check: PlanCheck) -> None:
    drafts = [{"id": "s1", "tool": "write_dialog"}, {"id": "s2", "tool": "launch_rocket"}]
    steps, repairs, _ = check.check(drafts, INTENT, 12)
    assert [s.tool for s in steps] == ["write_dialogue"]
    assert any("read as 'write_dialogue'" in r for r in repairs)
    assert any("launch_rocket" in r for r in repairs)


def test_unavailable_tool_is_set_aside_with_reason(check: PlanCheck) -> None:
    steps, _, unavailable = check.check([{"id": "s1", "tool": "generate_image"}], INTENT, 12)
    assert steps == []
    assert "ANIMAGENT_IMAGE__MODEL_PATH" in unavailable[0]


def test_missing_args_filled_and_wired_dangling_dropped(check: PlanCheck) -> None:
    drafts = [
        {"id": "a", "tool": "write_dialogue", "args": {"n_lines": "many"}},
        {
            "id": "b",
            "tool": "synthesize_voice",
            "depends_on": ["zz"],
            "args": {"lines": "$nope.lines"},
        },
    ]
    steps, repairs, _ = check.check(drafts, INTENT, 12)
    assert steps[0].args["characters"] == ["Luca", "Alberto"]
    assert "n_lines" not in steps[0].args
    assert steps[1].args["lines"] == "$a.lines" and steps[1].depends_on == ["a"]
    assert any("dangling reference" in r for r in repairs)
    assert any("dangling dependencies" in r for r in repairs)


def test_cycle_is_rejected(check: PlanCheck) -> None:
    drafts = [
        {"id": "a", "tool": "write_dialogue"},
        {"id": "b", "tool": "synthesize_voice", "args": {"lines": "$a.lines"}},
    ]
    steps, _, _ = check.check(drafts, INTENT, 12)
    steps[0].depends_on.append("b")
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({s.id: set(s.depends_on) for s in steps}).prepare()


def test_cover_rebuilds_missing_deliverables(check: PlanCheck) -> None:
    repairs: list[str] = []
    steps, _, _ = check.check([{"id": "s1", "tool": "write_dialogue"}], INTENT, 12)
    covered = check.cover(steps, INTENT, repairs, [])
    assert {s.tool for s in covered} == {"write_dialogue", "synthesize_voice", "assemble_scene"}
    assert repairs


def test_references_and_replan_merge() -> None:
    assert references({"a": ["$s1.lines", "x"], "b": "$s2"}) == [("s1", "lines"), ("s2", None)]
    old = [
        Step(id="s1", tool="write_dialogue"),
        Step(id="s2", tool="synthesize_voice", args={"lines": "$s1.lines"}, depends_on=["s1"]),
    ]
    new = [
        Step(id="s1", tool="write_dialogue"),
        Step(id="s2", tool="synthesize_voice", args={"lines": "$s1.lines"}, depends_on=["s1"]),
        Step(id="s3", tool="assemble_scene", args={"clips": "$s2.clips"}, depends_on=["s2"]),
    ]
    merged = merge_replan(old, new, done_ids={"s1"}, version=2)
    assert [s.id for s in merged] == ["s1", "s2v2", "s3"]
    assert merged[2].args["clips"] == "$s2v2.clips" and merged[2].depends_on == ["s2v2"]


def test_past_successes_set_tunable_knobs_only() -> None:
    import json

    from nodes.plan import apply_past_parameters
    from state import Brief, KnowledgeItem

    past = KnowledgeItem(
        collection="past_generations",
        text="a beach talk",
        score=0.9,
        metadata={
            "tool": "write_dialogue",
            "quality": 0.9,
            "params": json.dumps({"n_lines": 8, "characters": ["Old"], "premise": "old"}),
        },
    )
    steps = [Step(id="s1", tool="write_dialogue", args={"characters": ["Luca"], "premise": "p"})]
    notes = apply_past_parameters(steps, Brief(items=[past]), default_registry())
    assert steps[0].args == {"characters": ["Luca"], "premise": "p", "n_lines": 8}
    assert notes == ["s1.n_lines=8"]
