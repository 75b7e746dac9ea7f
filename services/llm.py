"""Chat-model factory: every model the nodes and tools use is built here from the settings.

Providers dispatch with ``match`` and import lazily. Both providers are langchain-openai's
``ChatOpenAI``; the embedded one reaches llama.cpp through an in-process transport.
Unit tests install a fake with ``override_models`` and forbid real calls with
``ANIMAGENT_ALLOW_MODEL_REQUESTS=0`` (an accidental real call then fails loudly).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import LLMResult

from configs.settings import LLMSettings, Settings, get_settings

EMBEDDED_BASE_URL = "http://embedded.animagent.invalid/v1"


class LLMUnavailableError(RuntimeError):
    """The configured model cannot be reached or loaded; the message names the fix."""


class ModelRequestsForbiddenError(RuntimeError):
    """A real model was requested where only fakes are allowed (unit tests)."""


@dataclass
class UsageStats:
    """Process-wide LLM call and token counters (for reports and benchmarks)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def snapshot(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


USAGE = UsageStats()
_USAGE_LOCK = threading.Lock()


class UsageCounter(BaseCallbackHandler):
    """Counts every chat-model call and its tokens into ``USAGE``."""

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Add one call and its token usage."""
        prompt = completion = 0
        for generations in response.generations:
            for gen in generations:
                usage = getattr(getattr(gen, "message", None), "usage_metadata", None) or {}
                prompt += int(usage.get("input_tokens", 0))
                completion += int(usage.get("output_tokens", 0))
        _add(prompt, completion)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        """Count a call that failed after the model answered (e.g. a reply cut at max_tokens).

        openai's ``LengthFinishReasonError`` carries the completion and its usage: the tokens
        were spent even though no result came back, so they count.
        """
        usage = getattr(getattr(error, "completion", None), "usage", None)
        _add(
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        )


def _add(prompt: int, completion: int) -> None:
    with _USAGE_LOCK:
        USAGE.calls += 1
        USAGE.prompt_tokens += prompt
        USAGE.completion_tokens += completion


_COUNTER = UsageCounter()
_OVERRIDE: BaseChatModel | None = None
_CACHE: dict[str, BaseChatModel] = {}
_CACHE_LOCK = threading.Lock()


def model_requests_allowed() -> bool:
    """False when the environment forbids real model calls (unit tests)."""
    return os.environ.get("ANIMAGENT_ALLOW_MODEL_REQUESTS", "1").lower() not in {"0", "false"}


@contextmanager
def override_models(model: BaseChatModel) -> Iterator[BaseChatModel]:
    """Use ``model`` for every role while the block runs (tests, benchmarks)."""
    global _OVERRIDE
    if not model.callbacks:  # fakes are counted like real models (calls per run in reports)
        model.callbacks = [_COUNTER]
    previous, _OVERRIDE = _OVERRIDE, model
    try:
        yield model
    finally:
        _OVERRIDE = previous


def get_chat_model(role: str = "director", settings: Settings | None = None) -> BaseChatModel:
    """The chat model for a role (director, planner, judge, vision_judge, writer)."""
    if _OVERRIDE is not None:
        return _OVERRIDE
    if not model_requests_allowed():
        raise ModelRequestsForbiddenError(
            f"A real LLM was requested for role {role!r} while ANIMAGENT_ALLOW_MODEL_REQUESTS=0: "
            "unit tests must use services.llm.override_models(FakeChatModel(...))."
        )
    cfg = (settings or get_settings()).role(role)
    key = cfg.model_dump_json()
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = build_chat_model(cfg)
        return _CACHE[key]


def build_chat_model(cfg: LLMSettings) -> BaseChatModel:
    """Build a chat model from one LLM settings block."""
    from langchain_openai import ChatOpenAI

    common: dict[str, Any] = {
        "model": cfg.model,
        "temperature": cfg.temperature,
        "max_tokens": cfg.max_tokens,
        "timeout": cfg.timeout_s,
        "seed": cfg.seed,
        "callbacks": [_COUNTER],
    }
    match cfg.provider:
        case "llamacpp":
            import httpx2

            from services.embedded_llm import (
                AsyncEmbeddedTransport,
                EmbeddedTransport,
                ModelFileError,
                get_engine,
                resolve_model_path,
            )

            try:
                path = resolve_model_path(cfg.model_path)
                engine = get_engine(path, n_ctx=cfg.n_ctx, threads=cfg.threads, seed=cfg.seed)
            except ModelFileError as exc:
                raise LLMUnavailableError(str(exc)) from exc
            except Exception as exc:  # llama.cpp refuses a corrupt or foreign file
                raise LLMUnavailableError(
                    f"llama.cpp could not load {cfg.model_path or 'the packaged model'}: {exc}. "
                    "Point ANIMAGENT_LLM__MODEL_PATH at a valid .gguf file."
                ) from exc
            return ChatOpenAI(
                base_url=EMBEDDED_BASE_URL,
                api_key="embedded",
                max_retries=0,
                http_client=httpx2.Client(transport=EmbeddedTransport(engine)),
                http_async_client=httpx2.AsyncClient(transport=AsyncEmbeddedTransport(engine)),
                **common,
            )
        case "openai":
            if not cfg.base_url and not cfg.api_key:
                raise LLMUnavailableError(
                    "llm.provider is 'openai' but neither base_url nor api_key is set: set "
                    "ANIMAGENT_LLM__BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) or "
                    "ANIMAGENT_LLM__API_KEY."
                )
            key = cfg.api_key.get_secret_value() if cfg.api_key else "not-needed"
            return ChatOpenAI(
                base_url=cfg.base_url,
                api_key=key,
                max_retries=cfg.max_retries,
                **common,
            )
    raise LLMUnavailableError(f"Unknown llm.provider {cfg.provider!r}: use llamacpp or openai.")


def describe(cfg: LLMSettings) -> str:
    """A one-line description of a model configuration for reports."""
    if cfg.provider == "llamacpp":
        return f"llamacpp (in-process) {cfg.model_path or 'packaged SmolLM2-135M-Instruct Q4_1'}"
    return f"openai-compatible {cfg.model} at {cfg.base_url or 'api.openai.com'}"


def check_reachable(role: str = "director", settings: Settings | None = None) -> str:
    """Make one tiny call; return the model's name or raise LLMUnavailableError with the fix."""
    import openai

    cfg = (settings or get_settings()).role(role)
    model = get_chat_model(role, settings)
    try:
        model.invoke("Say OK.", max_tokens=2)
    except openai.APIConnectionError as exc:
        raise LLMUnavailableError(
            f"Cannot reach the LLM server at {cfg.base_url}: {exc}. Start the server, fix "
            "ANIMAGENT_LLM__BASE_URL, or use the embedded model (ANIMAGENT_LLM__PROVIDER=llamacpp)."
        ) from exc
    except openai.APIStatusError as exc:
        raise LLMUnavailableError(
            f"The LLM server at {cfg.base_url} answered HTTP {exc.status_code}: {exc.message}. "
            "Check ANIMAGENT_LLM__MODEL and ANIMAGENT_LLM__API_KEY."
        ) from exc
    return describe(cfg)
