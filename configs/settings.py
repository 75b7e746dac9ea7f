"""The settings schema: every knob of animagent, loaded once.

Priority (highest first): init kwargs > environment (``ANIMAGENT_…``, nested with ``__``) >
``.env`` > ``configs/agent.yaml`` (anchored to this package, not the current directory) >
the defaults below. Unknown keys are an error that names the key, so a typo never silently
falls back to a default: that includes ``ANIMAGENT_*`` environment variables that match no
setting (``ANIMAGENT_LLM_PROVIDER``, one underscore short), which pydantic-settings would
ignore, and an ``ANIMAGENT_CONFIG`` that names a missing file. Such problems raise
``SettingsError`` with the closest real setting, and YAML syntax errors say file:line:column.
"""

from __future__ import annotations

import difflib
import os
import types
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DEFAULT_YAML = PACKAGE_DIR / "agent.yaml"
ENV_PREFIX = "ANIMAGENT_"
NON_SETTING_VARS = frozenset(
    {
        "ANIMAGENT_CONFIG",  # which YAML file to read
        "ANIMAGENT_ALLOW_MODEL_REQUESTS",  # 0 in unit tests: a real model call fails loudly
        "ANIMAGENT_TASKBENCH_DIR",  # benchmark data folders and services (benchmarks/)
        "ANIMAGENT_BFCL_DIR",
        "ANIMAGENT_BENCH_POSTGRES",
        "ANIMAGENT_REPORT_SCREENSHOT",  # where the report browser test saves its picture
    }
)
"""``ANIMAGENT_*`` variables that are read directly, not settings (so not unknown)."""


