"""Helpers every benchmark shares: timing statistics, machine facts, the agent graph if built."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEMO_REQUEST = "Create a short scene where Luca and Alberto talk on the beach at sunset"


def stats(samples: list[float]) -> dict[str, float]:
    """Median, IQR, p95, min and count of ``samples`` (seconds)."""
    ordered = sorted(samples)
    if len(ordered) < 2:
        value = ordered[0] if ordered else 0.0
        return {"median": value, "iqr": 0.0, "p95": value, "min": value, "n": len(ordered)}
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "median": statistics.median(ordered),
        "iqr": q[74] - q[24],
        "p95": q[94],
        "min": ordered[0],
        "n": len(ordered),
    }


def repeat(fn: Callable[[], Any], *, warmup: int, runs: int) -> list[float]:
    """Time ``fn`` ``runs`` times after ``warmup`` untimed calls (pyperf's shape, simplified)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def repeat_interleaved(
    fns: dict[str, Callable[[], Any]], *, warmup: int, runs: int
) -> dict[str, list[float]]:
    """Time each of ``fns`` ``runs`` times, taking turns, after ``warmup`` untimed rounds.

    Taking turns gives every function the same share of whatever else the shared cores are
    doing, so a ratio between them stays meaningful when the machine's load changes mid-run.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return samples


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    versions = {}
    for name in ("langgraph", "langchain_core", "xllamacpp", "pydantic"):
        try:
            from importlib.metadata import version

            versions[name] = version(name.replace("_", "-"))
        except Exception:  # a missing package is reported, not fatal
            versions[name] = "not installed"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        # The cores are shared: the load at the start says how far to trust the timings.
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "versions": versions,
    }


def agent_builder() -> Callable[..., Any] | None:
    """``graph.builder.build_graph`` when the agent graph exists, else None."""
    try:
        module = importlib.import_module("graph.builder")
    except ImportError:
        return None
    return getattr(module, "build_graph", None)


def agent_input() -> dict[str, Any]:
    """The demo request as the agent's input state."""
    return {"request": DEMO_REQUEST}


def agent_context() -> Any:
    """A per-run Context that never stops to ask (benchmarks have no person to answer)."""
    try:
        from state.context import Context

        return Context(proceed_on_guess=True)
    except Exception:  # an older state module: run without a context
        return None


@contextlib.contextmanager
def isolate_outputs(folder: Path, **env: str) -> Iterator[None]:
    """Send the agent's outputs and data (checkpoints, knowledge) into ``folder`` for a block.

    ``env`` sets more ANIMAGENT_ variables for the block (``ANIMAGENT_KNOWLEDGE__ENABLED=
    "false"``). Everything is restored afterwards, so one benchmark's settings never leak into
    the next one run by ``python -m benchmarks``.
    """
    from configs.settings import get_settings

    wanted = {
        "ANIMAGENT_OUTPUTS_DIR": str(folder / "outputs"),
        "ANIMAGENT_DATA_DIR": str(folder / "data"),
        **env,
    }
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    get_settings.cache_clear()  # settings are loaded once; the new values must take effect
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return path


def ms(seconds: float) -> str:
    """Seconds as a short millisecond figure."""
    return f"{seconds * 1000:.2f}"


def instant_tools() -> Any:
    """A context manager swapping every registered tool for an instant stand-in.

    The stand-in returns an empty value for each output field the tool declares and has no
    quality check, so what remains is LangGraph plus our own node code: the issue's "instant
    fake model and instant tools".
    """
    import contextlib
    import dataclasses

    from tools.registry import default_registry

    @contextlib.contextmanager
    def swap() -> Any:
        registry = default_registry()
        saved = {spec.name: spec for spec in registry.all()}
        for spec in saved.values():
            outputs = spec.outputs

            def instant(_outputs: tuple[str, ...] = outputs, **kwargs: Any) -> dict[str, Any]:
                return {name: [] for name in _outputs}

            tool = spec.tool.model_copy(update={"func": instant})
            registry.add(dataclasses.replace(spec, tool=tool, check=None, improve=None))
        try:
            yield registry
        finally:
            for spec in saved.values():
                registry.add(spec)

    return swap()
