"""The run report in a real browser: Debian's headless Chromium, driven by Playwright.

A real graph run (fake model, real espeak-ng voices) writes report.html; Chromium opens it from
disk and the test checks what a person would see: the plan picture, the step table, the audio
players (loaded, with a duration), and a clickable thumbnail for an image. Set
ANIMAGENT_REPORT_SCREENSHOT=docs/img/report.png to refresh the README's screenshot.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.builder import build_graph
from services.fake_llm import FakeChatModel
from services.llm import override_models
from services.report import write_report
from state import Context

pytestmark = [pytest.mark.integration]

REQUEST = "Create a short scene where Luca and Alberto talk on the beach at sunset <b>now</b>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("no chromium on PATH: `make setup` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        # --no-sandbox: tests run as root in CI containers, where Chromium's sandbox refuses.
        launched = play.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _run(thread: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from tests.unit.conftest import dialogue_script

    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    from configs.settings import get_settings

    get_settings.cache_clear()
    with override_models(FakeChatModel(scripts={"Dialogue": dialogue_script})):
        graph = build_graph(InMemorySaver())
        graph.invoke(
            {"request": REQUEST}, {"configurable": {"thread_id": thread}}, context=Context()
        )


def test_report_of_a_real_run_shows_plan_steps_and_playable_audio(
    browser: Any, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run("browser", monkeypatch)
    folder = isolated_dirs / "outputs" / "browser"
    page = browser.new_page(viewport={"width": 1100, "height": 1300})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((folder / "report.html").as_uri())

    assert page.locator("#plan-graph").is_visible()
    box = page.locator("#plan-graph").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 40
    assert page.locator("#plan-graph .step-node").count() == 3
    rows = page.locator("#steps tr")
    assert rows.count() == 4 and rows.nth(1).is_visible()
    assert "write_dialogue" in rows.nth(1).inner_text()
    # The request's markup is shown as text, not rendered.
    assert page.locator("#request b").count() == 0
    assert "<b>now</b>" in page.locator("#request").inner_text()

    players = page.locator("audio")
    assert players.count() == len(list((folder / "voice").glob("*.wav"))) + 1
    scene = page.locator("audio[src='scene.wav']")
    assert scene.is_visible()
    # The browser really loads the WAV: its duration is the scene's length.
    scene.evaluate("a => { a.preload = 'auto'; a.load(); }")
    # (polled from here: the page's CSP forbids the string evaluation wait_for_function uses)
    for _ in range(100):
        if scene.evaluate("a => a.readyState") >= 1:
            break
        page.wait_for_timeout(100)
    assert scene.evaluate("a => a.duration") > 1.0
    assert errors == []

    shot = os.environ.get("ANIMAGENT_REPORT_SCREENSHOT")
    target = Path(shot) if shot else isolated_dirs / "report.png"
    page.screenshot(path=str(target))
    assert target.stat().st_size > 20_000  # a real picture, not a blank page
    page.close()


def test_thumbnail_with_an_odd_name_loads_and_opens_full_size(browser: Any, tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "run"
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (640, 360), (240, 140, 60)).save(folder / "images" / "sunset #1 ?.png")
    manifest = {
        "thread_id": "img",
        "request": "a poster",
        "plan": [{"id": "s1", "tool": "generate_image"}],
        "steps": {"s1": {"tool": "generate_image", "attempts": 1, "score": 0.9}},
        "artifacts": [{"path": "images/sunset #1 ?.png", "kind": "image", "step": "s1"}],
    }
    write_report(folder, manifest)
    page = browser.new_page()
    page.goto((folder / "report.html").as_uri())
    thumb = page.locator("img.thumb")
    assert thumb.count() == 1 and thumb.is_visible()
    assert thumb.evaluate("i => i.naturalWidth") == 640  # decoded, not a broken image
    width = thumb.bounding_box()
    assert width is not None and width["width"] < 640  # shown as a thumbnail
    thumb.click()
    page.wait_for_load_state()
    assert page.url.endswith("images/sunset%20%231%20%3F.png")
    page.close()
