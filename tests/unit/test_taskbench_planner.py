"""TaskBench through the product planner: the adapter's catalog, node format, fallback, runs.

The generic parts (planning/) are driven here through TaskBench's tool names, as the benchmark
uses them; tests/unit/test_planning_*.py drive them with the studio's own tools.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.taskbench.data import Catalog, as_past_plan, load_records
from benchmarks.taskbench.planner import PlannerConfig, TaskBenchPlanner, as_nodes, repair
from benchmarks.taskbench.retrieval import ExampleStore
from planning.link import link_steps
from planning.order import order_tools
from planning.resources import Resources, extract_resources
from services.fake_llm import FakeChatModel

TOOLS = [
    ("Image Downloader", "Downloads an image from a given URL.", ["url"], ["image"]),
    ("Image-to-Text", "Extracts text from an input image (OCR).", ["image"], ["text"]),
    ("Text Summarizer", "Summarizes a given text.", ["text"], ["text"]),
    ("Text-to-Audio", "Generates audio from text.", ["text"], ["audio"]),
    ("Image Colorizer", "Adds color to a black and white image.", ["image"], ["image"]),
    ("Image Stitcher", "Stitches two images.", ["image", "image"], ["image"]),
    ("Audio-to-Text", "Transcribes speech from an audio file.", ["audio"], ["text"]),
]
LINKS = [
    ("Image Downloader", "Image-to-Text"),
    ("Image-to-Text", "Text Summarizer"),
    ("Text Summarizer", "Text-to-Audio"),
    ("Image Downloader", "Image Colorizer"),
    ("Image Colorizer", "Image-to-Text"),
    ("Image Stitcher", "Image-to-Text"),
]


def rec(rid: str, instruction: str, *nodes: tuple[str, list[str]]) -> dict[str, object]:
    kind = "single" if len(nodes) == 1 else "chain"
    return {
        "id": rid,
        "type": kind,
        "n_tools": len(nodes),
        "instruction": instruction,
        "task_nodes": [{"task": t, "arguments": a} for t, a in nodes],
        "task_links": [],
    }


DEV = [
    rec(
        "d1",
        "Please summarize this text: 'cats are great pets'",
        ("Text Summarizer", ["cats are great pets"]),
    ),
    rec(
        "d2",
        "Read the text in photo.jpg and summarize it",
        ("Image-to-Text", ["photo.jpg"]),
        ("Text Summarizer", ["<node-0>"]),
    ),
    rec("d3", "Colorize my old black and white photo old.png", ("Image Colorizer", ["old.png"])),
]


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    nodes = [{"id": n, "desc": d, "input-type": i, "output-type": o} for n, d, i, o in TOOLS]
    (tmp_path / "tool_desc.json").write_text(json.dumps({"nodes": nodes}))
    links = [{"source": s, "target": t, "type": "x"} for s, t in LINKS]
    (tmp_path / "graph_desc.json").write_text(json.dumps({"nodes": nodes, "links": links}))
    (tmp_path / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in DEV) + "\n")
    monkeypatch.setenv("ANIMAGENT_TASKBENCH_DIR", str(tmp_path))
    return tmp_path


def test_extract_resources_files_urls_and_quotes() -> None:
    text = (
        "I've got example.jpg and clip.mp4, plus https://example.com/a.wav. "
        "Translate 'Bonjour le monde' and the note \"keep it short\"."
    )
    res = extract_resources(text).by_type
    assert res["image"] == ["example.jpg"]
    assert res["video"] == ["clip.mp4"]
    assert res["url"] == ["https://example.com/a.wav"]  # the file inside a URL is not a file
    assert res["text"] == ["Bonjour le monde", "keep it short"]  # "I've" opens no quote
    assert "audio" not in res


def build_nodes(
    order: list[str], catalog: Catalog, resources: Resources
) -> list[dict[str, object]]:
    return list(as_nodes(link_steps(order, catalog, resources)))


def test_adapter_registers_tools_with_types_hints_and_graph_edges(data: Path) -> None:
    catalog = Catalog.load()
    assert catalog.names == [t[0] for t in TOOLS]  # tool_desc order, not sorted by name
    stitcher = catalog.get("Image Stitcher")
    assert stitcher is not None
    assert list(stitcher.consumes.values()) == ["image", "image"]
    assert stitcher.produces == {"output": "image"} and stitcher.hints  # cue phrases as hints
    # types allow image -> image-to-text; text cannot feed an image tool...
    assert catalog.can_feed("Image Stitcher", "Image-to-Text")
    assert not catalog.can_feed("Text Summarizer", "Image Colorizer")
    # ...unless graph_desc has that edge: the adapter's can_feed follows the tool graph too
    with_edge = Catalog(catalog.all(), [("Text Summarizer", "Image Colorizer")])
    assert with_edge.can_feed("Text Summarizer", "Image Colorizer")


def test_build_nodes_chains_compatible_outputs_and_drops_impossible_links(data: Path) -> None:
    catalog = Catalog.load()
    resources = extract_resources("Colorize old.png and summarize the text at https://x.org")
    nodes = build_nodes(
        ["Image Downloader", "Image-to-Text", "Text Summarizer"], catalog, resources
    )
    assert nodes == [
        {"task": "Image Downloader", "arguments": ["https://x.org"]},
        {"task": "Image-to-Text", "arguments": ["<node-0>"]},
        {"task": "Text Summarizer", "arguments": ["<node-1>"]},
    ]
    # text cannot feed an image tool: no link, the user's image is used instead
    nodes = build_nodes(["Text Summarizer", "Image Colorizer"], catalog, resources)
    assert nodes[1] == {"task": "Image Colorizer", "arguments": ["old.png"]}


def test_two_input_tool_takes_two_earlier_outputs(data: Path) -> None:
    catalog = Catalog.load()
    nodes = build_nodes(
        ["Image Downloader", "Image Colorizer", "Image Stitcher"],
        catalog,
        extract_resources("https://a.org/x"),
    )
    # Colorizer consumes node 0; the Stitcher takes node 1 and the unconsumed... none left,
    # so only the previous output feeds it (node 0 is already consumed by the Colorizer)
    assert nodes[2]["arguments"][0] == "<node-1>"
    assert "<node-0>" not in nodes[2]["arguments"]


def test_repair_drops_unknown_and_repeated_tools_and_rebuilds_references(data: Path) -> None:
    catalog = Catalog.load()
    proposed = [
        {"task": "Image-to-Text", "arguments": ["<node-5>"]},
        {"task": "Web Search", "arguments": ["x"]},
        {"task": "Image-to-Text", "arguments": []},
        {"task": "Text Summarizer", "arguments": ["<node-0>", "<node-1>"]},
    ]
    nodes, notes = repair(proposed, catalog, extract_resources("scan.jpg"))
    assert [n["task"] for n in nodes] == ["Image-to-Text", "Text Summarizer"]
    assert nodes[0]["arguments"] == ["scan.jpg"] and nodes[1]["arguments"] == ["<node-0>"]
    assert any("Web Search" in n for n in notes) and any("repeated" in n for n in notes)


def test_order_follows_mentions_over_input_order(data: Path) -> None:
    catalog = Catalog.load()
    order = order_tools(
        ["Text Summarizer", "Image-to-Text"],
        {"Image-to-Text": 5, "Text Summarizer": 40},
        {},
        catalog,
    )
    assert order == ["Image-to-Text", "Text Summarizer"]


def test_planner_uses_llm_proposal_and_structure(data: Path) -> None:
    catalog = Catalog.load()
    fake = FakeChatModel(
        scripts={"TaskBenchPlan": {"task_nodes": [{"task": "Text-to-Audio", "arguments": []}]}}
    )
    # proposal_weight 0.3: alone, the model's vote reaches the threshold (default 0.15 does not)
    planner = TaskBenchPlanner(
        catalog, ExampleStore(DEV), model=fake, config=PlannerConfig(proposal_weight=0.3)
    )
    result = planner.plan("Read the text in scan.jpg, summarize it and turn it into speech")
    assert result.decision is not None and result.decision.method == "constrained"
    assert result.llm_tools == ["Text-to-Audio"]
    assert [n["task"] for n in result.nodes] == [
        "Image-to-Text",
        "Text Summarizer",
        "Text-to-Audio",
    ]
    assert result.nodes[0]["arguments"] == ["scan.jpg"]
    assert result.nodes[2]["arguments"] == ["<node-1>"]
    # the model saw the enum of tools and at least one retrieved example
    call = fake.calls_for("TaskBenchPlan")[0]
    schema = call["kwargs"]["response_format"]["json_schema"]["schema"]
    assert set(schema["$defs"]["TaskNode"]["properties"]["task"]["enum"]) == set(catalog.names)
    assert "Request: Read the text in photo.jpg" in call["messages"][1].content


def test_invalid_llm_output_takes_the_recorded_fallback(data: Path) -> None:
    catalog = Catalog.load()
    fake = FakeChatModel(scripts={"TaskBenchPlan": "no json here"})
    planner = TaskBenchPlanner(
        catalog, ExampleStore(DEV), model=fake, config=PlannerConfig(proposal_weight=1.0)
    )
    result = planner.plan("Colorize my black and white photo family.png please")
    assert result.decision is not None and result.decision.method == "fallback"
    assert len(fake.calls_for("TaskBenchPlan")) == 2  # the call and one repair
    # fallback = the most similar past plan (d3) adapted to this request's file
    assert result.llm_tools == ["Image Colorizer"]
    assert result.nodes == [{"task": "Image Colorizer", "arguments": ["family.png"]}]


def test_without_retrieval_or_llm_the_plan_is_still_valid(data: Path) -> None:
    planner = TaskBenchPlanner(Catalog.load(), None, use_llm=False)
    result = planner.plan("something no cue matches at all")
    assert len(result.nodes) == 1 and result.nodes[0]["task"] in Catalog.load().names
    assert result.notes and result.decision is None


def test_run_scores_any_file_with_the_dev_file_as_store(data: Path, tmp_path: Path) -> None:
    from benchmarks.taskbench.run import markdown, run_taskbench
    from services.llm import override_models

    other = tmp_path / "held_out.jsonl"
    other.write_text(
        json.dumps(
            rec("h1", "Summarize this: 'dogs are loyal'", ("Text Summarizer", ["dogs are loyal"]))
        )
        + "\n\n"
    )
    assert [r["id"] for r in load_records(other)] == ["h1"]
    with override_models(FakeChatModel()):
        report = run_taskbench(other, model="none", dev_path=data / "dev.jsonl")
    assert report["protocol"] == "example store = whole dev file"
    assert report["figures"]["overall"]["samples"] == 1
    assert report["figures"]["overall"]["n_f1"] == 100.0
    assert report["figures"]["single"]["v_f1"] == 100.0  # the quoted text became the argument
    assert "| GPT-4 (published) |" in markdown(report)


def test_cross_validation_never_retrieves_the_held_back_record(data: Path) -> None:
    from benchmarks.taskbench.run import run_taskbench

    dev = data / "dev.jsonl"
    report = run_taskbench(dev, model="fake", folds=3, dev_path=dev)
    assert report["protocol"].startswith("3-fold")
    assert report["figures"]["overall"]["samples"] == 3
    assert report["llm_calls"] == 3


def test_bad_jsonl_line_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "instruction": "x"}\nnot json\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        load_records(bad)


def test_a_bare_url_gets_its_downloader_first(data: Path) -> None:
    from planning.gaps import bridge_urls

    catalog = Catalog.load()
    text = "Summarize the text in the picture at https://x.org/p.jpg"
    tools, added = bridge_urls(["Image-to-Text"], catalog, text, extract_resources(text))
    assert tools == ["Image Downloader", "Image-to-Text"]
    assert added == {"Image Downloader": text.index("https://")}
    # a URL inside quoted text is content, not something to fetch
    quoted = "Summarize 'see https://x.org/p.jpg today'"
    tools, added = bridge_urls(["Text Summarizer"], catalog, quoted, extract_resources(quoted))
    assert tools == ["Text Summarizer"] and added == {}


def test_drop_unfed_keeps_the_sibling_whose_input_exists(data: Path) -> None:
    from planning.gaps import drop_unfed

    catalog = Catalog.load()
    # "transcribe" cued both; only an audio file exists: the image variant goes
    tools, notes = drop_unfed(
        ["Image-to-Text", "Audio-to-Text"], catalog, extract_resources("talk.wav")
    )
    assert tools == ["Audio-to-Text"] and "Image-to-Text" in notes[0]
    # an image produced by another chosen tool feeds it: nothing dropped
    tools, notes = drop_unfed(
        ["Image Downloader", "Image-to-Text", "Audio-to-Text"],
        catalog,
        extract_resources("talk.wav https://x.org"),
    )
    assert len(tools) == 3 and notes == []
    # a plain text tool is no sibling of Image-to-Text: nothing dropped without a medium twin
    tools, notes = drop_unfed(
        ["Image-to-Text", "Text Summarizer"], catalog, extract_resources("no files")
    )
    assert tools == ["Image-to-Text", "Text Summarizer"] and notes == []


def _many() -> list[dict[str, object]]:
    """A store large enough (>= min_store) for the learned selector and ordering."""
    out: list[dict[str, object]] = []
    for i in range(25):
        out.append(rec(f"s{i}", f"Please summarize this text: 'note {i}'", ("Text Summarizer", [])))
        out.append(
            rec(
                f"c{i}",
                f"Read the text in scan{i}.jpg and then summarize it",
                ("Image-to-Text", [f"scan{i}.jpg"]),
                ("Text Summarizer", ["<node-0>"]),
            )
        )
        out.append(
            rec(f"o{i}", f"Colorize my black and white photo old{i}.png", ("Image Colorizer", []))
        )
    return out


def test_fill_gaps_adds_the_converter_an_unfed_tool_needs(data: Path) -> None:
    from planning.gaps import fill_gaps

    catalog = Catalog.load()
    nothing = extract_resources("transcribe what I wrote")
    # Audio-to-Text needs audio, nobody supplies it: the voted text->audio tool is added
    tools, notes = fill_gaps(["Audio-to-Text"], {"Text-to-Audio": 0.2}, catalog, nothing, 0.05)
    assert tools == ["Audio-to-Text", "Text-to-Audio"] and "needs audio" in notes[0]
    # below the least score: nothing added
    assert fill_gaps(["Audio-to-Text"], {"Text-to-Audio": 0.01}, catalog, nothing, 0.05)[0] == [
        "Audio-to-Text"
    ]
    # the user supplied the audio: nothing to fill
    talk = extract_resources("transcribe talk.wav")
    assert fill_gaps(["Audio-to-Text"], {"Text-to-Audio": 0.9}, catalog, talk, 0.05)[0] == [
        "Audio-to-Text"
    ]


def test_fill_gaps_follows_a_chain_when_no_single_converter_is_scored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audio is needed, text->audio is not voted, but text->video->audio is: both are added."""
    from planning.gaps import fill_gaps

    tools = [
        ("Text-to-Audio", "Generates audio from text.", ["text"], ["audio"]),
        ("Text-to-Video", "Generates a video from text.", ["text"], ["video"]),
        ("Video-to-Audio", "Extracts the sound of a video.", ["video"], ["audio"]),
        ("Audio-to-Text", "Transcribes speech from an audio file.", ["audio"], ["text"]),
    ]
    nodes = [{"id": n, "desc": d, "input-type": i, "output-type": o} for n, d, i, o in tools]
    (tmp_path / "tool_desc.json").write_text(json.dumps({"nodes": nodes}))
    (tmp_path / "graph_desc.json").write_text(json.dumps({"nodes": nodes, "links": []}))
    monkeypatch.setenv("ANIMAGENT_TASKBENCH_DIR", str(tmp_path))
    catalog = Catalog.load()
    nothing = extract_resources("transcribe what I wrote")
    votes = {"Text-to-Audio": 0.01, "Text-to-Video": 0.2, "Video-to-Audio": 0.3}
    tools, notes = fill_gaps(["Audio-to-Text"], votes, catalog, nothing, 0.05)
    assert tools == ["Audio-to-Text", "Text-to-Video", "Video-to-Audio"]
    assert notes == ["added Text-to-Video -> Video-to-Audio: Audio-to-Text needs audio"]
    # one level only: no chain
    assert fill_gaps(["Audio-to-Text"], votes, catalog, nothing, 0.05, depth=1)[0] == [
        "Audio-to-Text"
    ]
    # a scored single converter beats any chain
    votes["Text-to-Audio"] = 0.06
    assert fill_gaps(["Audio-to-Text"], votes, catalog, nothing, 0.05)[0] == [
        "Audio-to-Text",
        "Text-to-Audio",
    ]


