"""SDXL through diffusers: load a local pipeline, run one image job, write a PNG with its recipe.

Everything is local: a diffusers folder (``model_index.json``) or one ``.safetensors``
checkpoint with a local config folder, loaded with ``local_files_only`` so nothing is fetched.
On CUDA the pipeline runs in fp16 with model CPU offload (SDXL fits a 16 GB card that way);
on the CPU in float32. LoRA adapters are loaded per job *before* offload hooks are installed
(diffusers' documented pitfall) and unloaded after, so the resident pipeline stays clean.
torch and diffusers are imported lazily: their cold import costs ~20 s.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from configs.settings import ImageSettings
from services.outputs import atomic_write_bytes

SCHEDULERS = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "ddim": ("DDIMScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
}
CONTROL_KINDS = ("canny", "pose", "depth")


class ImageJobError(ValueError):
    """The request cannot be run as asked (bad size, steps, control image, LoRA ...)."""


class ImageModelError(RuntimeError):
    """The configured weights cannot be loaded; the message names the setting to fix."""


@dataclass(frozen=True)
class LoraSpec:
    """One LoRA adapter: its file, the words that trigger it and its weight."""

    path: Path
    name: str
    weight: float = 1.0
    trigger: str = ""


@dataclass(frozen=True)
class ControlSpec:
    """ControlNet conditioning: the kind, the control image (already preprocessed) and scale."""

    kind: str
    image: Path
    scale: float = 0.8


@dataclass(frozen=True)
class ImageJob:
    """Everything one generation needs; also what goes into the PNG's metadata."""

    prompt: str
    negative_prompt: str = ""
    width: int = 1024
    height: int = 1024
    steps: int = 30
    guidance: float = 6.0
    seed: int = 0
    scheduler: str = "euler"
    loras: tuple[LoraSpec, ...] = ()
    control: ControlSpec | None = None
    tiled_vae: bool = False
    cpu_offload: bool | None = None
    """None: the configured default; the OOM ladder forces it on as its last resort."""

    def recipe(self) -> dict[str, Any]:
        """The parameters as plain JSON (paths as strings)."""
        data = asdict(self)
        data["loras"] = [
            {
                "name": lo.name,
                "path": Path(lo.path).name,
                "weight": lo.weight,
                "trigger": lo.trigger,
            }
            for lo in self.loras
        ]
        if self.control is not None:
            data["control"] = {
                "kind": self.control.kind,
                "image": Path(self.control.image).name,
                "scale": self.control.scale,
            }
        return data


def validate_job(job: ImageJob, settings: ImageSettings) -> None:
    """Refuse what cannot work before any model is touched."""
    if not job.prompt.strip():
        raise ImageJobError("the image prompt is empty: say what the picture shows")
    for side, value in (("width", job.width), ("height", job.height)):
        if value % 8 or not 64 <= value <= 4096:
            raise ImageJobError(
                f"{side} {value} is not usable: SDXL needs a multiple of 8 between 64 and 4096 "
                f"(e.g. {max(64, min(4096, value // 8 * 8))})"
            )
    if not 1 <= job.steps <= settings.max_steps:
        raise ImageJobError(
            f"{job.steps} denoising steps is out of range: use 1..{settings.max_steps} "
            "(ANIMAGENT_IMAGE__MAX_STEPS raises the limit)"
        )
    if not 0.0 <= job.guidance <= 30.0:
        raise ImageJobError(f"guidance {job.guidance} is out of range 0..30")
    if job.scheduler not in SCHEDULERS:
        raise ImageJobError(
            f"unknown scheduler {job.scheduler!r}: use one of {', '.join(SCHEDULERS)}"
        )
    for lora in job.loras:
        if not Path(lora.path).is_file():
            raise ImageJobError(
                f"LoRA file {lora.path} for {lora.name!r} does not exist: fix the character "
                "sheet's lora file or ANIMAGENT_IMAGE__LORA_DIR"
            )
    if job.control is not None:
        if job.control.kind not in CONTROL_KINDS:
            raise ImageJobError(
                f"unknown control kind {job.control.kind!r}: use {', '.join(CONTROL_KINDS)}"
            )
        if not Path(job.control.image).is_file():
            raise ImageJobError(f"control image {job.control.image} does not exist")
        if job.control.kind not in settings.controlnets:
            raise ImageJobError(
                f"no ControlNet configured for {job.control.kind!r}: set "
                f"image.controlnets.{job.control.kind} to a local ControlNet folder"
            )