class SettingsError(ValueError):
    """The configuration cannot be read as meant; the message names the variable or file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMSettings(_Section):
    """One chat model. The same shape serves the director and every role override."""

    provider: Literal["llamacpp", "openai"] = "llamacpp"
    model: str = "smollm2-135m-instruct"
    model_path: Path | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(384, ge=16, le=32768)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    """Retries of a timeout, 429, 5xx or dropped connection (openai provider; the client backs
    off exponentially and honours Retry-After) before the run stops with a resume hint."""
    n_ctx: int = Field(8192, ge=512)
    threads: int = Field(2, ge=1)
    seed: int = 7
    structured_output: Literal["json_schema", "json_object", "prompt"] = "json_schema"
    native_tools: bool = False
    """The server returns OpenAI tool calls (``bind_tools``); otherwise function calling uses
    the constrained JSON path (services/conversation.py)."""


class RoleModels(_Section):
    """Optional per-role overrides; a role left empty uses ``llm``."""

    planner: LLMSettings | None = None
    judge: LLMSettings | None = None
    vision_judge: LLMSettings | None = None
    writer: LLMSettings | None = None


class AgentSettings(_Section):
    """Defaults for the per-run Context (each can be changed per run)."""

    quality_threshold: float = Field(0.6, ge=0.0, le=1.0)
    max_iterations: int = Field(2, ge=0, le=10)
    max_replans: int = Field(1, ge=0, le=5)
    strategy: Literal["auto", "plan_execute", "react", "cot", "tot", "reflexion"] = "auto"
    clarify_threshold: float = Field(0.45, ge=0.0, le=1.0)
    proceed_on_guess: bool = False
    approve_plan: bool = False
    web_search: bool = False
    top_k: int = Field(4, ge=1, le=50)
    tot_branches: int = Field(3, ge=2, le=6)
    tot_depth: int = Field(1, ge=1, le=3)
    max_request_chars: int = Field(4000, ge=10)
    max_steps: int = Field(12, ge=1, le=64)
    tool_timeout_s: float = Field(900.0, ge=0)
    understand_with_model: Literal["auto", "always"] = "auto"
    """Wall-clock limit of one tool call (0: none); a tool past it fails its step."""


class SovitsVoice(_Section):
    """One GPT-SoVITS voice: a reference clip, its transcript, and optional fine-tuned weights."""

    ref_audio_path: str
    prompt_text: str = ""
    prompt_lang: str = "en"
    gpt_weights: str = ""
    sovits_weights: str = ""


class VoiceSettings(_Section):
    """Voice synthesis backends."""

    backend: Literal["espeak", "gpt_sovits"] = "espeak"
    espeak_binary: str = "espeak-ng"
    espeak_voices: list[str] = ["en-us+m3", "en-us+f3", "en-gb+m4", "en-us+f2", "en-gb+f4"]
    speed_wpm: int = Field(160, ge=60, le=400)
    gpt_sovits_url: str | None = None
    text_lang: str = "en"
    gpt_sovits_voices: dict[str, SovitsVoice] = {}


class ImageSettings(_Section):
    """Image generation backends (SDXL through diffusers, or a ComfyUI server)."""

    backend: Literal["diffusers", "comfyui"] = "diffusers"
    model_path: Path | None = None
    single_file_config: Path | None = None
    device: Literal["auto", "cuda", "cpu"] = "auto"
    cpu_offload: bool = True
    controlnets: dict[str, Path] = {}
    lora_dir: Path | None = None
    comfyui_url: str | None = None
    comfyui_workflow: Path | None = None
    comfyui_timeout_s: float = Field(600.0, gt=0)
    width: int = Field(1024, ge=64, le=4096, multiple_of=8)
    height: int = Field(1024, ge=64, le=4096, multiple_of=8)
    steps: int = Field(30, ge=1, le=150)
    max_steps: int = Field(80, ge=1, le=500)
    guidance: float = Field(6.0, ge=0.0, le=30.0)
    scheduler: Literal["euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "ddim", "unipc"] = "euler"
    vram_gb: float = 10.0


class GPUSettings(_Section):
    """The single heavy-work lane."""

    vram_budget_gb: float = Field(16.0, gt=0)
    safety_margin_gb: float = Field(1.0, ge=0)
    lock_timeout_s: float = Field(3600.0, gt=0)


class CheckpointSettings(_Section):
    """Where runs are checkpointed."""

    backend: Literal["sqlite", "memory", "postgres"] = "sqlite"
    sqlite_file: str = "checkpoints.sqlite"
    postgres_url: SecretStr | None = None


class KnowledgeSettings(_Section):
    """The studio's knowledge base (Chroma)."""

    enabled: bool = True
    mode: Literal["embedded", "http"] = "embedded"
    chroma_dir: str = "chroma"
    host: str = "127.0.0.1"
    port: int = 8000
    embedding_model_path: Path | None = None
    seed_on_first_run: bool = True
    rerank: bool = False
    max_file_mb: float = Field(5.0, gt=0)
    chunk_chars: int = Field(800, ge=100)
    embedding_threads: int = Field(0, ge=0)
    min_relevance: float = Field(0.2, ge=0.0, le=1.0)
    brief_chars: int = Field(1500, ge=200)
    timeout_s: float = Field(5.0, gt=0)


