"""Per-node-step overhead: the agent graph vs a bare StateGraph of the same node count.

    python -m benchmarks.overhead [--runs N] [--warmup N] [--nodes N]

Both graphs run with the same checkpointer (none, InMemorySaver, SqliteSaver on a temp file,
and PostgresSaver: the DSN in ANIMAGENT_BENCH_POSTGRES, else a throwaway local server when
PostgreSQL is installed, see benchmarks/pg.py). The agent graph runs with the
instant FakeChatModel and instant tools, with the knowledge base off, so what is measured is
the framework and our nodes' own work, not a model. The two graphs take turns (one bare run,
one agent run, ...), so both see the same load on shared cores. Without ``graph.builder`` only
the bare baseline and the per-step checkpoint cost are measured.
Writes benchmarks/results/overhead.json.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from benchmarks.common import (
    agent_builder,
    agent_context,
    agent_input,
    instant_tools,
    isolate_outputs,
    machine,
    ms,
    repeat_interleaved,
    stats,
    write_result,
)
from benchmarks.pg import available as pg_available
from benchmarks.pg import local_postgres

TARGET_RATIO = 1.3
DEFAULT_NODES = 9  # understand, clarify, retrieve, plan, act, gpu, evaluate, reflect, respond


class BareState(TypedDict, total=False):
    count: int


def bare_graph(nodes: int, checkpointer: Any) -> Any:
    """A chain of ``nodes`` trivial nodes: LangGraph's own cost per step."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(BareState)
    names = [f"n{i}" for i in range(nodes)]
    for name in names:
        builder.add_node(name, lambda state: {"count": state.get("count", 0) + 1})
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=checkpointer)


@contextlib.contextmanager
def savers(folder: Path) -> Iterator[list[tuple[str, Any]]]:
    """(name, checkpointer) pairs available here; Postgres only with a DSN."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(folder / "bench.sqlite", check_same_thread=False)
    found: list[tuple[str, Any]] = [
        ("none", None),
        ("memory", InMemorySaver()),
        ("sqlite", SqliteSaver(conn)),
    ]
    with contextlib.ExitStack() as stack:
        dsn = stack.enter_context(local_postgres())
        if dsn and importlib.util.find_spec("langgraph.checkpoint.postgres"):
            from langgraph.checkpoint.postgres import PostgresSaver

            pg = stack.enter_context(PostgresSaver.from_conn_string(dsn))
            pg.setup()
            found.append(("postgres", pg))
        try:
            yield found
        finally:
            conn.close()


def postgres_skip() -> str:
    """Why the Postgres row is missing."""
    if not importlib.util.find_spec("langgraph.checkpoint.postgres"):
        return "postgres: langgraph-checkpoint-postgres is missing (pip install '.[postgres]')"
    return f"postgres: {pg_available() or 'the server did not start'}"


def _invoker(graph: Any, payload: Any, with_saver: bool, context: Any = None) -> Callable[[], Any]:
    def run() -> Any:
        config = {"configurable": {"thread_id": uuid.uuid4().hex}} if with_saver else None
        kwargs = {"context": context} if context is not None else {}
        return graph.invoke(payload, config, **kwargs)

    return run


def count_steps(graph: Any, payload: Any, context: Any = None) -> int:
    """Node steps one run takes (updates streamed, one per node execution)."""
    kwargs = {"context": context} if context is not None else {}
    return sum(1 for _ in graph.stream(payload, None, stream_mode="updates", **kwargs))


def measure(
    *,
    runs: int = 100,
    warmup: int = 10,
    nodes: int | None = None,
    make_agent_graph: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Per-step medians (and IQR) for every available checkpointer, and the ratio to bare."""
    build = make_agent_graph
    if build is None and (builder := agent_builder()) is not None:
        build = lambda saver: builder(checkpointer=saver)  # noqa: E731
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        agent_steps = None
        context = None
        if build is not None:
            from services.fake_llm import FakeChatModel
            from services.llm import override_models

            # Framework overhead only: no knowledge base (its latency is benchmarked on its own)
            stack.enter_context(isolate_outputs(Path(tmp), ANIMAGENT_KNOWLEDGE__ENABLED="false"))
            stack.enter_context(override_models(FakeChatModel()))
            stack.enter_context(instant_tools())
            context = agent_context()
            agent_steps = count_steps(build(None), agent_input(), context)
        steps = nodes or agent_steps or DEFAULT_NODES
        saver_list = stack.enter_context(savers(Path(tmp)))
        for name, saver in saver_list:
            fns = {"bare": _invoker(bare_graph(steps, saver), {"count": 0}, saver is not None)}
            if build is not None and agent_steps:
                fns["agent"] = _invoker(build(saver), agent_input(), saver is not None, context)
            samples = repeat_interleaved(fns, warmup=warmup, runs=runs)
            bare = stats(samples["bare"])
            row: dict[str, Any] = {
                "checkpointer": name,
                "steps": steps,
                "bare_step": {k: v / steps if k != "n" else v for k, v in bare.items()},
            }
            if "agent" in samples and agent_steps:
                agent = stats(samples["agent"])
                row["agent_step"] = {
                    k: v / agent_steps if k != "n" else v for k, v in agent.items()
                }
                row["ratio"] = row["agent_step"]["median"] / row["bare_step"]["median"]
            rows.append(row)
    none = next(r for r in rows if r["checkpointer"] == "none")["bare_step"]["median"]
    for row in rows:
        row["checkpoint_cost_per_step"] = row["bare_step"]["median"] - none
    skipped = [] if any(r["checkpointer"] == "postgres" for r in rows) else [postgres_skip()]
    if build is None:
        skipped.append("agent graph: graph.builder is not importable yet (bare baseline only)")
    return {
        "benchmark": "overhead",
        "machine": machine(),
        "runs": runs,
        "warmup": warmup,
        "agent_runs": runs if build else 0,
        "target_ratio": TARGET_RATIO,
        "rows": rows,
        "skipped": skipped,
        "markdown": markdown(rows, skipped),
    }


def markdown(rows: list[dict[str, Any]], skipped: list[str]) -> str:
    """Per-step figures in milliseconds."""
    lines = [
        "| checkpointer | node steps | bare ms/step (median, IQR) | checkpoint cost ms/step "
        "| agent ms/step (median, IQR) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        bare = r["bare_step"]
        agent = r.get("agent_step")
        agent_cell = f"{ms(agent['median'])} ({ms(agent['iqr'])})" if agent else "n/a"
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "n/a"
        lines.append(
            f"| {r['checkpointer']} | {r['steps']} | {ms(bare['median'])} ({ms(bare['iqr'])}) "
            f"| {ms(r['checkpoint_cost_per_step'])} | {agent_cell} | {ratio} |"
        )
    lines += [f"\nSkipped: {s}." for s in skipped]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="per-node-step overhead vs bare LangGraph")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=None)
    args = parser.parse_args(argv)
    result = measure(runs=args.runs, warmup=args.warmup, nodes=args.nodes)
    write_result("overhead", result)
    print(result["markdown"])


if __name__ == "__main__":
    main()
