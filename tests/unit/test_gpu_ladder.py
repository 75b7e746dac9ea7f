"""The GPU lane's out-of-memory ladder, with a CUDA OOM injected into the real VAE decode."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from diffusers import AutoencoderKL

from configs.settings import Settings
from nodes.gpu import OOM_HINT, gpu, rungs
from services import gpu as gpu_service
from services.gpu import Residency
from state import Context, Step, StepResult, StepTask


def _inject_oom(monkeypatch: pytest.MonkeyPatch, fails: Any) -> list[tuple[bool, int]]:
    """Make AutoencoderKL.decode raise CUDA's OOM while ``fails(tiled, width)`` says so."""
    calls: list[tuple[bool, int]] = []
    real = AutoencoderKL.decode

    def decode(self: Any, z: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        width = int(z.shape[-1]) * 8
        calls.append((bool(self.use_tiling), width))
        if fails(bool(self.use_tiling), width):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real(self, z, *args, **kwargs)

    monkeypatch.setattr(AutoencoderKL, "decode", decode)
    return calls


def _run(step_id: str, args: dict[str, Any]) -> StepResult:
    task = StepTask(step=Step(id=step_id, tool="generate_image", args=args), attempt=1, args=args)
    update = gpu(task, SimpleNamespace(context=Context(output_subdir="ladder")))  # type: ignore[arg-type]
    results = update["results"]
    assert isinstance(results, dict)
    return results[step_id]  # type: ignore[no-any-return]


def test_untiled_decode_oom_is_retried_with_tiled_vae(
    image_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _inject_oom(monkeypatch, lambda tiled, width: not tiled)
    result = _run("img", {"prompt": "Giulia on her bike", "seed": 2})
    assert result.status == "done", result.error
    assert result.output["memory_ladder"] == [
        "the same job after freeing memory",
        "tiled VAE decode",
    ]
    assert result.args["tiled_vae"] is True and result.output["width"] == 64
    assert [tiled for tiled, _ in calls] == [False, False, True]
    residency = gpu_service.get_residency()
    assert residency.evictions == ["sdxl", "sdxl"]  # freed before each rung, then reloaded


def test_every_rung_out_of_memory_fails_clearly_and_keeps_what_was_made(
    image_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _run("first", {"prompt": "Portorosso harbour", "seed": 1})
    assert made.status == "done"
    calls = _inject_oom(monkeypatch, lambda tiled, width: True)
    failed = _run("second", {"prompt": "Giulia on her bike", "seed": 2, "width": 96, "height": 96})
    assert failed.status == "failed"
    assert (
        "tried: the same job after freeing memory, tiled VAE decode, smaller size 72x72, CPU offload"
        in failed.error
    )
    assert OOM_HINT in failed.error and "CUDA out of memory" in failed.error
    assert [w for _, w in calls] == [96, 96, 96, 72, 72]
    # The earlier step's picture is still there.
    folder = Path(image_env.outputs_dir) / "ladder"
    assert (folder / made.output["image"]).is_file()


def test_ladder_for_a_tool_without_size_only_frees_and_retries() -> None:
    assert [label for label, _ in rungs({"lines": []}, {"width": 1024, "height": 1024})][0] == (
        "the same job after freeing memory"
    )
    small = dict(rungs({"prompt": "x", "width": 1024, "height": 576}, {})[2][1])
    assert (small["width"], small["height"], small["tiled_vae"]) == (768, 432, True)


def test_residency_uses_free_memory_with_a_margin() -> None:
    free = [12.0]
    residency = Residency(budget_gb=16.0, free_gb=lambda: free[0], margin_gb=1.0)
    residency.get("sdxl", 10.0, lambda: "pipe")
    assert residency.budget() == pytest.approx(10.0 + 11.0)
    free[0] = 3.0  # another program took the card: the voice model no longer fits beside SDXL
    residency.get("voice", 4.0, lambda: "voice")
    assert residency.resident() == ["voice"] and residency.evictions == ["sdxl"]
    fallback = Residency(budget_gb=16.0, free_gb=lambda: None)
    assert fallback.budget() == 16.0 and fallback.fits(16.0) and not fallback.fits(16.5)


def test_doctor_rows_name_the_backend_and_what_fits() -> None:
    from services.gpu import doctor_rows

    settings = Settings(gpu={"vram_budget_gb": 12.0}, image={"model_path": "/models/sdxl"})  # type: ignore[arg-type]
    rows = dict(doctor_rows(settings, [("generate_image", 10.0), ("huge_video", 40.0)]))
    assert rows["image backend"] == "diffusers (auto) /models/sdxl"
    assert "budget 12.0 GB (configured gpu.vram_budget_gb)" in rows["heavy models"]
    assert "fit: generate_image (10 GB); too big: huge_video (40 GB)" in rows["heavy models"]


def test_dispatch_loads_each_heavy_model_once_for_an_interleaved_plan() -> None:
    from benchmarks.images import model_loads
    from tools.registry import default_registry

    result = model_loads()
    assert result["loads_dispatch"] == 2 and result["loads_plan_order"] == 6
    assert result["dispatch_order"] == "s1 s3 s5 s2 s4 s6"  # the images first, then the voices
    voice = default_registry().get("synthesize_voice")
    assert voice is not None and not voice.heavy  # the benchmark's heavy voice was put back
