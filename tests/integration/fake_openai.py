"""A tiny OpenAI-compatible chat server on loopback, for tests that run the graph in a server.

The graph under ``langgraph dev`` runs in another process, where ``override_models`` cannot
reach; ``llm.provider=openai`` with ``base_url`` pointing here exercises the real provider
path in seconds. Answers: a schema-valid object for any ``json_schema`` response_format
(services.fake_llm.example_from_schema), with scripted answers for the intent (low confidence
for a vague request) and the dialogue (lines that take turns among the allowed speakers).

``faults`` makes the server misbehave on purpose (the fault matrix): each entry is a mode for
one request, consumed in order, then the server answers normally. Modes: ``500`` / ``503`` /
``429`` (that HTTP status with an OpenAI-style error body), ``not_json`` (HTTP 200 with an HTML
body), ``slow`` (answers after ``slow_s`` seconds, past the client's timeout), ``reset`` (closes
the connection without answering), ``echo`` (returns the JSON schema it was asked to fill).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.fake_llm import example_from_schema

VAGUE = {"hmm"}


def _intent(user_text: str) -> dict[str, Any]:
    if user_text.strip().lower() in VAGUE:
        return {
            "goal": "unclear",
            "deliverables": [],
            "characters": [],
            "setting": "",
            "mood": "",
            "needs_web": False,
            "confidence": 0.0,
            "question": "What should I make, and with which characters?",
        }
    return {
        "goal": "Luca and Alberto talk on the beach at sunset",
        "deliverables": ["dialogue", "voice", "scene"],
        "characters": ["Luca", "Alberto"],
        "setting": "on the beach at sunset",
        "mood": "warm",
        "needs_web": False,
        "confidence": 0.9,
        "question": "",
    }


def _dialogue(schema: dict[str, Any]) -> dict[str, Any]:
    line = schema.get("$defs", {}).get("Line", {})
    speakers = line.get("properties", {}).get("character", {}).get("enum") or ["Narrator"]
    texts = [
        "The sun is going down over the water.",
        "Race you to the rocks before it is gone!",
        "You always say that, and you always lose.",
        "Not tonight. Tonight the sea is on my side.",
    ]
    return {
        "title": "Sunset race",
        "lines": [
            {"character": speakers[i % len(speakers)], "text": t} for i, t in enumerate(texts)
        ],
    }


def answer(body: dict[str, Any]) -> str:
    """The assistant message content for one chat completions request."""
    fmt = body.get("response_format") or {}
    spec = fmt.get("json_schema") or {}
    name, schema = spec.get("name", ""), spec.get("schema", {})
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    user_text = str(users[-1].get("content", "")) if users else ""
    if name == "IntentDraft":
        return json.dumps(_intent(user_text))
    if name == "Dialogue":
        return json.dumps(_dialogue(schema))
    if name == "Judgement":
        return json.dumps({"score": 0.9, "reasons": ["clear and on topic"]})
    if schema:
        return json.dumps(example_from_schema(schema, schema))
    return "OK"


class _Handler(BaseHTTPRequestHandler):
    calls: list[str] = []
    faults: list[str] = []
    slow_s: float = 3.0

    def _send(self, status: int, data: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, mode: str, body: dict[str, Any]) -> bool:
        """Misbehave as ``mode`` says; False when ``mode`` means "answer, but wrongly"."""
        if mode in {"500", "503", "429"}:
            error = {"error": {"message": f"injected {mode}", "type": "server_error"}}
            self._send(int(mode), json.dumps(error).encode())
        elif mode == "not_json":
            self._send(200, b"<html><body>502 Bad Gateway</body></html>", "application/json")
        elif mode == "slow":
            time.sleep(self.slow_s)
            return False
        elif mode == "reset":
            # SO_LINGER 0: close() sends RST, the client sees "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        else:
            return False
        return True

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fmt = body.get("response_format") or {}
        self.calls.append((fmt.get("json_schema") or {}).get("name", ""))
        mode = self.faults.pop(0) if self.faults else ""
        if mode and self._fault(mode, body):
            return
        content = answer(body)
        if mode == "echo":  # a small model that repeats the schema instead of filling it
            content = json.dumps((fmt.get("json_schema") or {}).get("schema", {}))
        payload = {
            "id": f"chatcmpl-{len(self.calls)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        try:
            self._send(200, json.dumps(payload).encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout) before a slow answer came

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@contextmanager
def fake_openai_server(
    faults: list[str] | None = None, slow_s: float = 3.0
) -> Iterator[tuple[str, list[str]]]:
    """Serve on a free loopback port; yield (base_url ending in /v1, schema names asked for).

    The port is chosen by the kernel and held by the server for the whole block (never picked,
    released and re-bound). ``faults``: see the module docstring.
    """
    handler = type(
        "Handler", (_Handler,), {"calls": [], "faults": list(faults or []), "slow_s": slow_s}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler.calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