def pick_device(settings: ImageSettings) -> str:
    """Cuda when asked for or seen (auto); otherwise cpu."""
    if settings.device != "auto":
        return settings.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class SdxlModels:
    """A loaded base pipeline plus the ControlNets loaded next to it (one resident unit)."""

    pipe: Any
    device: str
    source: str
    controlnets: dict[str, Any] = field(default_factory=dict)
    offloaded: bool = False
    scheduler: str = ""
    """The scheduler name the pipeline holds now (empty: the one it was saved with)."""


def load_sdxl(settings: ImageSettings) -> SdxlModels:
    """Load the configured SDXL weights (no network); raise ImageModelError naming the fix."""
    import torch
    from diffusers import StableDiffusionXLPipeline

    path = settings.model_path
    if path is None:
        raise ImageModelError("no SDXL weights configured: set ANIMAGENT_IMAGE__MODEL_PATH")
    path = Path(path).expanduser()
    device = pick_device(settings)
    dtype = torch.float16 if device == "cuda" else torch.float32
    try:
        if path.is_dir():
            if not (path / "model_index.json").is_file():
                raise ImageModelError(
                    f"{path} is not a diffusers pipeline folder (no model_index.json): point "
                    "ANIMAGENT_IMAGE__MODEL_PATH at an SDXL diffusers folder or a .safetensors file"
                )
            pipe = StableDiffusionXLPipeline.from_pretrained(  # type: ignore[no-untyped-call]
                str(path), dtype=dtype, local_files_only=True, add_watermarker=False
            )
        elif path.is_file() and path.suffix in {".safetensors", ".ckpt"}:
            config = settings.single_file_config
            if config is None or not Path(config).is_dir():
                raise ImageModelError(
                    f"{path.name} is a single checkpoint: set ANIMAGENT_IMAGE__SINGLE_FILE_CONFIG "
                    "to a local SDXL diffusers config folder (model_index.json and component "
                    "configs), since nothing may be fetched from the hub"
                )
            pipe = StableDiffusionXLPipeline.from_single_file(
                str(path),
                config=str(config),
                dtype=dtype,
                local_files_only=True,
                add_watermarker=False,
            )
        else:
            raise ImageModelError(
                f"SDXL weights not found at {path}: set ANIMAGENT_IMAGE__MODEL_PATH to a diffusers "
                "folder or a .safetensors checkpoint"
            )
    except ImageModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ImageModelError(
            f"cannot load SDXL from {path}: {str(exc).splitlines()[0][:300]} (check "
            "ANIMAGENT_IMAGE__MODEL_PATH: an SDXL pipeline, complete, readable)"
        ) from exc
    pipe.set_progress_bar_config(disable=True)
    if device != "cuda":
        pipe.to(device)
    elif not settings.cpu_offload:
        pipe.to("cuda")
    return SdxlModels(pipe=pipe, device=device, source=str(path))


def _controlnet(models: SdxlModels, kind: str, settings: ImageSettings) -> Any:
    if kind not in models.controlnets:
        import torch
        from diffusers import ControlNetModel

        folder = Path(settings.controlnets[kind]).expanduser()
        dtype = torch.float16 if models.device == "cuda" else torch.float32
        try:
            models.controlnets[kind] = ControlNetModel.from_pretrained(  # type: ignore[no-untyped-call]
                str(folder), dtype=dtype, local_files_only=True
            )
        except (OSError, ValueError, RuntimeError) as exc:
            raise ImageModelError(
                f"cannot load the {kind} ControlNet from {folder}: "
                f"{str(exc).splitlines()[0][:200]} (fix image.controlnets.{kind})"
            ) from exc
    return models.controlnets[kind]


def _scheduler(pipe: Any, name: str) -> Any:
    import diffusers

    cls_name, extra = SCHEDULERS[name]
    cls = getattr(diffusers, cls_name)
    return cls.from_config(pipe.scheduler.config, **extra)


def _load_loras(pipe: Any, loras: tuple[LoraSpec, ...]) -> None:
    names = []
    for lora in loras:
        try:
            with warnings.catch_warnings():
                # peft warns that a second adapter makes "multiple adapters": that is the point.
                warnings.filterwarnings("ignore", message="Already found a `peft_config`")
                pipe.load_lora_weights(
                    str(Path(lora.path).parent),
                    weight_name=Path(lora.path).name,
                    adapter_name=lora.name,
                )
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            _unload_loras(pipe)
            first = str(exc).splitlines()[0][:160]
            raise ImageJobError(
                f"LoRA {Path(lora.path).name} ({lora.name}) does not fit the base model "
                f"({first}): use a LoRA trained for this SDXL model, or remove it from the "
                "character sheet"
            ) from exc
        names.append(lora.name)
    pipe.set_adapters(names, adapter_weights=[lo.weight for lo in loras])


