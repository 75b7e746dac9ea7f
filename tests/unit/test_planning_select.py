"""The planner's selection, checks, order and links over the studio's own tool specs.

No tool name is known to planning/: these tests register the real studio tools (and one
plugin-like tool) and check that hints, types and past plans alone produce the right plan.
"""

from __future__ import annotations

from typing import Any

import pytest

from planning.choose import ChooseConfig, ToolChooser, rank_tools
from planning.gaps import bridge_urls, drop_unfed, fill_gaps
from planning.hints import hint_positions
from planning.link import known_order, link_steps
from planning.memory import PastPlan, PlanMemory, read_seed_plans
from planning.order import PairOrder, order_tools
from planning.resources import extract_resources, kind_of
from tools import dialogue, image, knowledge, scene, voice
from tools.registry import ToolRegistry, make_spec

DEMO = "Create a short scene where Luca and Alberto talk on the beach at sunset"


def studio() -> ToolRegistry:
    registry = ToolRegistry()
    for module in (dialogue, voice, scene, image, knowledge):
        module.register(registry)
    return registry


def fetch_page(url: str, ctx: Any = None) -> dict[str, Any]:
    """Fetch a web page's text.

    Args:
        url: The address.
    """
    return {"text": ""}


def with_fetcher() -> ToolRegistry:
    registry = studio()
    registry.add(
        make_spec(
            fetch_page,
            category="web",
            consumes={"url": "url"},
            produces={"text": "text"},
            hints=(r"fetch\w*", r"web ?page"),
        )
    )
    return registry


def test_hints_place_each_tool_where_the_request_mentions_it() -> None:
    positions = hint_positions("Draw a picture, then write the dialogue and voice it", studio())
    assert positions["generate_image"] < positions["write_dialogue"] < positions["synthesize_voice"]
    assert "assemble_scene" not in positions  # nothing in the request asks for a scene


def test_resources_by_type_from_extension() -> None:
    res = extract_resources("Use sketch.png, theme.mp3 and https://x.org/clip.mp4: 'Silenzio!'")
    assert res.by_type == {
        "url": ["https://x.org/clip.mp4"],
        "image": ["sketch.png"],
        "audio": ["theme.mp3"],
        "text": ["Silenzio!"],
    }
    assert kind_of("https://x.org/clip.mp4?t=3") == "video" and kind_of("notes") == "text"


def test_links_follow_declared_types_and_name_the_output_field() -> None:
    catalog = studio()
    steps = link_steps(
        ["write_dialogue", "synthesize_voice", "assemble_scene"], catalog, extract_resources(DEMO)
    )
    assert [s.sources for s in steps] == [[], [0], [1]]
    voice_feed = steps[1].feeds[0]
    assert (voice_feed.argument, voice_feed.field, voice_feed.data_type) == (
        "lines",
        "lines",
        "dialogue",
    )
    assert steps[2].feeds[0].field == "clips"
    # an image cannot feed the voice tool: no link, and no user value of that type either
    steps = link_steps(["generate_image", "synthesize_voice"], catalog, extract_resources(DEMO))
    assert steps[1].feeds == []


def test_known_order_drops_unknown_and_repeated_tools() -> None:
    order, notes = known_order(["write_dialogue", "teleport", "write_dialogue"], studio())
    assert order == ["write_dialogue"]
    assert "teleport" in notes[0] and "repeated" in notes[1]


def test_fill_gaps_adds_the_producer_a_chosen_tool_needs() -> None:
    catalog = studio()
    nothing = extract_resources("voice it")
    # the voice tool needs a dialogue nobody supplies: the scored dialogue writer is added
    tools, notes = fill_gaps(["synthesize_voice"], {"write_dialogue": 0.2}, catalog, nothing, 0.1)
    assert tools == ["synthesize_voice", "write_dialogue"] and "needs dialogue" in notes[0]
    # dialogue and scene chosen: the voice step between them is added
    scores = {"synthesize_voice": 0.3, "write_dialogue": 0.3}
    tools, _ = fill_gaps(["write_dialogue", "assemble_scene"], scores, catalog, nothing, 0.1)
    assert tools == ["write_dialogue", "assemble_scene", "synthesize_voice"]
    # the scene alone: the chain that makes its clips from text (dialogue, then voice) is
    # added when every tool on it is scored; with the writer unscored, nothing is guessed
    tools, notes = fill_gaps(["assemble_scene"], scores, catalog, nothing, 0.1)
    assert tools == ["assemble_scene", "write_dialogue", "synthesize_voice"]
    assert notes == ["added write_dialogue -> synthesize_voice: assemble_scene needs audio"]
    only_voice = {"synthesize_voice": 0.3}
    assert fill_gaps(["assemble_scene"], only_voice, catalog, nothing, 0.1)[0] == ["assemble_scene"]
    # below the least score nothing is added
    assert fill_gaps(["synthesize_voice"], {}, catalog, nothing, 0.1)[0] == ["synthesize_voice"]


