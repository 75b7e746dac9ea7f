"""generate_image: registered so the planner knows it exists and why it cannot run yet.

The diffusers (SDXL + LoRA + ControlNet) and ComfyUI backends are a separate piece of work;
until it lands the probe reports what to configure and the function refuses with the same
message, so no plan ever runs it.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg

from configs.settings import Settings
from tools.registry import Availability, ToolContext, ToolRegistry, ToolUnavailableError, make_spec

NEEDS = (
    "image generation needs ANIMAGENT_IMAGE__MODEL_PATH (local SDXL weights) or a ComfyUI server "
    "(ANIMAGENT_IMAGE__COMFYUI_URL), and the image backend (not built yet in this version)"
)


def generate_image(
    prompt: str,
    negative_prompt: str = "",
    width: int = 1024,
    height: int = 1024,
    steps: int = 30,
    seed: int = 0,
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Generate a still image (keyframe, background or character art) from a text prompt.

    Args:
        prompt: What the image shows, with style words.
        negative_prompt: What the image must not show.
        width: Width in pixels (multiple of 8).
        height: Height in pixels (multiple of 8).
        steps: Denoising steps.
        seed: Random seed (same seed, same image).
    """
    raise ToolUnavailableError(NEEDS)


def probe_image(settings: Settings) -> Availability:
    """Unavailable until the image backend is built; says what it will need."""
    return Availability(False, NEEDS)


def register(registry: ToolRegistry) -> None:
    """Add generate_image (heavy: the GPU lane)."""
    registry.add(
        make_spec(
            generate_image,
            category="image",
            heavy=True,
            vram_gb=10.0,
            est_seconds=20.0,
            model="sdxl",
            outputs=("image",),
            produces={"image": "image"},
            makes="image",
            hints=("image", "picture", "draw", "keyframe", "poster", "illustration", "portrait"),
            probe=probe_image,
            judged=False,  # an image needs the vision judge (role vision_judge)
        )
    )