def _unload_loras(pipe: Any) -> None:
    try:
        pipe.unload_lora_weights()
    except (RuntimeError, ValueError, AttributeError):
        # A half-loaded adapter: delete what the UNet kept, by name.
        unet: Any = getattr(pipe, "unet", None)
        peft_config = getattr(unet, "peft_config", None) or {}
        if peft_config:
            unet.delete_adapters(list(peft_config))


def control_image(spec: ControlSpec, width: int, height: int) -> Any:
    """The conditioning image at the job's size; canny edges are computed here, locally."""
    from PIL import Image

    from services.edges import canny

    with Image.open(spec.image) as img:
        img.load()
        image = img.convert("RGB")
    if spec.kind == "canny":
        image = canny(image)
    # Pose and depth maps come made (by the person or an earlier step): their size must match
    # the job's aspect ratio, or the conditioning would be stretched.
    if image.size != (width, height):
        ratio, want = image.size[0] / image.size[1], width / height
        if abs(ratio - want) > 0.02:
            raise ImageJobError(
                f"control image {Path(spec.image).name} is {image.size[0]}x{image.size[1]}, "
                f"which does not match the {width}x{height} image's aspect ratio: crop it or "
                "ask for a matching size"
            )
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    return image


def generate(models: SdxlModels, job: ImageJob, settings: ImageSettings) -> Any:
    """Run one job on the loaded pipeline; returns a PIL image. LoRAs are unloaded after."""
    import torch

    pipe = models.pipe
    offload = settings.cpu_offload if job.cpu_offload is None else job.cpu_offload
    if job.control is not None:
        from diffusers import StableDiffusionXLControlNetPipeline

        run_pipe = StableDiffusionXLControlNetPipeline.from_pipe(
            pipe, controlnet=_controlnet(models, job.control.kind, settings)
        )
        run_pipe.set_progress_bar_config(disable=True)
    else:
        run_pipe = pipe
    if job.loras:
        if models.offloaded:
            # LoRAs must be loaded before offload hooks exist: remove them, load, re-enable.
            pipe.remove_all_hooks()
            models.offloaded = False
        _load_loras(pipe, job.loras)
    try:
        if models.device == "cuda" and offload and not models.offloaded:
            run_pipe.enable_model_cpu_offload()
            models.offloaded = run_pipe is pipe
        elif models.device == "cuda" and not offload:
            if models.offloaded:  # an earlier rung offloaded it: hooks off before moving it
                pipe.remove_all_hooks()
                models.offloaded = False
            run_pipe.to("cuda")
        if models.scheduler != job.scheduler:  # building one costs ~ms: only on a change
            pipe.scheduler = _scheduler(pipe, job.scheduler)
            models.scheduler = job.scheduler
        run_pipe.scheduler = pipe.scheduler
        if job.tiled_vae:
            pipe.vae.enable_tiling()
        else:
            pipe.vae.disable_tiling()
        kwargs: dict[str, Any] = {
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt or None,
            "width": job.width,
            "height": job.height,
            "num_inference_steps": job.steps,
            "guidance_scale": job.guidance,
            # A CPU generator: the same seed gives the same image on CPU and CUDA.
            "generator": torch.Generator("cpu").manual_seed(job.seed),
        }
        if job.control is not None:
            kwargs["image"] = control_image(job.control, job.width, job.height)
            kwargs["controlnet_conditioning_scale"] = job.control.scale
        with torch.inference_mode():
            return run_pipe(**kwargs).images[0]
    finally:
        if job.loras:
            _unload_loras(pipe)
        if job.tiled_vae:
            pipe.vae.disable_tiling()


def png_bytes(image: Any, job: ImageJob, extra: dict[str, Any] | None = None) -> bytes:
    """PNG bytes carrying the recipe: A1111-style ``parameters`` text and JSON ``animagent``."""
    import io

    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    recipe = {**job.recipe(), **(extra or {})}
    loras = "".join(f" <lora:{lo.name}:{lo.weight}>" for lo in job.loras)
    info.add_text(
        "parameters",
        f"{job.prompt}{loras}\nNegative prompt: {job.negative_prompt}\n"
        f"Steps: {job.steps}, Sampler: {job.scheduler}, CFG scale: {job.guidance}, "
        f"Seed: {job.seed}, Size: {job.width}x{job.height}",
    )
    info.add_text("animagent", json.dumps(recipe, default=str))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def save_png(path: Path, image: Any, job: ImageJob, extra: dict[str, Any] | None = None) -> Path:
    """Write the PNG atomically (a half-written image is never left behind)."""
    return atomic_write_bytes(path, png_bytes(image, job, extra))