def test_a_bare_url_gets_the_fetcher_of_its_kind_first() -> None:
    catalog = with_fetcher()
    text = "Summarize the page https://x.org/about as a dialogue"
    tools, added = bridge_urls(["write_dialogue"], catalog, text, extract_resources(text))
    assert tools == ["fetch_page", "write_dialogue"] and added == {
        "fetch_page": text.index("https")
    }
    # drop_unfed keeps tools whose only inputs the request supplies (text, URLs)
    assert drop_unfed(tools, catalog, extract_resources(text))[0] == tools


def test_order_puts_producers_before_consumers_whatever_the_mention_order() -> None:
    catalog = studio()
    order = order_tools(
        ["assemble_scene", "synthesize_voice", "write_dialogue"],
        {"assemble_scene": 0, "synthesize_voice": 40, "write_dialogue": 80},
        {},
        catalog,
    )
    assert order == ["write_dialogue", "synthesize_voice", "assemble_scene"]


def test_seed_plans_are_valid_for_the_studio_tools() -> None:
    plans = read_seed_plans()
    catalog = studio()
    assert len(plans) >= 10
    for plan in plans:
        assert all(catalog.get(t) is not None for t in plan.tools), plan.source
        for a, b in plan.links:  # every shipped link is one the types allow
            assert catalog.can_feed(a, b), (plan.source, a, b)


def test_rank_tools_with_the_seed_plans_scores_the_demo_deliverables() -> None:
    scores = rank_tools(DEMO, studio(), read_seed_plans())
    top = sorted(scores, key=lambda t: -scores[t])[:3]
    assert set(top) == {"write_dialogue", "synthesize_voice", "assemble_scene"}
    assert scores["generate_image"] < scores["assemble_scene"]
    # without past plans only hints speak: "talk" and "scene" are hints, voices are not named
    bare = rank_tools(DEMO, studio())
    assert bare["write_dialogue"] > 0 and bare["assemble_scene"] > 0
    assert bare["synthesize_voice"] == 0


def test_past_plans_of_removed_tools_are_ignored() -> None:
    plans = [PastPlan(DEMO, ("old_plugin_tool",))] * 3
    scores = rank_tools(DEMO, studio(), plans)
    assert "old_plugin_tool" not in scores


def test_chooser_fills_the_chain_the_request_implies() -> None:
    chooser = ToolChooser(studio(), PlanMemory(read_seed_plans()))
    choice = chooser.choose("Make Luca say 'Ciao!' in a finished scene")
    assert choice.order == ["write_dialogue", "synthesize_voice", "assemble_scene"]


def learned_memory() -> PlanMemory:
    plans: list[PastPlan] = []
    chain = ("write_dialogue", "synthesize_voice", "assemble_scene")
    links = frozenset({chain[:2], chain[1:]})
    for i in range(20):
        plans.append(PastPlan(f"a finished scene number {i} where two friends chat", chain, links))
        plans.append(PastPlan(f"paint shot {i} of the harbour at dawn", ("generate_image",)))
        plans.append(PastPlan(f"who is character {i} in our studio", ("character_info",)))
    return PlanMemory(plans)


def test_enough_past_plans_switch_to_the_learned_selector_and_order() -> None:
    catalog = studio()
    memory = learned_memory()
    chooser = ToolChooser(catalog, memory, ChooseConfig(min_store=50))
    assert chooser.selector is not None and chooser.pair_order is not None
    ranking = chooser.rank("a finished scene where the two friends chat by the sea")
    assert ranking.learned
    p = ranking.scores
    # "voices" are never hinted here: the past plans alone carry synthesize_voice
    assert p["synthesize_voice"] > 0.5 and p["generate_image"] < 0.2
    choice = chooser.choose(
        "a finished scene where the two friends chat by the sea", ranking=ranking
    )
    assert choice.order == ["write_dialogue", "synthesize_voice", "assemble_scene"]
    # fewer plans than min_store: fixed weights
    small = ToolChooser(catalog, memory, ChooseConfig(min_store=100))
    assert small.selector is None and not small.rank("a scene").learned


def test_pair_order_learns_precedence_from_past_plans() -> None:
    model = PairOrder(studio(), learned_memory().plans)
    scores = model.scores(["assemble_scene", "write_dialogue"], {}, extract_resources("x"))
    assert (
        scores[("write_dialogue", "assemble_scene")]
        > 0
        > scores[("assemble_scene", "write_dialogue")]
    )


@pytest.mark.parametrize("k", [1, 3])
def test_memory_search_returns_the_most_similar_plans_first(k: int) -> None:
    memory = PlanMemory(read_seed_plans())
    hits = memory.search("paint a poster of the lighthouse", k)
    assert len(hits) == k and hits[0][0].tools == ("generate_image",)
    assert PlanMemory([]).search("anything") == []
