"""The vision judge against a loopback OpenAI-compatible server that takes image content."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from configs.settings import LLMSettings, Settings, get_settings
from nodes.evaluate import judge_step
from services import image_checks
from services.vision import judge_image, parse_answer
from state import StepResult


class FakeVision:
    """Answers chat completions; records the image it was shown."""

    def __init__(self) -> None:
        self.answer = '{"score": 0.9, "reasons": ["Giulia and the bike are there"]}'
        self.images: list[tuple[int, int]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                parts = body["messages"][-1]["content"]
                urls = [p["image_url"]["url"] for p in parts if p.get("type") == "image_url"]
                if not urls or not urls[0].startswith("data:image/png;base64,"):
                    self.send_response(400)
                    self.end_headers()
                    return
                raw = base64.b64decode(urls[0].split(",", 1)[1])
                with Image.open(io.BytesIO(raw)) as img:
                    fake.images.append(img.size)
                reply = {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": fake.answer},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def vision(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeVision, LLMSettings]]:
    fake = FakeVision()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = LLMSettings(
        provider="openai",
        model="qwen2.5-vl",
        base_url=f"http://127.0.0.1:{server.server_port}/v1",
        timeout_s=10,
    )
    monkeypatch.setenv("ANIMAGENT_ROLES__VISION_JUDGE", cfg.model_dump_json())
    get_settings.cache_clear()
    try:
        yield fake, cfg
    finally:
        server.shutdown()
        server.server_close()


def _image(run: Path, name: str = "images/s1_a1.png", noise: bool = True) -> dict[str, Any]:
    path = run / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (
        Image.effect_noise((64, 48), 50).convert("RGB")
        if noise
        else Image.new("RGB", (64, 48), "grey")
    ).save(path)
    quality = image_checks.measure(path, 64, 48, [])
    return {
        "image": name,
        "prompt": "Giulia riding her bike",
        "width": 64,
        "height": 48,
        "quality": quality,
    }


def _result(output: dict[str, Any]) -> StepResult:
    return StepResult(
        step_id="s1",
        tool="generate_image",
        status="done",
        attempt=1,
        args={"prompt": "Giulia"},
        output=output,
    )


def test_vision_judge_sees_the_image_and_scores_it(
    vision: tuple[FakeVision, LLMSettings], tmp_path: Path
) -> None:
    fake, cfg = vision
    out = _image(tmp_path)
    verdict = judge_image(tmp_path / out["image"], "Giulia on her bike", out["prompt"], cfg)
    assert verdict.judged and verdict.score == 0.9 and fake.images == [(64, 48)]
    evaluation, _ = judge_step(_result(out), "Giulia on her bike", 0.6, run_dir=tmp_path)
    assert evaluation.passed and evaluation.judged
    assert evaluation.score == pytest.approx(0.5 * 1.0 + 0.5 * 0.9, abs=0.06)
    assert "Giulia and the bike are there" in evaluation.reasons
    fake.answer = '{"score": 0.1, "reasons": ["no bike, a cat instead"]}'
    low, _ = judge_step(_result(out), "Giulia on her bike", 0.6, run_dir=tmp_path)
    assert not low.passed and "no bike, a cat instead" in low.reasons


def test_garbage_answer_leaves_the_image_unjudged(
    vision: tuple[FakeVision, LLMSettings], tmp_path: Path
) -> None:
    fake, _ = vision
    fake.answer = "What a lovely picture! 10/10 would watch."
    out = _image(tmp_path)
    evaluation, _ = judge_step(_result(out), "Giulia on her bike", 0.6, run_dir=tmp_path)
    assert not evaluation.judged
    assert any("no usable score" in r for r in evaluation.reasons)
    assert evaluation.score == 1.0  # the measurable checks all pass: they are the score


def test_without_a_vision_judge_measurable_checks_score(tmp_path: Path) -> None:
    assert get_settings().roles.vision_judge is None
    blank = _image(tmp_path, noise=False)
    evaluation, _ = judge_step(_result(blank), "Giulia", 0.6, run_dir=tmp_path)
    assert not evaluation.passed and "check failed: not_blank" in evaluation.reasons
    with socket.socket() as sock:  # a held port nothing listens on: the server is down
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        down = LLMSettings(provider="openai", model="m", base_url=url, timeout_s=2)
        verdict = judge_image(tmp_path / blank["image"], "g", "p", down)
    assert not verdict.judged and "roles.vision_judge" in verdict.reasons[0]


def test_answer_parsing() -> None:
    assert parse_answer('Sure! {"score": 0.5, "reasons": []} ok') is not None
    assert parse_answer('{"score": 7}') is None and parse_answer("nope") is None
    assert Settings().roles.vision_judge is None
