"""The ComfyUI backend against a loopback server that speaks /prompt, /history, /view, /free."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from PIL import Image

from configs.settings import Settings, get_settings
from services import gpu as gpu_service
from services.comfyui import ComfyError, fill, load_workflow
from services.diffusion import ImageJob, ImageJobError, LoraSpec
from tools.image import generate_image, probe_image
from tools.registry import ToolContext


class FakeComfy:
    """What a ComfyUI server does with an API workflow: run it (a coloured PNG) and keep it."""

    def __init__(self) -> None:
        self.workflows: list[dict[str, Any]] = []
        self.frees: list[dict[str, Any]] = []
        self.history_polls = 0
        self.refuse = False
        self.fail_run = False
        self.images: dict[str, bytes] = {}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/system_stats":
                    self._json(200, {"system": {"os": "posix"}, "devices": []})
                elif url.path.startswith("/history/"):
                    fake.history_polls += 1
                    pid = url.path.rsplit("/", 1)[1]
                    if fake.history_polls == 1:
                        self._json(200, {})  # still running: the client must poll again
                    elif fake.fail_run:
                        msg = ["execution_error", {"exception_message": "CUDA out of memory"}]
                        self._json(
                            200,
                            {
                                pid: {
                                    "status": {
                                        "status_str": "error",
                                        "completed": False,
                                        "messages": [msg],
                                    },
                                    "outputs": {},
                                }
                            },
                        )
                    else:
                        out = {
                            "9": {
                                "images": [
                                    {"filename": f"{pid}.png", "subfolder": "", "type": "output"}
                                ]
                            }
                        }
                        self._json(
                            200,
                            {
                                pid: {
                                    "status": {"status_str": "success", "completed": True},
                                    "outputs": out,
                                }
                            },
                        )
                elif url.path == "/view":
                    name = parse_qs(url.query)["filename"][0]
                    data = fake.images[name]
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                else:
                    self._json(404, {})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                if self.path == "/free":
                    fake.frees.append(body)
                    self._json(200, {})
                    return
                if fake.refuse:
                    self._json(
                        400,
                        {
                            "error": {"message": "Prompt outputs failed validation"},
                            "node_errors": {
                                "4": {"errors": [{"message": "Value not in list: ckpt_name"}]}
                            },
                        },
                    )
                    return
                wf = body["prompt"]
                fake.workflows.append(wf)
                latent = next(n for n in wf.values() if n["class_type"] == "EmptyLatentImage")[
                    "inputs"
                ]
                pid = f"p{len(fake.workflows)}"
                buf = io.BytesIO()
                Image.effect_noise((latent["width"], latent["height"]), 60).convert("RGB").save(
                    buf, "PNG"
                )
                fake.images[f"{pid}.png"] = buf.getvalue()
                self._json(200, {"prompt_id": pid, "number": 1, "node_errors": {}})

        return Handler


@pytest.fixture
def comfy(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeComfy, Settings]]:
    fake = FakeComfy()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ANIMAGENT_IMAGE__BACKEND", "comfyui")
    monkeypatch.setenv("ANIMAGENT_IMAGE__COMFYUI_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("ANIMAGENT_KNOWLEDGE__ENABLED", "false")
    get_settings.cache_clear()
    monkeypatch.setattr(gpu_service, "_RESIDENCY", None)
    try:
        yield fake, get_settings()
    finally:
        server.shutdown()
        server.server_close()


def test_workflow_is_filled_with_prompt_size_sampling_and_lora_chain(tmp_path: Path) -> None:
    job = ImageJob(
        prompt="Giulia on her bike",
        negative_prompt="blurry",
        width=832,
        height=1216,
        steps=25,
        guidance=5.5,
        seed=42,
        scheduler="dpmpp_2m_karras",
        loras=(
            LoraSpec(tmp_path / "giulia.safetensors", "giulia", 0.7),
            LoraSpec(tmp_path / "bike.safetensors", "bike", 0.4),
        ),
    )
    base = load_workflow(None)
    wf = fill(base, job, ["giulia.safetensors", "bike.safetensors"])
    assert (
        wf["6"]["inputs"]["text"] == "Giulia on her bike" and wf["7"]["inputs"]["text"] == "blurry"
    )
    assert wf["5"]["inputs"] == {"width": 832, "height": 1216, "batch_size": 1}
    k = wf["3"]["inputs"]
    assert (k["seed"], k["steps"], k["cfg"], k["sampler_name"], k["scheduler"]) == (
        42,
        25,
        5.5,
        "dpmpp_2m",
        "karras",
    )
    first, second = wf["animagent_lora_0"]["inputs"], wf["animagent_lora_1"]["inputs"]
    assert (
        first["model"] == ["4", 0]
        and first["lora_name"] == "giulia.safetensors"
        and first["strength_model"] == 0.7
    )
    assert second["model"] == ["animagent_lora_0", 0] and second["clip"] == ["animagent_lora_0", 1]
    assert k["model"] == ["animagent_lora_1", 0] and wf["6"]["inputs"]["clip"] == [
        "animagent_lora_1",
        1,
    ]
    assert wf["8"]["inputs"]["vae"] == ["4", 2]  # the VAE still comes from the checkpoint
    assert base["3"]["inputs"]["model"] == ["4", 0]  # the loaded workflow is not modified


def test_image_through_comfyui_polls_fetches_and_frees(
    comfy: tuple[FakeComfy, Settings], tmp_path: Path
) -> None:
    fake, settings = comfy
    assert probe_image(settings).ok
    ctx = ToolContext(run_dir=tmp_path / "run", step_id="img", settings=settings)
    out = generate_image("Portorosso at dawn", width=128, height=96, steps=4, seed=7, ctx=ctx)
    assert fake.history_polls >= 2 and len(fake.workflows) == 1
    assert fake.workflows[0]["3"]["inputs"]["seed"] == 7
    with Image.open(tmp_path / "run" / out["image"]) as img:
        assert img.size == (128, 96)
        assert json.loads(img.text["animagent"])["backend"] == "comfyui"
    assert out["quality"]["size_ok"] and out["quality"]["decodes"]
    residency = gpu_service.get_residency(settings)
    assert residency.resident() == ["sdxl"]
    residency.free_all()  # the lane hands the card to another model
    assert fake.frees == [{"unload_models": True, "free_memory": True}]


def test_comfyui_errors_are_clear(comfy: tuple[FakeComfy, Settings], tmp_path: Path) -> None:
    fake, settings = comfy
    ctx = ToolContext(run_dir=tmp_path / "run", step_id="img", settings=settings)
    fake.refuse = True
    with pytest.raises(ComfyError, match="refused the workflow.*ckpt_name"):
        generate_image("x", width=64, height=64, ctx=ctx)
    fake.refuse, fake.fail_run = False, True
    with pytest.raises(ComfyError, match="failed to run the workflow: CUDA out of memory"):
        generate_image("x", width=64, height=64, ctx=ctx)
    with pytest.raises(ImageJobError, match="multiple of 8"):
        generate_image("x", width=70, ctx=ctx)


def test_comfyui_down_is_reported_by_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # held, never listening: nothing answers
        settings = Settings(image={"backend": "comfyui", "comfyui_url": f"http://127.0.0.1:{port}"})  # type: ignore[arg-type]
        avail = probe_image(settings)
    assert not avail.ok and "not reachable" in avail.reason and "COMFYUI_URL" in avail.reason
