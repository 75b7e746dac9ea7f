"""A tiny OpenAI-compatible chat server on loopback, for tests that run the graph in a server.

The graph under ``langgraph dev`` runs in another process, where ``override_models`` cannot
reach; ``llm.provider=openai`` with ``base_url`` pointing here exercises the real provider
path in seconds. Answers: a schema-valid object for any ``json_schema`` response_format
(services.fake_llm.example_from_schema), with scripted answers for the intent (low confidence
for a vague request) and the dialogue (lines that take turns among the allowed speakers).
"""

from __future__ import annotations

import json
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

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fmt = body.get("response_format") or {}
        self.calls.append((fmt.get("json_schema") or {}).get("name", ""))
        payload = {
            "id": f"chatcmpl-{len(self.calls)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer(body)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@contextmanager
def fake_openai_server() -> Iterator[tuple[str, list[str]]]:
    """Serve on a free loopback port; yield (base_url ending in /v1, schema names asked for)."""
    handler = type("Handler", (_Handler,), {"calls": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler.calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
