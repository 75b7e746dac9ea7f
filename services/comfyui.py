"""A ComfyUI server as the image backend: fill an API-format workflow, queue it, fetch the PNG.

The protocol is ComfyUI's HTTP API: ``POST /prompt`` queues a workflow and answers its
``prompt_id``; ``GET /history/{id}`` holds the outputs once it has run (polled here: one
request a poll interval, no websocket dependency); ``GET /view`` serves an output image;
``POST /free`` unloads its models, which the GPU lane asks for before another heavy model
needs the card. The workflow's nodes are found by their ``class_type`` and links, so any
API-format export with a checkpoint loader, a KSampler, an EmptyLatentImage and two
CLIPTextEncode nodes works; LoRAs are spliced in as a chain of LoraLoader nodes.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from configs.settings import PACKAGE_DIR
from services.diffusion import ImageJob

DEFAULT_WORKFLOW = PACKAGE_DIR / "comfyui" / "sdxl_txt2img.json"
SAMPLERS = {  # our scheduler names -> ComfyUI (sampler_name, scheduler)
    "euler": ("euler", "normal"),
    "euler_a": ("euler_ancestral", "normal"),
    "dpmpp_2m": ("dpmpp_2m", "normal"),
    "dpmpp_2m_karras": ("dpmpp_2m", "karras"),
    "ddim": ("ddim", "ddim_uniform"),
    "unipc": ("uni_pc", "normal"),
}


class ComfyError(RuntimeError):
    """The ComfyUI server is unreachable, refused the workflow, or the run failed."""


def load_workflow(path: Path | None) -> dict[str, Any]:
    """An API-format workflow (``File > Export (API)`` in ComfyUI)."""
    source = Path(path).expanduser() if path else DEFAULT_WORKFLOW
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ComfyError(
            f"cannot read the ComfyUI workflow {source}: {exc} (ANIMAGENT_IMAGE__COMFYUI_WORKFLOW "
            "must be an API-format export)"
        ) from exc
    if not isinstance(data, dict) or not all(
        isinstance(n, dict) and "class_type" in n for n in data.values()
    ):
        raise ComfyError(f"{source} is not an API-format ComfyUI workflow (export it with 'API')")
    return data


def _one(workflow: dict[str, Any], class_type: str) -> str:
    ids = [k for k, node in workflow.items() if node["class_type"] == class_type]
    if len(ids) != 1:
        raise ComfyError(
            f"the ComfyUI workflow needs exactly one {class_type} node (found {len(ids)})"
        )
    return ids[0]


def fill(workflow: dict[str, Any], job: ImageJob, lora_names: list[str]) -> dict[str, Any]:
    """A copy of ``workflow`` with the job's prompt, size, sampling and LoRAs filled in."""
    wf = copy.deepcopy(workflow)
    sampler = wf[_one(wf, "KSampler")]["inputs"]
    latent = wf[_one(wf, "EmptyLatentImage")]["inputs"]
    ckpt = _one(wf, "CheckpointLoaderSimple")
    wf[str(sampler["positive"][0])]["inputs"]["text"] = job.prompt
    wf[str(sampler["negative"][0])]["inputs"]["text"] = job.negative_prompt
    sampler_name, schedule = SAMPLERS.get(job.scheduler, SAMPLERS["euler"])
    sampler.update(
        seed=job.seed,
        steps=job.steps,
        cfg=job.guidance,
        sampler_name=sampler_name,
        scheduler=schedule,
    )
    latent.update(width=job.width, height=job.height, batch_size=1)
    model, clip = [ckpt, 0], [ckpt, 1]
    for i, (lora, name) in enumerate(zip(job.loras, lora_names, strict=True)):
        node_id = f"animagent_lora_{i}"
        wf[node_id] = {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": name,
                "strength_model": lora.weight,
                "strength_clip": lora.weight,
                "model": model,
                "clip": clip,
            },
        }
        model, clip = [node_id, 0], [node_id, 1]
    if job.loras:
        for node_id, node in wf.items():
            if node_id.startswith("animagent_lora_"):
                continue
            for key, value in node["inputs"].items():
                if value == [ckpt, 0]:
                    node["inputs"][key] = model
                elif value == [ckpt, 1]:
                    node["inputs"][key] = clip
    return wf


