"""assemble_scene with stills: an MP4 whose length and streams ffmpeg reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from services.video import probe
from tools.registry import ToolContext, default_registry
from tools.scene import assemble_scene
from tools.voice import synthesize_voice


def test_storyboard_becomes_an_mp4_with_audio_and_subtitles(tmp_path: Path) -> None:
    ctx = ToolContext(run_dir=tmp_path)
    lines = [
        {"character": "Narrator", "text": "Luca finds a poster in the square."},
        {"character": "Luca", "text": "A Vespa!"},
        {"character": "Narrator", "text": "He runs to tell Alberto."},
    ]
    clips = synthesize_voice(lines, ctx=ctx)["clips"]
    (tmp_path / "images").mkdir()
    shots = []
    for i, colour in enumerate(("red", "green", "blue")):
        Image.new("RGB", (96, 64), colour).save(tmp_path / "images" / f"shot{i}.png")
        shots.append({"image": f"images/shot{i}.png", "width": 96, "height": 64})
    out = assemble_scene(clips, pause_ms=300, images=shots, ctx=ctx)
    assert out["video"] == "scene.mp4" and out["shots"] == 3
    assert (tmp_path / "scene.wav").is_file() and (tmp_path / "scene.srt").is_file()
    info = probe(tmp_path / "scene.mp4")
    assert sorted(info.streams) == ["audio:aac", "subtitle:mov_text", "video:h264"]
    expected = sum(c["seconds"] for c in clips) + 2 * 0.3
    assert info.seconds == pytest.approx(expected, abs=0.15)
    assert out["seconds"] == pytest.approx(expected, abs=0.01)


def _still(run: Path) -> None:
    (run / "images").mkdir(exist_ok=True)
    Image.new("RGB", (64, 64), "white").save(run / "images" / "one.png")


def test_scene_without_images_stays_audio_only_and_missing_images_are_named(tmp_path: Path) -> None:
    ctx = ToolContext(run_dir=tmp_path)
    clips = synthesize_voice([{"character": "Luca", "text": "Hello."}], ctx=ctx)["clips"]
    out = assemble_scene(clips, images=[None, ""], ctx=ctx)  # what a model may fill in
    assert "video" not in out and not (tmp_path / "scene.mp4").exists()
    with pytest.raises(ValueError, match="nope.png"):
        assemble_scene(clips, images=["nope.png"], ctx=ctx)
    assert (tmp_path / "scene.wav").is_file()  # the audio track made before is kept
    # One image as the planner links it ("$s2.image": a path), held for every line.
    _still(tmp_path)
    one = assemble_scene(clips, images="images/one.png", ctx=ctx)
    assert one["video"] == "scene.mp4" and one["shots"] == 1
    spec = default_registry().get("assemble_scene")
    assert spec is not None and spec.consumes == {"clips": "audio", "images": "image"}
