"""One registry of tools: typed functions plus what the planner and the GPU lane need to know.

A tool is a plain function with type hints and a Google docstring; langchain-core turns it into
a ``StructuredTool`` (argument schema from the hints, descriptions from the docstring). The
infrastructure argument ``ctx`` is hidden from the model (``InjectedToolArg``). Extra tools
come from plugins: any installed distribution exposing an ``animagent.tools`` entry point
(a callable that receives the registry), so the core never imports a plugin.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from langchain_core.tools import StructuredTool
from langchain_core.tools import tool as lc_tool
from pydantic import ValidationError

from configs.settings import Settings, get_settings
from services.outputs import inside
from services.timeouts import call_with_timeout


class ToolUnavailableError(RuntimeError):
    """A tool cannot run with the current configuration; the message names the fix."""


class ToolArgumentError(ValueError):
    """Arguments do not match the tool's schema."""


@dataclass(frozen=True)
class Availability:
    """Whether a tool can run here, and if not, what to configure."""

    ok: bool
    reason: str = ""


def always_available(settings: Settings) -> Availability:
    """The probe of a tool with no external needs."""
    return Availability(True)


@dataclass
class ToolContext:
    """What a running tool may use besides its arguments (never shown to the model)."""

    run_dir: Path
    step_id: str = "step"
    attempt: int = 1
    settings: Settings = field(default_factory=get_settings)
    brief: str = ""
    progress: Callable[[float, str], None] = lambda fraction, message: None

    def path(self, name: str) -> Path:
        """A path inside the run folder for a file this step writes (``services.outputs.inside``).

        Raises:
            UnsafePathError: ``name`` would lead outside the run folder.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return inside(self.run_dir, name)


@dataclass
class ToolSpec:
    """A registered tool and its operational facts."""

    tool: StructuredTool
    category: str
    heavy: bool = False
    vram_gb: float = 0.0
    est_seconds: float = 1.0
    model: str = ""
    outputs: tuple[str, ...] = ()
    probe: Callable[[Settings], Availability] = always_available
    check: Callable[[dict[str, Any], dict[str, Any]], dict[str, bool]] | None = None
    """Deterministic quality checks: (args, output) -> {check name: passed}."""
    improve: Callable[[dict[str, Any], list[str]], dict[str, Any]] | None = None
    """Better arguments for a retry: (args, reasons it fell short) -> new args."""
    judged: bool = True
    """Whether the text LLM judge can read this tool's output. Media (audio, images) is scored
    by its checks alone: a text judge shown a file name would only add noise (ADR 0008)."""
    consumes: dict[str, str] = field(default_factory=dict)
    """Argument name -> data type it takes (e.g. ``{"lines": "dialogue"}``); the planner links
    each such argument to an earlier step that produces that type."""
    produces: dict[str, str] = field(default_factory=dict)
    """Output field -> data type it holds (e.g. ``{"clips": "audio"}``)."""
    makes: str = ""
    """The deliverable this tool makes for the person (dialogue, voice, image, scene, answer,
    or a plugin's own kind); empty for helper tools."""
    hints: tuple[str, ...] = ()
    """Short "when to use" phrases the planner matches against the request."""
    topics: tuple[str, ...] = ()
    """Names of the techniques, models and programs this tool works with (a model family, a
    conditioning method, a speech engine). A web answer to a question that names one is about
    the studio's own craft and is offered to the knowledge base (services/web_offers.py)."""

    @property
    def name(self) -> str:
        """The tool's name (the function name)."""
        return self.tool.name

    @property
    def description(self) -> str:
        """What the model reads: the docstring's summary."""
        return self.tool.description

    def arg_schema(self) -> dict[str, Any]:
        """The JSON schema of the model-visible arguments."""
        return self.tool.tool_call_schema.model_json_schema()  # type: ignore[union-attr]

    def validate(self, args: dict[str, Any]) -> dict[str, Any]:
        """Validate and normalize model-visible arguments; raise ToolArgumentError."""
        schema = self.tool.tool_call_schema
        try:
            model = schema.model_validate(args)  # type: ignore[union-attr]
        except ValidationError as exc:
            raise ToolArgumentError(f"{self.name}: {exc.errors(include_url=False)}") from exc
        return dict(model.model_dump(exclude_unset=False))

    def availability(self, settings: Settings | None = None) -> Availability:
        """Probe without raising."""
        try:
            return self.probe(settings or get_settings())
        except Exception as exc:  # a probe must never break planning
            return Availability(False, f"probe failed: {exc}")

    def run(self, args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """Run with validated arguments; the tool returns a JSON-able dict.

        Raises:
            ToolTimeoutError: The call ran past ``agent.tool_timeout_s``.
        """
        func = self.tool.func
        assert func is not None
        limit = ctx.settings.agent.tool_timeout_s
        result = call_with_timeout(lambda: func(**args, ctx=ctx), limit, f"tool {self.name}")
        return dict(result)


class ToolRegistry:
    """Name -> ToolSpec, with availability filtering for the planner."""

    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        """Start with ``specs``."""
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ToolSpec) -> ToolSpec:
        """Register (or replace) a tool."""
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> ToolSpec | None:
        """The tool named ``name``, if registered."""
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        """Whether a tool of that name is registered."""
        return name in self._specs

    def all(self) -> list[ToolSpec]:
        """Every registered tool, by name."""
        return [self._specs[k] for k in sorted(self._specs)]

    def available(self, settings: Settings | None = None) -> list[ToolSpec]:
        """The tools that can run here (the only ones the planner sees)."""
        return [s for s in self.all() if s.availability(settings).ok]

    def can_feed(self, source: str, target: str) -> bool:
        """Whether ``source``'s output can feed one of ``target``'s typed inputs."""
        src, dst = self.get(source), self.get(target)
        if src is None or dst is None:
            return False
        return bool(set(src.produces.values()) & set(dst.consumes.values()))

    def unavailable(self, settings: Settings | None = None) -> dict[str, str]:
        """Tool name -> why it cannot run."""
        out = {}
        for spec in self.all():
            avail = spec.availability(settings)
            if not avail.ok:
                out[spec.name] = avail.reason
        return out


def make_spec(
    func: Callable[..., dict[str, Any]],
    *,
    category: str,
    heavy: bool = False,
    vram_gb: float = 0.0,
    est_seconds: float = 1.0,
    model: str = "",
    outputs: tuple[str, ...] = (),
    probe: Callable[[Settings], Availability] = always_available,
    check: Callable[[dict[str, Any], dict[str, Any]], dict[str, bool]] | None = None,
    improve: Callable[[dict[str, Any], list[str]], dict[str, Any]] | None = None,
    judged: bool = True,
    consumes: dict[str, str] | None = None,
    produces: dict[str, str] | None = None,
    makes: str = "",
    hints: tuple[str, ...] = (),
    topics: tuple[str, ...] = (),
) -> ToolSpec:
    """Build a ToolSpec from a typed function with a Google docstring and a ``ctx`` argument."""
    structured = lc_tool(func, parse_docstring=True, error_on_invalid_docstring=False)
    assert isinstance(structured, StructuredTool)
    return ToolSpec(
        tool=structured,
        category=category,
        heavy=heavy,
        vram_gb=vram_gb,
        est_seconds=est_seconds,
        model=model,
        outputs=outputs or tuple(produces or {}),
        probe=probe,
        check=check,
        improve=improve,
        judged=judged,
        consumes=dict(consumes or {}),
        produces=dict(produces or {}),
        makes=makes,
        hints=hints,
        topics=topics,
    )


_DEFAULT: ToolRegistry | None = None
_DEFAULT_LOCK = threading.Lock()
BUILTIN_MODULES = (
    "tools.answer",
    "tools.dialogue",
    "tools.voice",
    "tools.scene",
    "tools.image",
    "tools.knowledge",
    "tools.web",
)


def default_registry() -> ToolRegistry:
    """The built-in tools plus installed plugins (built once per process)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            import importlib

            registry = ToolRegistry()
            for module_name in BUILTIN_MODULES:
                try:
                    module = importlib.import_module(module_name)
                except ModuleNotFoundError as exc:
                    if exc.name != module_name:
                        raise
                    continue
                module.register(registry)
            for ep in entry_points(group="animagent.tools"):
                ep.load()(registry)
            _DEFAULT = registry
        return _DEFAULT