def test_selector_learns_from_the_store_without_seeing_the_request(data: Path) -> None:
    from planning.select import ToolSelector

    catalog = Catalog.load()
    store = ExampleStore(_many())
    selector = ToolSelector(catalog, store, inner=3)
    text = "Read the text in page.jpg and then summarize it"
    p = selector.probabilities(text, store.search(text, 10))
    assert set(p) == set(catalog.names)
    # Image-to-Text has no cue phrase here: only the neighbours' plans speak for it
    assert p["Text Summarizer"] > 0.9 and p["Image-to-Text"] > 0.3
    assert max(p["Image Colorizer"], p["Audio-to-Text"], p["Text-to-Audio"]) < 0.05


def test_pair_order_learns_which_tool_runs_first(data: Path) -> None:
    from planning.order import PairOrder

    catalog = Catalog.load()
    pair_order = PairOrder(catalog, [as_past_plan(r) for r in _many()])
    text = "summarize the text you read in page.jpg"  # mentions the summary first
    resources = extract_resources(text)
    scores = pair_order.scores(["Text Summarizer", "Image-to-Text"], {}, resources)
    assert scores[("Image-to-Text", "Text Summarizer")] > 0
    assert scores[("Text Summarizer", "Image-to-Text")] < 0
    order = order_tools(["Text Summarizer", "Image-to-Text"], {}, {}, catalog, pair_order=scores)
    assert order == ["Image-to-Text", "Text Summarizer"]