class ComfyClient:
    """One ComfyUI server."""

    def __init__(self, url: str, timeout_s: float = 600.0, poll_s: float = 0.25) -> None:
        """Talk to the server at ``url`` (e.g. http://127.0.0.1:8188)."""
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.poll_s = poll_s

    def _client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def _down(self, exc: Exception) -> ComfyError:
        return ComfyError(
            f"ComfyUI at {self.url} is not reachable ({type(exc).__name__}): start it or fix "
            "ANIMAGENT_IMAGE__COMFYUI_URL"
        )

    def problem(self) -> str | None:
        """None when the server answers ``/system_stats``; else what is wrong."""
        try:
            with self._client(self.timeout_s) as client:
                reply = client.get("/system_stats")
        except httpx.HTTPError as exc:
            return str(self._down(exc))
        if reply.status_code != 200:
            return f"ComfyUI at {self.url} answered /system_stats with {reply.status_code}"
        return None

    def generate(self, workflow: dict[str, Any], job: ImageJob) -> bytes:
        """Queue the filled workflow, wait for it, and return the first output image's bytes."""
        wf = fill(workflow, job, [Path(lo.path).name for lo in job.loras])
        try:
            with self._client() as client:
                reply = client.post("/prompt", json={"prompt": wf, "client_id": uuid.uuid4().hex})
                if reply.status_code != 200:
                    raise ComfyError(
                        f"ComfyUI refused the workflow ({reply.status_code}): {_why(reply)}"
                    )
                prompt_id = str(reply.json()["prompt_id"])
                entry = self._wait(client, prompt_id)
                for output in entry.get("outputs", {}).values():
                    for image in output.get("images", []):
                        got = client.get(
                            "/view",
                            params={
                                "filename": image["filename"],
                                "subfolder": image.get("subfolder", ""),
                                "type": image.get("type", "output"),
                            },
                        )
                        if got.status_code != 200:
                            raise ComfyError(f"ComfyUI /view answered {got.status_code}")
                        return got.content
        except httpx.HTTPError as exc:
            raise self._down(exc) from exc
        except (KeyError, ValueError) as exc:
            raise ComfyError(f"ComfyUI answered something unexpected: {exc}") from exc
        raise ComfyError("ComfyUI ran the workflow but it produced no image (no SaveImage node?)")

    def _wait(self, client: httpx.Client, prompt_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            reply = client.get(f"/history/{prompt_id}")
            if reply.status_code == 200:
                entry = reply.json().get(prompt_id)
                if entry:
                    status = entry.get("status") or {}
                    if status.get("status_str") == "error":
                        messages = [
                            m for m in status.get("messages", []) if m[0] == "execution_error"
                        ]
                        detail = messages[0][1].get("exception_message", "") if messages else ""
                        raise ComfyError(f"ComfyUI failed to run the workflow: {detail}".strip())
                    if status.get("completed", True):
                        return dict(entry)
            time.sleep(self.poll_s)
        raise ComfyError(
            f"ComfyUI did not finish within {self.timeout_s:.0f}s "
            "(ANIMAGENT_IMAGE__COMFYUI_TIMEOUT_S)"
        )

    def free(self) -> None:
        """Ask the server to unload its models and free memory (never raises)."""
        try:
            with self._client(10.0) as client:
                client.post("/free", json={"unload_models": True, "free_memory": True})
        except httpx.HTTPError:
            pass  # a server that is gone holds no memory we could free


class ComfyResident:
    """The server's models as one resident unit: unloading it asks the server to free memory."""

    def __init__(self, client: ComfyClient) -> None:
        """Wrap ``client``."""
        self.client = client
        self.source = client.url

    def release(self) -> None:
        """Called by the GPU lane's residency when the card is needed for another model."""
        self.client.free()


def _why(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:200]
    error = body.get("error", {}) if isinstance(body, dict) else {}
    message = error.get("message", "") if isinstance(error, dict) else str(error)
    nodes = body.get("node_errors", {}) if isinstance(body, dict) else {}
    details = [
        f"{nid}: {e.get('message', '')}"
        for nid, info in nodes.items()
        for e in (info.get("errors", []) if isinstance(info, dict) else [])
    ]
    return "; ".join([message, *details])[:300]
