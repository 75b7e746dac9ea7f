"""Every strategy is real: what each one calls and records, on the real graph."""

import json
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from graph.builder import build_graph
from services.fake_llm import FakeChatModel
from state import Context

DEMO = "Create a short scene where Luca and Alberto talk on the beach at sunset"


def run(request: str, thread: str, **ctx: Any) -> dict[str, Any]:
    graph = build_graph(InMemorySaver())
    config = {"configurable": {"thread_id": thread}}
    graph.invoke({"request": request}, config, context=Context(**ctx))
    return graph.get_state(config).values  # type: ignore[no-any-return]


def test_react_acts_one_tool_call_at_a_time(fake: FakeChatModel) -> None:
    values = run(DEMO, "r1", strategy="react")
    final = values["final"]
    assert [(s["id"], s["tool"]) for s in final["plan"]] == [
        ("s1", "write_dialogue"),
        ("s2", "synthesize_voice"),
        ("s3", "assemble_scene"),
    ]
    assert values["plan"].version == 3 and values["plan"].remaining == 0
    # One function-calling decision per action, each offered only what could run next.
    calls = fake.calls_for("FunctionCalls")
    assert len(calls) == 3
    offered = [json.dumps(c["kwargs"]["response_format"]) for c in calls]
    assert "write_dialogue" in offered[0] and "synthesize_voice" not in offered[0]
    assert "synthesize_voice" in offered[1] and "assemble_scene" not in offered[1]
    observed = str(calls[1]["messages"][-2].content)
    assert "write_dialogue: done" in observed  # the observation of the first action
    actions = [t.text for t in values["thoughts"] if t.text.startswith("Action:")]
    assert actions == [
        "Action: call write_dialogue",
        "Action: call synthesize_voice",
        "Action: call assemble_scene",
    ]
    # Honest to the end: the picture a scene needs cannot be made without image weights.
    assert final["status"] == "incomplete"
    assert [d["status"] for d in final["deliverables"]] == ["made", "made", "unavailable", "made"]


def test_react_call_to_an_unready_tool_falls_back_and_says_so(fake: FakeChatModel) -> None:
    fake.scripts["FunctionCalls"] = {"calls": []}
    values = run(DEMO, "r2", strategy="react")
    actions = [t.text for t in values["thoughts"] if t.text.startswith("Action:")]
    assert actions[0] == "Action: write_dialogue (the model named no usable tool)"
    assert [s["tool"] for s in values["final"]["plan"]] == [
        "write_dialogue",
        "synthesize_voice",
        "assemble_scene",
    ]


def test_cot_keeps_numbered_reasoning_and_ignores_unasked_tools(fake: FakeChatModel) -> None:
    fake.scripts["PlanProposal"] = {
        "reasoning": ["two friends need lines", "then voices"],
        "tools": ["write_dialogue", "write_dialogue", "assemble_scene"],
    }
    values = run("Write a dialogue between Luca and Alberto", "c1", strategy="cot")
    texts = [t.text for t in values["thoughts"]]
    assert "Reasoning: 1. two friends need lines 2. then voices" in texts
    plan = values["plan"]
    assert [s.tool for s in plan.steps] == ["write_dialogue"]
    assert plan.repairs == [
        "ignored proposed assemble_scene: the request does not ask for what it makes"
    ]


def test_tot_compares_candidates(fake: FakeChatModel) -> None:
    values = run(DEMO, "t1", strategy="tot", tot_branches=3)
    assert len(fake.calls_for("PlanProposal")) == 3
    temps = [c["kwargs"].get("temperature") for c in fake.calls_for("PlanProposal")]
    assert temps == [0.2, 0.5, 0.8]
    assert any(t.text.startswith("Tree-of-Thoughts candidate scores") for t in values["thoughts"])


def test_auto_chooses_reflexion_for_a_replan_and_records_why(fake: FakeChatModel) -> None:
    answers = iter(["not json", "not json"])

    def flaky(messages: list[Any]) -> str:
        from tests.unit.conftest import dialogue_script

        return next(answers, None) or dialogue_script(messages)

    fake.scripts["Dialogue"] = flaky
    request = "Write a short dialogue where Luca and Alberto talk on the beach and voice it"
    values = run(request, "x1", max_replans=1)
    plan = values["plan"]
    assert plan.strategy == "reflexion"
    assert plan.rationale.startswith("a step failed")
    assert [s.id for s in plan.steps] == ["s3", "s4"]
    assert values["final"]["status"] == "complete"
    lessons = [c for c in fake.calls_for("PlanProposal")]
    assert "Lessons from earlier attempts" in str(lessons[0]["messages"][-1].content)


def test_tot_depth_extends_the_kept_plans_and_keeps_a_child_only_when_better(
    fake: FakeChatModel, monkeypatch: Any
) -> None:
    """Depth 2, beam 2: two first proposals, then one extension of each kept plan.

    Past plans (here: the ranking) voiced similar dialogues, so the extension that adds the
    voice scores higher than its parent and replaces it.
    """
    import nodes.plan as plan_node

    ranking = {"write_dialogue": 0.5, "synthesize_voice": 0.9}
    monkeypatch.setattr(
        plan_node,
        "tool_ranking",
        lambda request, registry, available: ({k: ranking.get(k, 0.0) for k in available}, ""),
    )
    answers = iter([[], [], ["synthesize_voice"], []])

    def propose(messages: list[Any]) -> str:
        return json.dumps({"tools": next(answers, [])})

    fake.scripts["PlanProposal"] = propose
    request = "Write a dialogue where Luca and Alberto talk about the sea"
    values = run(request, "t2", strategy="tot", tot_branches=2, tot_depth=2)
    calls = fake.calls_for("PlanProposal")
    assert len(calls) == 4
    assert "Plan so far" not in str(calls[0]["messages"][-1].content)
    assert "Plan so far: write_dialogue." in str(calls[2]["messages"][-1].content)
    texts = [t.text for t in values["thoughts"]]
    assert any(t.startswith("Tree-of-Thoughts level 2") and t.endswith("1 kept") for t in texts)
    assert [s.tool for s in values["plan"].steps] == ["write_dialogue", "synthesize_voice"]


def test_tot_depth_stops_when_no_extension_beats_its_parent(fake: FakeChatModel) -> None:
    fake.scripts["PlanProposal"] = {"tools": ["write_dialogue"]}
    values = run(DEMO, "t3", strategy="tot", tot_branches=2, tot_depth=3)
    # Level 2 extends both kept plans; nothing better came, so level 3 never runs.
    assert len(fake.calls_for("PlanProposal")) == 4
    texts = [t.text for t in values["thoughts"]]
    assert any(t.startswith("Tree-of-Thoughts level 2") and t.endswith("0 kept") for t in texts)
    assert not any(t.startswith("Tree-of-Thoughts level 3") for t in texts)
