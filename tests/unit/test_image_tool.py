"""generate_image on a tiny random SDXL pipeline, through the same loading code as real weights.

The pipeline, ControlNet and LoRAs are built once per session (tests/image_helpers.py) and
saved to disk; the tool loads them with HF_HUB_OFFLINE=1 via ANIMAGENT_IMAGE__MODEL_PATH.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from configs.settings import Settings, get_settings
from services import gpu as gpu_service
from services.diffusion import ImageJobError, ImageModelError, load_sdxl
from services.edges import canny
from tests.knowledge_helpers import fake_store, kb_for
from tools.image import generate_image, improve_image, probe_image
from tools.registry import ToolContext, default_registry


def _ctx(tmp_path: Path, settings: Settings, step: str = "img", attempt: int = 1) -> ToolContext:
    return ToolContext(run_dir=tmp_path / "run", step_id=step, attempt=attempt, settings=settings)


def _pixels(run: Path, out: dict[str, Any]) -> np.ndarray:
    with Image.open(run / out["image"]) as img:
        return np.asarray(img.convert("RGB"), dtype=float)


def test_unconfigured_image_tool_names_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANIMAGENT_IMAGE__MODEL_PATH", raising=False)
    get_settings.cache_clear()
    avail = probe_image(get_settings())
    assert not avail.ok
    assert "ANIMAGENT_IMAGE__MODEL_PATH" in avail.reason and "COMFYUI_URL" in avail.reason
    missing = probe_image(Settings(image={"model_path": "/nonexistent/sdxl"}))  # type: ignore[arg-type]
    assert not missing.ok and "does not exist" in missing.reason


def test_generates_a_png_with_its_recipe_and_keeps_the_model_loaded(
    image_env: Settings, tmp_path: Path
) -> None:
    assert probe_image(image_env).ok
    first = generate_image(
        "a boy on a bike", negative_prompt="blurry", seed=3, ctx=_ctx(tmp_path, image_env)
    )
    run = tmp_path / "run"
    with Image.open(run / first["image"]) as img:
        assert img.size == (64, 64) and img.format == "PNG"
        recipe = json.loads(img.text["animagent"])
        assert "Seed: 3, Size: 64x64" in img.text["parameters"]
        assert "Negative prompt: blurry" in img.text["parameters"]
    assert recipe["seed"] == 3 and recipe["steps"] == 2 and recipe["backend"] == "diffusers"
    assert recipe["device"] == "cpu"
    assert first["quality"]["decodes"] and first["quality"]["size_ok"]
    # Same seed, same picture (and the measurable check calls it a repeat of attempt 1).
    again = generate_image(
        "a boy on a bike",
        negative_prompt="blurry",
        seed=3,
        ctx=_ctx(tmp_path, image_env, attempt=2),
    )
    assert np.array_equal(_pixels(run, first), _pixels(run, again))
    assert again["quality"]["duplicate_of"] == "img_a1.png"
    other = generate_image("a boy on a bike", seed=4, ctx=_ctx(tmp_path, image_env, step="img2"))
    assert not np.array_equal(_pixels(run, first), _pixels(run, other))
    residency = gpu_service.get_residency(image_env)
    assert residency.loads == 1 and residency.resident() == ["sdxl"]


def test_bad_requests_are_refused_with_the_fix(image_env: Settings, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, image_env)
    with pytest.raises(ImageJobError, match="multiple of 8"):
        generate_image("x", width=100, ctx=ctx)
    with pytest.raises(ImageJobError, match="ANIMAGENT_IMAGE__MAX_STEPS"):
        generate_image("x", steps=5000, ctx=ctx)
    with pytest.raises(ImageJobError, match="unknown scheduler"):
        generate_image("x", scheduler="warp", ctx=ctx)
    assert gpu_service.get_residency(image_env).loads == 0  # refused before loading anything
    not_a_pipeline = tmp_path / "empty"
    not_a_pipeline.mkdir()
    with pytest.raises(ImageModelError, match="not a diffusers pipeline folder"):
        load_sdxl(image_env.image.model_copy(update={"model_path": not_a_pipeline}))
    single = tmp_path / "model.safetensors"
    single.write_bytes(b"\0" * 16)
    with pytest.raises(ImageModelError, match="SINGLE_FILE_CONFIG"):
        load_sdxl(image_env.image.model_copy(update={"model_path": single}))


def test_schedulers_run(image_env: Settings, tmp_path: Path) -> None:
    out = generate_image(
        "harbour", scheduler="dpmpp_2m_karras", seed=1, ctx=_ctx(tmp_path, image_env)
    )
    assert out["quality"]["size_ok"]


def _sheet(folder: Path, name: str, lora: str, trigger: str, weight: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.lower()}.yaml"
    path.write_text(
        f"kind: character\nname: {name}\nwho: A boy from the harbour.\n"
        f"lora:\n  file: {lora}\n  trigger: {trigger}\n  weight: {weight}\n"
    )
    return path


def test_character_loras_from_the_knowledge_base(
    image_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.ingest import ingest_paths

    settings = fake_store(tmp_path, monkeypatch, enabled=True).model_copy(
        update={"image": image_env.image}
    )
    sheets = tmp_path / "sheets" / "characters"
    _sheet(sheets, "Luca", "luca.safetensors", "lcboy", 0.9)
    _sheet(sheets, "Alberto", "alberto.safetensors", "albrt", 0.6)
    ingest_paths(kb_for(settings), [sheets])
    run = tmp_path / "run"
    plain = generate_image("two boys", seed=5, ctx=_ctx(tmp_path, settings, step="plain"))
    one = generate_image(
        "two boys", seed=5, characters=["Luca"], ctx=_ctx(tmp_path, settings, step="one")
    )
    assert one["loras"] == ["luca"] and one["prompt"].startswith("lcboy")
    both = generate_image(
        "two boys", seed=5, characters=["Luca", "Alberto"], ctx=_ctx(tmp_path, settings, step="two")
    )
    assert both["loras"] == ["luca", "alberto"]
    with Image.open(run / both["image"]) as img:
        meta = json.loads(img.text["animagent"])
    assert [(lo["name"], lo["weight"]) for lo in meta["loras"]] == [("luca", 0.9), ("alberto", 0.6)]
    assert "<lora:alberto:0.6>" in Image.open(run / both["image"]).text["parameters"]
    a, b, c = _pixels(run, plain), _pixels(run, one), _pixels(run, both)
    assert np.abs(a - b).mean() > 1.0 and np.abs(b - c).mean() > 1.0
    # The adapters are gone afterwards: the resident pipeline draws the plain picture again.
    pipe = gpu_service.get_residency(settings).peek("sdxl").pipe
    assert not getattr(pipe.unet, "peft_config", None)
    after = generate_image("two boys", seed=5, ctx=_ctx(tmp_path, settings, step="after"))
    assert np.abs(_pixels(run, after) - a).max() <= 1.0


def test_a_lora_that_does_not_fit_is_refused_and_the_model_survives(
    image_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.ingest import ingest_paths

    settings = fake_store(tmp_path, monkeypatch, enabled=True).model_copy(
        update={"image": image_env.image}
    )
    _sheet(tmp_path / "s" / "characters", "Pip", "misfit.safetensors", "pip", 1.0)
    _sheet(tmp_path / "s" / "characters", "Ghost", "missing.safetensors", "gh", 1.0)
    ingest_paths(kb_for(settings), [tmp_path / "s" / "characters"])
    with pytest.raises(ImageJobError, match="does not fit the base model"):
        generate_image("pip", characters=["Pip"], ctx=_ctx(tmp_path, settings, step="pip"))
    with pytest.raises(ImageJobError, match="missing.safetensors.*does not exist"):
        generate_image("ghost", characters=["Ghost"], ctx=_ctx(tmp_path, settings, step="gh"))
    ok = generate_image("pip", seed=2, ctx=_ctx(tmp_path, settings, step="ok"))
    assert ok["quality"]["size_ok"] and ok["loras"] == []


def _control(path: Path, box: tuple[int, int, int, int], size: tuple[int, int] = (64, 64)) -> Path:
    img = Image.new("RGB", size, "black")
    ImageDraw.Draw(img).rectangle(box, fill="white")
    img.save(path)
    return path


def test_canny_edges_are_computed_locally(tmp_path: Path) -> None:
    edges = np.asarray(
        canny(Image.open(_control(tmp_path / "c.png", (16, 16, 47, 47)))).convert("L")
    )
    assert edges[16:48, 14:18].any() and edges[16:48, 46:50].any()  # both vertical sides
    assert not edges[24:40, 24:40].any() and not edges[:8, :8].any()  # flat areas have none


def test_controlnet_conditioning_steers_the_image(image_env: Settings, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    _control(run / "left.png", (4, 4, 28, 60))
    _control(run / "right.png", (36, 4, 60, 60))
    args = {"prompt": "a poster", "seed": 9, "control_kind": "canny"}
    left = generate_image(**args, control_image="left.png", ctx=_ctx(tmp_path, image_env, "l"))
    right = generate_image(**args, control_image="right.png", ctx=_ctx(tmp_path, image_env, "r"))
    off = generate_image(
        **args, control_image="left.png", control_scale=0.0, ctx=_ctx(tmp_path, image_env, "o")
    )
    # Random weights: where the edges are moves the picture a little, the scale a lot.
    assert not np.array_equal(_pixels(run, left), _pixels(run, right))
    assert np.abs(_pixels(run, left) - _pixels(run, off)).mean() > 2.0
    with Image.open(run / left["image"]) as img:
        assert json.loads(img.text["animagent"])["control"] == {
            "kind": "canny",
            "image": "left.png",
            "scale": 0.8,
        }
    _control(run / "wide.png", (0, 0, 10, 10), size=(128, 64))
    with pytest.raises(ImageJobError, match="aspect ratio"):
        generate_image(**args, control_image="wide.png", ctx=_ctx(tmp_path, image_env, "w"))
    with pytest.raises(ImageJobError, match="image.controlnets.pose"):
        generate_image(
            **args | {"control_kind": "pose"},
            control_image="left.png",
            ctx=_ctx(tmp_path, image_env, "p"),
        )


def test_retry_arguments_change_seed_and_strengthen_when_judged_off() -> None:
    args = {
        "prompt": "Giulia on a bike",
        "seed": 1,
        "guidance": 6.0,
        "control_image": "c.png",
        "control_scale": 0.8,
    }
    blank = improve_image(args, ["check failed: not_blank"])
    assert blank["seed"] != 1 and blank["prompt"] == args["prompt"]
    judged = improve_image(args, ["the judge says the bike is missing"])
    assert judged["seed"] != 1 and "highly detailed" in judged["prompt"]
    assert judged["guidance"] == 7.0 and judged["control_scale"] == pytest.approx(1.0)
    spec = default_registry().get("generate_image")
    assert (
        spec is not None and spec.produces == {"image": "image"} and spec.improve is improve_image
    )


def test_a_run_asking_for_pictures_makes_them_through_the_gpu_lane(
    image_env: Settings, fake: Any
) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.builder import build_graph
    from state import Context

    graph = build_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "posters"}}
    graph.invoke({"request": "Draw three posters of Luca at sunset"}, config, context=Context())
    final = graph.get_state(config).values["final"]
    image = final["deliverables"][0]
    assert (image["kind"], image["wanted"], image["made"]) == ("image", 3, 3), final
    folder = Path(image_env.outputs_dir) / "posters" / "images"
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 3
    assert len({p.read_bytes() for p in pngs}) == 3  # three shots, three pictures
    assert gpu_service.get_residency(image_env).loads == 1  # one load for the three steps
