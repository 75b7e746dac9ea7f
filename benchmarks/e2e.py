"""The demo request end to end: on the embedded model, and on the instant FakeChatModel.

    python -m benchmarks.e2e [--runs N] [--fake-only] [--strategies]

Wall time, LLM calls and tokens (services.llm.USAGE), peak memory. The fake-model run shows
what the graph, tools and checkpoints cost without a model, so the difference is model time.
Needs the agent graph (graph.builder); until it exists the result says so.
Writes benchmarks/results/e2e.json.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DEMO_REQUEST,
    agent_builder,
    agent_context,
    agent_input,
    isolate_outputs,
    machine,
    peak_rss_mb,
    stats,
    write_result,
)


def run_once(build: Any, *, fake: bool, strategy: str = "") -> dict[str, Any]:
    """One run of the demo request; returns time, usage delta and how it ended."""
    from langgraph.checkpoint.memory import InMemorySaver

    from services.fake_llm import FakeChatModel
    from services.llm import USAGE, override_models

    with contextlib.ExitStack() as stack:
        if fake:
            stack.enter_context(override_models(FakeChatModel()))
        graph = build(checkpointer=InMemorySaver())
        before = USAGE.snapshot()
        context = agent_context()
        if strategy and context is not None:
            context.strategy = strategy
        kwargs = {"context": context} if context is not None else {}
        started = time.perf_counter()
        state = graph.invoke(
            agent_input(), {"configurable": {"thread_id": uuid.uuid4().hex}}, **kwargs
        )
        seconds = time.perf_counter() - started
        after = USAGE.snapshot()
    final = state.get("final") if isinstance(state, dict) else None
    return {
        "seconds": seconds,
        "llm_calls": after["calls"] - before["calls"],
        "prompt_tokens": after["prompt_tokens"] - before["prompt_tokens"],
        "completion_tokens": after["completion_tokens"] - before["completion_tokens"],
        "interrupted": bool(isinstance(state, dict) and state.get("__interrupt__")),
        "finished": final is not None,
        "status": (final or {}).get("status", "-"),
    }


STRATEGIES = ("plan_execute", "cot", "tot", "react", "reflexion")


def per_strategy(fake: bool = False) -> dict[str, Any]:
    """The demo once per strategy: LLM calls, tokens, time and the honest outcome."""
    build = agent_builder()
    rows = []
    for strategy in STRATEGIES:
        # A fresh data folder each: a strategy must not retrieve what the previous one made.
        with tempfile.TemporaryDirectory() as tmp, isolate_outputs(Path(tmp)):
            sample = run_once(build, fake=fake, strategy=strategy)
        rows.append({"strategy": strategy, **sample})
    lines = [
        "| strategy | LLM calls | prompt tok | completion tok | wall s | outcome |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | {r['llm_calls']} | {r['prompt_tokens']} | "
            f"{r['completion_tokens']} | {r['seconds']:.1f} | {r['status']} |"
        )
    model = "fake" if fake else "embedded"
    return {
        "benchmark": "e2e_strategies",
        "machine": machine(),
        "request": DEMO_REQUEST,
        "model": model,
        "rows": rows,
        "markdown": f"Demo request, {model} model, one run per strategy, each in a fresh data "
        "folder; calls include the quality loop's retries.\n\n" + "\n".join(lines),
    }


def measure(runs: int = 3, fake_only: bool = False) -> dict[str, Any]:
    """The demo request ``runs`` times per model (fake first, then embedded)."""
    build = agent_builder()
    result: dict[str, Any] = {"benchmark": "e2e", "machine": machine(), "request": DEMO_REQUEST}
    if build is None:
        result["skipped"] = "graph.builder is not importable yet: re-run once the graph exists"
        result["markdown"] = f"Not measured: {result['skipped']}."
        return result
    rows = []
    with tempfile.TemporaryDirectory() as tmp, isolate_outputs(Path(tmp)):
        for model in ["fake"] if fake_only else ["fake", "embedded"]:
            samples = [run_once(build, fake=model == "fake") for _ in range(runs)]
            rows.append(
                {
                    "model": model,
                    "runs": runs,
                    "seconds": stats([s["seconds"] for s in samples]),
                    "llm_calls": samples[-1]["llm_calls"],
                    "prompt_tokens": samples[-1]["prompt_tokens"],
                    "completion_tokens": samples[-1]["completion_tokens"],
                    "finished": sum(s["finished"] for s in samples),
                    "interrupted": sum(s["interrupted"] for s in samples),
                    "peak_rss_mb": peak_rss_mb(),
                }
            )
    result["rows"] = rows
    result["markdown"] = markdown(rows)
    return result


def markdown(rows: list[dict[str, Any]]) -> str:
    """One line per model."""
    lines = [
        "| model | runs | wall s (median) | LLM calls | prompt tok | completion tok "
        "| finished | interrupted | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['runs']} | {r['seconds']['median']:.2f} | {r['llm_calls']} "
            f"| {r['prompt_tokens']} | {r['completion_tokens']} | {r['finished']} "
            f"| {r['interrupted']} | {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the demo request end to end")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fake-only", action="store_true")
    parser.add_argument("--strategies", action="store_true", help="one run per strategy")
    args = parser.parse_args(argv)
    if args.strategies:
        result = per_strategy(fake=args.fake_only)
        write_result("e2e_strategies", result)
        print(result["markdown"])
        return
    result = measure(args.runs, args.fake_only)
    write_result("e2e", result)
    print(result["markdown"])


if __name__ == "__main__":
    main()
