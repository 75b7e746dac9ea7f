"""Concurrent runs: 1, 4, 16 at once through the Python API (threads, asyncio) and `langgraph dev`.

    python -m benchmarks.scale [--levels 1,4,16] [--runs-per-level N] [--no-server]

The graph runs with the instant FakeChatModel and instant tools (``common.instant_tools``), and
the knowledge base off, so the figures are the framework's and our nodes' own costs, the same
set-up as the overhead benchmark. It is the agent graph (graph.builder) when importable, else a
small stand-in chain (said in the result). Reports runs/s, p50/p95 latency, errors (must be 0;
an agent run that ends without its final report counts as one) and peak RSS. Writes
benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import (
    agent_builder,
    agent_context,
    agent_input,
    instant_tools,
    isolate_outputs,
    machine,
    peak_rss_mb,
    stats,
    write_result,
)

REPO = Path(__file__).resolve().parents[1]
STAND_IN_NODES = 9

# The module `langgraph dev` loads: the fake model first, then the graph (agent or stand-in).
SERVER_MODULE = """
from benchmarks.common import instant_tools
from services.fake_llm import FakeChatModel
from services.llm import override_models

# Entered for the server's whole life. The context managers are generators: they must stay
# referenced, or garbage collection closes them and their `finally` undoes the swap at once.
_KEEP = [override_models(FakeChatModel()), instant_tools()]
for _cm in _KEEP:
    _cm.__enter__()
{import_graph}
"""
AGENT_IMPORT = "from graph.builder import graph"
STAND_IN_IMPORT = (
    f"from benchmarks.overhead import bare_graph\ngraph = bare_graph({STAND_IN_NODES}, None)"
)


def _graph_and_input() -> tuple[Callable[[Any], Any], dict[str, Any], Any, str]:
    builder = agent_builder()
    if builder is not None:
        return (lambda saver: builder(checkpointer=saver)), agent_input(), agent_context(), "agent"
    from benchmarks.overhead import bare_graph

    return (lambda saver: bare_graph(STAND_IN_NODES, saver)), {"count": 0}, None, "stand-in"


def _check_finished(result: Any, context: Any) -> None:
    """An agent run (one with a context) must end with its final report, not at a question."""
    if context is not None and not (isinstance(result, dict) and result.get("final")):
        raise RuntimeError("the run ended without a final report")


def _summary(latencies: list[float], errors: int, wall: float, runs: int) -> dict[str, Any]:
    s = stats(latencies)
    return {
        "runs": runs,
        "errors": errors,
        "runs_per_s": runs / wall if wall else 0.0,
        "p50_s": s["median"],
        "p95_s": s["p95"],
    }


def python_threads(graph: Any, payload: Any, context: Any, level: int, runs: int) -> dict[str, Any]:
    """``runs`` invocations, ``level`` at a time, in a thread pool."""
    kwargs = {"context": context} if context is not None else {}

    def one() -> float:
        started = time.perf_counter()
        result = graph.invoke(payload, {"configurable": {"thread_id": uuid.uuid4().hex}}, **kwargs)
        _check_finished(result, context)
        return time.perf_counter() - started

    latencies, errors = [], 0
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=level) as pool:
        for future in [pool.submit(one) for _ in range(runs)]:
            try:
                latencies.append(future.result())
            except Exception:
                errors += 1
    return _summary(latencies, errors, time.perf_counter() - started, runs)


def python_asyncio(graph: Any, payload: Any, context: Any, level: int, runs: int) -> dict[str, Any]:
    """``runs`` ``ainvoke`` calls, at most ``level`` in flight."""
    kwargs = {"context": context} if context is not None else {}

    async def main() -> tuple[list[float], int, float]:
        gate = asyncio.Semaphore(level)

        async def one() -> float:
            async with gate:
                started = time.perf_counter()
                config = {"configurable": {"thread_id": uuid.uuid4().hex}}
                _check_finished(await graph.ainvoke(payload, config, **kwargs), context)
                return time.perf_counter() - started

        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(runs)), return_exceptions=True)
        wall = time.perf_counter() - started
        ok = [r for r in results if isinstance(r, float)]
        return ok, len(results) - len(ok), wall

    latencies, errors, wall = asyncio.run(main())
    return _summary(latencies, errors, wall, runs)


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss_tree_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of a process and its children, in MiB."""
    import psutil

    total = 0.0
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in procs:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


