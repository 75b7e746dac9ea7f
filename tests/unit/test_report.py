"""The HTML run report and the run-history commands, on real (fake-model) graph runs."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from cli.main import app
from graph.builder import build_graph
from graph.persistence import open_checkpointer
from services.fake_llm import FakeChatModel
from services.report import write_report
from services.run_view import collect
from state import Context

runner = CliRunner()
HOSTILE = (
    "Create a short scene where Luca and Alberto talk on the beach at sunset "
    '<script>alert("x")</script><img src=x onerror=alert(1)>'
)


class Page(HTMLParser):
    """The elements of a page, with their attributes and the id of their nearest parent."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


def _run(thread: str, request: str, **ctx: Any) -> None:
    with open_checkpointer() as saver:
        graph = build_graph(saver)
        graph.invoke(
            {"request": request}, {"configurable": {"thread_id": thread}}, context=Context(**ctx)
        )


def _links_stay_inside(page: Page, folder: Path) -> list[Path]:
    targets = []
    for tag, attrs in page.tags:
        for key in ("href", "src"):
            if key in attrs and tag in {"a", "img", "audio", "video", "source"}:
                link = attrs[key]
                assert "://" not in link and not link.startswith("/"), link
                target = (folder / unquote(link)).resolve()
                assert target.is_relative_to(folder.resolve()) and target.is_file(), link
                targets.append(target)
    return targets


def test_finished_run_writes_a_report_with_plan_steps_and_players(
    fake: FakeChatModel, isolated_dirs: Path
) -> None:
    _run("beach", HOSTILE)
    folder = isolated_dirs / "outputs" / "beach"
    text = (folder / "report.html").read_text("utf-8")
    page = Page(text)
    # The request is shown, as text: no element came from it.
    assert page.find("script") == [] and page.find("img", src="x") == []
    assert '<script>alert("x")</script>' in "".join(page.text)
    assert "&lt;script&gt;" in text
    assert len(page.find("svg", id="plan-graph")) == 1
    assert [a["data-status"] for a in page.find("g", **{"class": "step-node"})] == ["done"] * 3
    audio = page.find("audio")
    voices = sorted((folder / "voice").glob("*.wav"))
    assert len(voices) >= 2 and len(audio) == len(voices) + 1  # each line + the scene track
    assert {a["src"] for a in audio} >= {"scene.wav", "voice/01_luca.wav"}
    targets = _links_stay_inside(page, folder)
    assert folder / "scene.wav" in targets
    script = json.loads((folder / "dialogue.json").read_text())["lines"]
    assert all(line["text"] in "".join(page.text) for line in script)
    assert "IntentDraft" in text  # decision history
    assert "Not in this report" not in text  # nothing missing from a finished run


