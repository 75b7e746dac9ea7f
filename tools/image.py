"""generate_image: SDXL stills (with character LoRAs and ControlNet) through diffusers or ComfyUI.

The heavy work lives in ``services.diffusion`` (the in-process pipeline) or
``services.comfyui`` (a ComfyUI server). This module turns the tool's arguments into a job,
finds each character's LoRA in the knowledge base, writes the PNG with its recipe, and
measures the result (``services.image_checks``) so evaluate can score an image without a
vision model.
The loaded pipeline is kept by the GPU lane's ``Residency`` under the tool's model id, so the
dispatcher can prefer steps whose model is already loaded.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg

from configs.settings import Settings
from services import image_checks
from services.diffusion import ControlSpec, ImageJob, LoraSpec, SdxlModels
from services.outputs import safe_name
from tools.registry import (
    Availability,
    ToolContext,
    ToolRegistry,
    make_spec,
)

MODEL_ID = "sdxl"
NEEDS = (
    "image generation needs ANIMAGENT_IMAGE__MODEL_PATH (a local SDXL diffusers folder or "
    ".safetensors checkpoint) or a ComfyUI server (ANIMAGENT_IMAGE__BACKEND=comfyui and "
    "ANIMAGENT_IMAGE__COMFYUI_URL)"
)


def _loras(names: list[str], settings: Settings) -> tuple[list[LoraSpec], str]:
    """The named characters' LoRAs from their sheets; a knowledge base problem is a note."""
    if not names or not settings.knowledge.enabled:
        return [], ""
    from services.character_loras import character_loras
    from services.knowledge_base import CHARACTERS, get_knowledge_base

    try:
        kb = get_knowledge_base(settings)
        return character_loras(kb, names, settings.image.lora_dir, CHARACTERS), ""
    except Exception as exc:  # the image is still worth making without the adapters
        return [], f"character LoRAs not read from the knowledge base: {str(exc)[:160]}"


def _sdxl(settings: Settings) -> SdxlModels:
    """The resident SDXL pipeline, loaded through the GPU lane's residency."""
    from services.diffusion import load_sdxl
    from services.gpu import get_residency

    residency = get_residency(settings)
    loaded = residency.peek(MODEL_ID)
    if isinstance(loaded, SdxlModels) and loaded.source != str(
        Path(str(settings.image.model_path)).expanduser()
    ):
        residency.unload(MODEL_ID)  # other weights were configured since
    models = residency.get(MODEL_ID, settings.image.vram_gb, lambda: load_sdxl(settings.image))
    assert isinstance(models, SdxlModels)
    return models


def _comfyui(settings: Settings, job: ImageJob) -> Any:
    """Run the job on the ComfyUI server; the server's models count as resident (``sdxl``)."""
    import io

    from PIL import Image

    from services.comfyui import ComfyClient, ComfyResident, load_workflow
    from services.diffusion import ImageJobError, validate_job
    from services.gpu import get_residency

    conf = settings.image
    if job.control is not None:
        raise ImageJobError(
            "ControlNet through ComfyUI is not wired: use the diffusers backend for control images"
        )
    # LoRA files live on the server: only their names travel, so skip the local-file check.
    validate_job(dataclasses.replace(job, loras=()), conf)
    client = ComfyClient(str(conf.comfyui_url), timeout_s=conf.comfyui_timeout_s)
    get_residency(settings).get(MODEL_ID, conf.vram_gb, lambda: ComfyResident(client))
    png = client.generate(load_workflow(conf.comfyui_workflow), job)
    try:
        with Image.open(io.BytesIO(png)) as img:
            img.load()
            return img.copy()
    except OSError as exc:
        raise ImageJobError(f"ComfyUI sent an image that does not decode: {exc}") from exc