@contextlib.contextmanager
def dev_server(jobs: int, import_graph: str) -> Iterator[tuple[str, int]]:
    """`langgraph dev` on a free loopback port, offline; stopped by pid."""
    folder = Path(tempfile.mkdtemp(prefix="animagent-scale-"))
    (folder / "bench_graph.py").write_text(SERVER_MODULE.format(import_graph=import_graph))
    (folder / "langgraph.json").write_text(
        json.dumps({"dependencies": ["."], "graphs": {"agent": "./bench_graph.py:graph"}})
    )
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        "ANIMAGENT_OUTPUTS_DIR": str(folder / "outputs"),
        "ANIMAGENT_DATA_DIR": str(folder / "data"),
        "ANIMAGENT_KNOWLEDGE__ENABLED": "false",
    }
    cli = Path(sys.executable).with_name("langgraph")
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(cli), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
         "--port", str(port), "--n-jobs-per-worker", str(jobs)],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"langgraph dev exited; see {folder / 'server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"langgraph dev did not answer in 90 s; see {folder}/server.log")
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def through_server(
    url: str, payload: Any, level: int, runs: int, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``runs`` runs through the server's API, ``level`` in flight.

    A run counts as done only when it ends with no error and, for the agent graph (a
    ``context`` is passed), with its final report: a run stopped at a question is an error here.
    """
    from langgraph_sdk import get_client

    async def main() -> tuple[list[float], int, float]:
        client = get_client(url=url)
        gate = asyncio.Semaphore(level)

        async def one() -> float:
            async with gate:
                started = time.perf_counter()
                thread = await client.threads.create()
                result = await client.runs.wait(
                    thread["thread_id"], "agent", input=payload, context=context
                )
                if isinstance(result, dict) and "__error__" in result:
                    raise RuntimeError(str(result["__error__"]))
                if context is not None and not (isinstance(result, dict) and result.get("final")):
                    raise RuntimeError("the run ended without a final report")
                return time.perf_counter() - started

        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(runs)), return_exceptions=True)
        wall = time.perf_counter() - started
        ok = [r for r in results if isinstance(r, float)]
        return ok, len(results) - len(ok), wall

    latencies, errors, wall = asyncio.run(main())
    return _summary(latencies, errors, wall, runs)


def measure(
    levels: tuple[int, ...] = (1, 4, 16), runs_per_level: int = 32, server: bool = True
) -> dict[str, Any]:
    """Every mode at every concurrency level."""
    from langgraph.checkpoint.memory import InMemorySaver

    from services.fake_llm import FakeChatModel
    from services.llm import override_models

    rows: list[dict[str, Any]] = []
    build, payload, context, graph_kind = _graph_and_input()
    with (
        tempfile.TemporaryDirectory() as tmp,
        # model-free: no knowledge base, so no embedding per run
        isolate_outputs(Path(tmp), ANIMAGENT_KNOWLEDGE__ENABLED="false"),
        override_models(FakeChatModel()),
        instant_tools(),
    ):
        graph = build(InMemorySaver())
        for level in levels:
            runs = max(runs_per_level, level)
            modes = (("python-threads", python_threads), ("python-asyncio", python_asyncio))
            for mode, fn in modes:
                row = fn(graph, payload, context, level, runs)
                rows.append({"mode": mode, "concurrency": level, **row,
                             "peak_rss_mb": peak_rss_mb()})  # fmt: skip
    if server:
        import_graph = AGENT_IMPORT if graph_kind == "agent" else STAND_IN_IMPORT
        for level in levels:
            with dev_server(level, import_graph) as (url, pid):
                server_context = dataclasses.asdict(context) if context is not None else None
                row = through_server(
                    url, payload, level, max(runs_per_level, level), server_context
                )
                rows.append({"mode": "langgraph dev", "concurrency": level, **row,
                             "peak_rss_mb": _peak_rss_tree_mb(pid)})  # fmt: skip
    return {
        "benchmark": "scale",
        "machine": machine(),
        "graph": graph_kind,
        "rows": rows,
        "markdown": markdown(rows, graph_kind),
    }


def markdown(rows: list[dict[str, Any]], graph_kind: str) -> str:
    """One line per mode and concurrency level."""
    lines = [
        f"Graph: {graph_kind} (FakeChatModel).\n",
        "| mode | concurrency | runs | runs/s | p50 s | p95 s | errors | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['concurrency']} | {r['runs']} | {r['runs_per_s']:.1f} "
            f"| {r['p50_s']:.3f} | {r['p95_s']:.3f} | {r['errors']} | {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="concurrent runs through API and server")
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--runs-per-level", type=int, default=32)
    parser.add_argument("--no-server", action="store_true")
    args = parser.parse_args(argv)
    levels = tuple(int(x) for x in args.levels.split(","))
    result = measure(levels, args.runs_per_level, server=not args.no_server)
    write_result("scale", result)
    print(result["markdown"])


if __name__ == "__main__":
    main()