def test_planner_with_a_large_store_uses_the_learned_parts(data: Path) -> None:
    catalog = Catalog.load()
    # a toy store: regularisation keeps the uncued Image-to-Text just under 0.5
    config = PlannerConfig(selector_threshold=0.4)
    planner = TaskBenchPlanner(catalog, ExampleStore(_many()), use_llm=False, config=config)
    assert planner.chooser.selector is not None and planner.chooser.pair_order is not None
    result = planner.plan("Read the text in receipt.jpg and then summarize it")
    assert result.nodes == [
        {"task": "Image-to-Text", "arguments": ["receipt.jpg"]},
        {"task": "Text Summarizer", "arguments": ["<node-0>"]},
    ]
    # the learned parts are off below min_store (the fixed vote, as in the tests above)
    small = TaskBenchPlanner(catalog, ExampleStore(DEV), use_llm=False)
    assert small.chooser.selector is None and small.chooser.pair_order is None


def test_bench_file_option_checks_its_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks.all import main

    with pytest.raises(SystemExit) as exc:
        main(["overhead", "--file", str(tmp_path / "x.jsonl")])
    assert exc.value.code == 2 and "--file goes with taskbench" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["taskbench", "--file", str(tmp_path / "missing.jsonl")])
    assert "missing.jsonl: no such file" in capsys.readouterr().err