def generate_image(
    prompt: str,
    negative_prompt: str = "",
    width: int = 0,
    height: int = 0,
    steps: int = 0,
    seed: int = 0,
    guidance: float = 0.0,
    scheduler: str = "",
    characters: list[str] | None = None,
    control_image: str = "",
    control_kind: str = "canny",
    control_scale: float = 0.8,
    tiled_vae: bool = False,
    cpu_offload: bool = False,
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Generate a still image (keyframe, background or character art) from a text prompt.

    Args:
        prompt: What the image shows, with style words.
        negative_prompt: What the image must not show.
        width: Width in pixels, a multiple of 8 (0 = the configured default).
        height: Height in pixels, a multiple of 8 (0 = the configured default).
        steps: Denoising steps (0 = the configured default).
        seed: Random seed (same seed, same image).
        guidance: Classifier-free guidance scale (0 = the configured default).
        scheduler: Sampler: euler, euler_a, dpmpp_2m, dpmpp_2m_karras, ddim or unipc.
        characters: Characters in the picture; their LoRAs from the character sheets are used.
        control_image: A control image in the run folder or on disk (pose, edges or depth).
        control_kind: canny (edges computed from the image), pose or depth.
        control_scale: How strongly the control image steers the picture (0..2).
        tiled_vae: Decode the image in tiles (less memory).
        cpu_offload: Keep model parts in CPU memory until needed (slower, least memory).
    """
    assert ctx is not None
    settings = ctx.settings
    conf = settings.image
    from services.character_loras import with_triggers
    from services.diffusion import ImageJobError, save_png, validate_job

    loras, note = _loras(list(characters or []), settings)
    control = None
    if control_image:
        path = Path(control_image)
        if not path.is_absolute():
            path = ctx.run_dir / path
        control = ControlSpec(kind=control_kind, image=path, scale=control_scale)
    job = ImageJob(
        prompt=with_triggers(prompt, loras),
        negative_prompt=negative_prompt,
        width=width or conf.width,
        height=height or conf.height,
        steps=steps or conf.steps,
        guidance=guidance or conf.guidance,
        seed=seed,
        scheduler=scheduler or conf.scheduler,
        loras=tuple(loras),
        control=control,
        tiled_vae=tiled_vae,
        cpu_offload=True if cpu_offload else None,
    )
    if control is not None and not 0.0 <= control.scale <= 2.0:
        raise ImageJobError(f"control_scale {control.scale} is out of range 0..2")
    out = ctx.path(f"images/{safe_name(ctx.step_id, 40)}_a{ctx.attempt}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    ctx.progress(0.05, "image: loading the model")
    if conf.backend == "comfyui":
        save_png(out, _comfyui(settings, job), job, {"backend": "comfyui"})
    else:
        from services.diffusion import generate

        validate_job(job, conf)
        models = _sdxl(settings)
        ctx.progress(0.2, "image: denoising")
        image = generate(models, job, conf)
        save_png(out, image, job, {"backend": "diffusers", "device": models.device})
    ctx.progress(0.95, "image: checking")
    earlier = sorted(p for p in out.parent.glob(f"{safe_name(ctx.step_id, 40)}_a*.png") if p != out)
    quality = image_checks.measure(out, job.width, job.height, earlier)
    rel = str(out.relative_to(ctx.run_dir))
    result: dict[str, Any] = {
        "image": rel,
        "width": job.width,
        "height": job.height,
        "seed": job.seed,
        "prompt": job.prompt,
        "loras": [lo.name for lo in loras],
        "backend": conf.backend,
        "quality": quality,
        "artifacts": [{"path": rel, "kind": "image", "meta": job.recipe()}],
    }
    if note:
        result["note"] = note
    return result


def check_image(args: dict[str, Any], output: dict[str, Any]) -> dict[str, bool]:
    """Measurable checks: decodes, has the requested size, is not blank, is not a repeat."""
    return image_checks.passed(output.get("quality") or {})


def improve_image(args: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """A retry: a new seed always; stronger prompt terms, guidance and control when judged off."""
    new = dict(args)
    new["seed"] = (int(args.get("seed") or 0) * 7919 + 104729) % (2**31)
    text = " ".join(reasons).lower()
    if any(word in text for word in ("prompt", "match", "missing", "judge", "style", "score")):
        prompt = str(args.get("prompt", ""))
        if "highly detailed" not in prompt:
            new["prompt"] = f"{prompt}, highly detailed, clear composition"
        new["guidance"] = min(12.0, float(args.get("guidance") or 6.0) + 1.0)
        if args.get("control_image"):
            new["control_scale"] = min(2.0, float(args.get("control_scale") or 0.8) + 0.2)
    return new


def probe_image(settings: Settings) -> Availability:
    """Available when the configured backend has what it needs (no model is loaded here)."""
    conf = settings.image
    if conf.backend == "comfyui":
        if not conf.comfyui_url:
            return Availability(False, NEEDS)
        from services.comfyui import ComfyClient

        problem = ComfyClient(conf.comfyui_url, timeout_s=2.0).problem()
        return Availability(problem is None, problem or "")
    if conf.model_path is None:
        return Availability(False, NEEDS)
    path = Path(conf.model_path).expanduser()
    if not path.exists():
        return Availability(
            False, f"ANIMAGENT_IMAGE__MODEL_PATH={path} does not exist: point it at SDXL weights"
        )
    if importlib.util.find_spec("torch") is None:
        return Availability(
            False, "the diffusers backend needs torch: pip install 'animagent[cpu]' or a CUDA torch"
        )
    return Availability(True)


def register(registry: ToolRegistry) -> None:
    """Add generate_image (heavy: the GPU lane)."""
    registry.add(
        make_spec(
            generate_image,
            category="image",
            heavy=True,
            vram_gb=10.0,
            est_seconds=20.0,
            model=MODEL_ID,
            outputs=("image",),
            produces={"image": "image"},
            makes="image",
            hints=("image", "picture", "draw", "keyframe", "poster", "illustration", "portrait"),
            topics=("SDXL", "Stable Diffusion", "ControlNet", "LoRA", "OpenPose", "ComfyUI"),
            probe=probe_image,
            check=check_image,
            improve=improve_image,
            judged=False,  # the text judge cannot see; services.vision scores images
        )
    )