class WebSettings(_Section):
    """Web search: the provider, what may be fetched, and how much is read."""

    enabled: bool = True
    """Off: the web_search tool is unavailable and the retrieve node never searches."""
    provider: Literal["duckduckgo", "searxng", "tavily"] = "duckduckgo"
    duckduckgo_url: str = "https://html.duckduckgo.com/html/"
    searxng_url: str | None = None
    tavily_url: str = "https://api.tavily.com/search"
    tavily_api_key: SecretStr | None = None
    max_results: int = Field(5, ge=1, le=20)
    max_sources: int = Field(3, ge=1, le=10)
    retries: int = Field(2, ge=0, le=5)
    backoff_s: float = Field(1.0, ge=0.0, le=30.0)
    search_timeout_s: float = Field(10.0, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(10.0, gt=0)
    page_deadline_s: float = Field(20.0, gt=0)
    max_page_mb: float = Field(3.0, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(4, ge=1, le=16)
    min_page_chars: int = Field(200, ge=0)
    prompt_chars: int = Field(6000, ge=500)
    user_agent: str = "animagent/0.1 (+https://github.com/animagent; research fetcher)"
    allowed_hosts: list[str] = []
    """Hosts that may resolve to loopback or private addresses (e.g. a local SearXNG or a
    test server); every other host must resolve to public addresses only."""
    offer_studio_answers: bool = True
    """Offer cited web answers about studio matters to the knowledge base, where they wait
    for a person (`animagent offers accept ID`); nothing is retrieved before that."""


class Settings(BaseSettings):
    """Everything configurable. See configs/agent.yaml for commented defaults."""

    model_config = SettingsConfigDict(
        env_prefix="ANIMAGENT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        yaml_file=str(DEFAULT_YAML),
    )

    outputs_dir: Path = PROJECT_DIR / "outputs"
    data_dir: Path = PROJECT_DIR / "data"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    llm: LLMSettings = LLMSettings()
    roles: RoleModels = RoleModels()
    agent: AgentSettings = AgentSettings()
    voice: VoiceSettings = VoiceSettings()
    image: ImageSettings = ImageSettings()
    gpu: GPUSettings = GPUSettings()
    checkpoint: CheckpointSettings = CheckpointSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    web: WebSettings = WebSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init > env > .env > YAML (ANIMAGENT_CONFIG may point at another YAML file)."""
        check_environment(os.environ)
        yaml_file = os.environ.get("ANIMAGENT_CONFIG") or str(DEFAULT_YAML)
        if not Path(yaml_file).expanduser().is_file():
            raise SettingsError(
                f"ANIMAGENT_CONFIG names {yaml_file}, which is not a file: fix the path or unset "
                "ANIMAGENT_CONFIG to use configs/agent.yaml."
            )
        try:
            yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file)
        except yaml.YAMLError as exc:
            raise SettingsError(yaml_problem(yaml_file, exc)) from exc
        return (init_settings, env_settings, dotenv_settings, yaml_source)

    def role(self, name: str) -> LLMSettings:
        """The model settings for a role (planner, judge, …), falling back to ``llm``."""
        override = getattr(self.roles, name, None)
        return override if isinstance(override, LLMSettings) else self.llm

    @property
    def checkpoint_path(self) -> Path:
        """The SQLite checkpoint file."""
        return self.data_dir / self.checkpoint.sqlite_file


def yaml_problem(path: str, exc: yaml.YAMLError) -> str:
    """``file:line:column: problem`` for a YAML syntax error (lines and columns from 1)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    return f"{where}: invalid YAML: {problem}" + (f" ({context})" if context else "")


def _sections(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes inside a field type (``LLMSettings | None`` -> [LLMSettings])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _sections(arg)]
    return []


def setting_names(
    model: type[BaseModel] | None = None, prefix: str = ENV_PREFIX
) -> dict[str, bool]:
    """Every environment variable name a setting answers to -> whether it takes any suffix.

    A section is itself a name (``ANIMAGENT_LLM='{"provider": "openai"}'`` is valid JSON for
    it); a dict field (``voice.gpt_sovits_voices``) takes any key below it.
    """
    names: dict[str, bool] = {}
    for field_name, info in (model or Settings).model_fields.items():
        name = f"{prefix}{field_name.upper()}"
        names[name] = get_origin(info.annotation) is dict
        for section in _sections(info.annotation):
            names.update(setting_names(section, name + "__"))
    return names


def check_environment(environ: Mapping[str, str]) -> None:
    """Raise SettingsError for ``ANIMAGENT_*`` variables that match no setting.

    pydantic-settings ignores them, so ``ANIMAGENT_LLM_PROVIDER=openai`` (one underscore)
    would silently leave the default provider in place.
    """
    known = setting_names()
    problems = []
    for raw in sorted(environ):
        key = raw.upper()
        if not key.startswith(ENV_PREFIX) or key in known or key in NON_SETTING_VARS:
            continue
        if any(key.startswith(name + "__") for name, open_ in known.items() if open_):
            continue
        guess = difflib.get_close_matches(key, [*known, *NON_SETTING_VARS], n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]}?" if guess else "no setting has that name."
        problems.append(f"{raw}: {hint}")
    if problems:
        raise SettingsError(
            "unknown ANIMAGENT_* environment variable(s): "
            + "; ".join(problems)
            + " Nested settings use a double underscore (ANIMAGENT_LLM__PROVIDER); "
            "configs/agent.yaml lists every setting."
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once (tests call ``get_settings.cache_clear()``)."""
    return Settings()
