"""The GPT-SoVITS backend against a local server that speaks the api_v2 protocol."""

import io
import json
import math
import struct
import threading
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from configs.settings import get_settings
from tools.registry import ToolContext
from tools.voice import probe_voice, synthesize_voice


def _wav(seconds: float) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(32000)
        frames = int(32000 * seconds)
        w.writeframes(
            b"".join(struct.pack("<h", int(8000 * math.sin(i / 10))) for i in range(frames))
        )
    return buf.getvalue()


class _Api(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict[str, object]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes, kind: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.calls.append((url.path, params))
        if url.path in ("/set_gpt_weights", "/set_sovits_weights"):
            if not params.get("weights_path", "").endswith((".ckpt", ".pth")):
                self._send(400, b'{"message": "change weights failed"}', "application/json")
                return
            self._send(200, b'"success"', "application/json")
            return
        self._send(404, b'{"detail": "Not Found"}', "application/json")

    def do_POST(self) -> None:  # noqa: N802
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append((self.path, req))
        for field in ("ref_audio_path", "text", "text_lang", "prompt_lang"):
            if not req.get(field):
                self._send(
                    400,
                    json.dumps({"message": f"{field} is required"}).encode(),
                    "application/json",
                )
                return
        self._send(200, _wav(0.2 + 0.05 * len(req["text"].split())), "audio/wav")


@pytest.fixture
def server() -> Iterator[str]:
    _Api.calls = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _configure(monkeypatch: pytest.MonkeyPatch, url: str, voices: dict[str, object]) -> None:
    monkeypatch.setenv("ANIMAGENT_VOICE__BACKEND", "gpt_sovits")
    monkeypatch.setenv("ANIMAGENT_VOICE__GPT_SOVITS_URL", url)
    monkeypatch.setenv("ANIMAGENT_VOICE__GPT_SOVITS_VOICES", json.dumps(voices))
    get_settings.cache_clear()


def test_lines_spoken_with_per_character_weights(
    server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _configure(
        monkeypatch,
        server,
        {
            "Luca": {
                "ref_audio_path": "/refs/luca.wav",
                "prompt_text": "hi",
                "gpt_weights": "/w/luca.ckpt",
                "sovits_weights": "/w/luca.pth",
            },
            "default": {"ref_audio_path": "/refs/any.wav"},
        },
    )
    assert probe_voice(get_settings()).ok
    lines = [
        {"character": "Luca", "text": "Look at the sea."},
        {"character": "Luca", "text": "Again, the sea."},
        {"character": "Alberto", "text": "Race you there!"},
    ]
    out = synthesize_voice(lines, ctx=ToolContext(run_dir=tmp_path))
    assert [c["voice"] for c in out["clips"]] == ["luca", "luca", "any"]
    assert all(c["seconds"] > 0.2 for c in out["clips"])
    paths = [p for p, _ in _Api.calls]
    # weights are server-global: set once for Luca, not again for his second line
    assert paths.count("/set_gpt_weights") == 1 and paths.count("/set_sovits_weights") == 1
    tts = [body for p, body in _Api.calls if p == "/tts"]
    assert tts[0]["ref_audio_path"] == "/refs/luca.wav" and tts[0]["text_lang"] == "en"


def test_server_errors_and_missing_voice_are_explained(
    server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _configure(
        monkeypatch, server, {"Luca": {"ref_audio_path": "/refs/luca.wav", "gpt_weights": "bad"}}
    )
    with pytest.raises(RuntimeError, match="refused gpt weights bad"):
        synthesize_voice([{"character": "Luca", "text": "Hi."}], ctx=ToolContext(run_dir=tmp_path))
    with pytest.raises(Exception, match="gpt_sovits_voices.Mia"):
        synthesize_voice([{"character": "Mia", "text": "Hi."}], ctx=ToolContext(run_dir=tmp_path))


def test_unreachable_server_makes_the_tool_unavailable(
    monkeypatch: pytest.MonkeyPatch, refused_url: str
) -> None:
    _configure(monkeypatch, refused_url, {})
    avail = probe_voice(get_settings())
    assert not avail.ok and "unreachable" in avail.reason