def test_hostile_and_odd_file_names_are_linked_safely_or_not_at_all(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "frame #1 ?.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / 'voice "a".wav').write_bytes(b"RIFF")
    (tmp_path / "secret.txt").write_text("outside")
    manifest = {
        "thread_id": "odd",
        "request": "</title><b>bold</b>",
        "artifacts": [
            {"path": "img/frame #1 ?.png", "kind": "image", "step": "s1"},
            {"path": 'voice "a".wav', "kind": "audio", "step": "s2"},
            {"path": "../secret.txt", "kind": "text", "step": "s2"},
            {"path": "/etc/passwd", "kind": "text", "step": "s2"},
            {"path": "gone.wav", "kind": "audio", "step": "s2"},
        ],
        "not_done": [
            "generate_image: set ANIMAGENT_IMAGE__MODEL_PATH",
            {"step": "s9", "reason": "<i>no GPU</i>"},
        ],
        "plan": [{"id": "s1", "tool": "generate_image", "depends_on": ["nope"]}],
        "status": "incomplete",
    }
    page_text = write_report(folder, manifest).read_text("utf-8")
    page = Page(page_text)
    assert page.find("b") == [] and page.find("i") == []
    thumbs = page.find("img", **{"class": "thumb"})
    assert [unquote(t["src"]) for t in thumbs] == ["img/frame #1 ?.png"]
    assert thumbs[0]["src"] == "img/frame%20%231%20%3F.png"
    assert len(page.find("audio")) == 1
    links = _links_stay_inside(page, folder)
    assert tmp_path / "secret.txt" not in links
    assert "points outside the run folder: not linked" in page_text
    assert "absolute path: not linked" in page_text
    assert "gone.wav <em>(missing on disk)</em>" in page_text
    assert "ANIMAGENT_IMAGE__MODEL_PATH" in page_text and "&lt;i&gt;no GPU&lt;/i&gt;" in page_text
    assert ">incomplete<" in page_text


def test_earlier_plan_versions_and_node_timings_come_from_history(tmp_path: Path) -> None:
    v1 = {
        "version": 1,
        "strategy": "plan_execute",
        "steps": [{"id": "s1", "tool": "write_dialogue"}],
    }
    v2 = {
        "version": 2,
        "strategy": "plan_execute",
        "steps": [
            {"id": "s1", "tool": "write_dialogue"},
            {"id": "s3", "tool": "assemble_scene", "depends_on": ["s1"]},
        ],
    }
    history = [
        {"values": {"plan": v1}, "next": ["act"], "created_at": 100.0},
        {"values": {"plan": v1}, "next": ["plan"], "created_at": 103.0},
        {"values": {"plan": v2}, "next": ["respond"], "created_at": 104.5},
        {"values": {"plan": v2}, "next": [], "created_at": 105.0},
    ]
    view = collect(tmp_path, None, {"values": {"plan": v2}}, history)
    assert [v["version"] for v in view["plan_versions"]] == [1, 2]
    assert {t["node"]: t["seconds"] for t in view["timings"]} == {
        "act": 3.0,
        "plan": 1.5,
        "respond": 0.5,
    }
    assert [(e["x1"] < e["x2"]) for e in view["graph"]["edges"]] == [True]
    assert "manifest.json: the run did not reach its final report" in view["missing"]


def test_a_report_failure_never_fails_the_run(
    fake: FakeChatModel, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.report

    def broken(view: Any) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(services.report, "render_report", broken)
    _run("t-broken", HOSTILE)
    folder = isolated_dirs / "outputs" / "t-broken"
    assert json.loads((folder / "manifest.json").read_text())["artifacts"]
    assert not (folder / "report.html").exists()


def test_paused_run_shows_the_question_and_reports_what_is_missing(
    fake: FakeChatModel, isolated_dirs: Path
) -> None:
    _run("paused", "hmm")
    shown = runner.invoke(app, ["show", "paused"])
    assert shown.exit_code == 0, shown.output
    assert "paused" in shown.output and "Waiting for your answer" in shown.output
    assert 'animagent resume paused --answer "..."' in shown.output
    made = runner.invoke(app, ["report", "paused"])
    assert made.exit_code == 0, made.output
    text = (isolated_dirs / "outputs" / "paused" / "report.html").read_text("utf-8")
    assert ">paused<" in text and 'id="questions"' in text
    assert "manifest.json: the run did not reach its final report" in text
    assert "files: this run made none" in text


def test_unknown_thread_says_how_to_find_runs() -> None:
    result = runner.invoke(app, ["report", "nope"])
    assert result.exit_code == 2
    assert "no manifest" in result.output and "animagent runs" in result.output
    assert runner.invoke(app, ["show", "nope"]).exit_code == 2


def test_runs_lists_past_runs_and_report_finds_a_custom_subfolder(
    fake: FakeChatModel, isolated_dirs: Path
) -> None:
    _run("custom", HOSTILE, output_subdir="my-scene")
    _run("asks", "hmm")
    folder = isolated_dirs / "outputs" / "my-scene"
    (folder / "report.html").unlink()
    listed = runner.invoke(app, ["runs"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    lines = {line.split("│")[1].strip(): line for line in listed.output.splitlines() if "│" in line}
    audio = len(list((folder / "voice").glob("*.wav"))) + 1
    assert "complete" in lines["custom"] and f"{audio} audio" in lines["custom"]
    assert "paused" in lines["asks"] and "nothing" in lines["asks"]
    made = runner.invoke(app, ["report", "custom"])
    assert made.exit_code == 0, made.output
    page = Page((folder / "report.html").read_text("utf-8"))
    assert len(page.find("audio")) == audio
    shown = runner.invoke(app, ["show", "custom"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "Deliverables" in shown.output
    assert "synthesize_voice" in shown.output and "complete" in shown.output
    # The rewritten report has node times from the checkpoints, not from thoughts.
    assert "from checkpoint times" in "".join(page.text)


def test_run_stopped_half_way_reports_what_it_made_so_far(
    fake: FakeChatModel, isolated_dirs: Path
) -> None:
    with open_checkpointer() as saver:
        graph = build_graph(saver)
        config = {"configurable": {"thread_id": "halfway"}}
        # A static breakpoint stands in for a crash just before the final report.
        graph.invoke({"request": HOSTILE}, config, context=Context(), interrupt_before=["respond"])
        assert graph.get_state(config).next == ("respond",)
    shown = runner.invoke(app, ["show", "halfway"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "stopped" in shown.output and "stopped before respond" in shown.output
    made = runner.invoke(app, ["report", "halfway"])
    assert made.exit_code == 0, made.output
    folder = isolated_dirs / "outputs" / "halfway"
    page = Page((folder / "report.html").read_text("utf-8"))
    assert "manifest.json: the run did not reach its final report" in "".join(page.text)
    # The steps that did run are there, with their files, straight from the checkpoint.
    assert [a["data-status"] for a in page.find("g", **{"class": "step-node"})] == ["done"] * 3
    assert page.find("audio", src="scene.wav")
    _links_stay_inside(page, folder)


def test_unavailable_deliverable_is_reported_with_the_fix(
    fake: FakeChatModel, isolated_dirs: Path
) -> None:
    _run("poster", "Draw a poster of Luca at sunset")
    text = (isolated_dirs / "outputs" / "poster" / "report.html").read_text("utf-8")
    page = Page(text)
    assert page.find("table", id="deliverables")
    assert "ANIMAGENT_IMAGE__MODEL_PATH" in "".join(page.text)
    assert ">incomplete<" in text
