"""Run the TaskBench planner on a JSONL file and score it.

    python -m benchmarks.taskbench.run [--file PATH.jsonl] [--limit N] [--model fake|embedded|none]
        [--no-retrieval] [--folds K] [--embedding tfidf|minilm]

On the dev file, records are scored by K-fold cross-validation: the example store of a fold
never holds that fold's records. On any other file, the store is the whole dev file.
Prints a Markdown table and writes benchmarks/results/taskbench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmarks.taskbench.data import Catalog, data_dir, dev_file, load_records
from benchmarks.taskbench.planner import PlannerConfig, TaskBenchPlanner
from benchmarks.taskbench.retrieval import ExampleStore, Method
from benchmarks.taskbench.scoring import TYPES, ToolTable, score

RESULTS = Path(__file__).resolve().parents[1] / "results" / "taskbench.json"
PUBLISHED = {  # TaskBench README, multimedia: n-F1, e-F1, t-F1, v-F1
    "GPT-4 (published)": (90.90, 69.27, 87.06, 72.31),
    "GPT-3.5-turbo (published)": (72.83, 44.02, 65.91, 40.80),
    "codellama-13b (published)": (62.78, 24.61, 48.19, 29.13),
}


def _folds(n: int, k: int, seed: int = 0) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    fold = [0] * n
    for position, index in enumerate(order):
        fold[index] = position % k
    return fold


def _model(name: str) -> Any:
    match name:
        case "fake":
            from services.fake_llm import FakeChatModel
            from services.llm import UsageCounter

            return FakeChatModel(callbacks=[UsageCounter()])  # counted like real calls
        case "embedded":
            from services.llm import get_chat_model

            return get_chat_model("planner")
    return None


def run_taskbench(
    path: str | Path | None = None,
    *,
    limit: int | None = None,
    retrieval: bool = True,
    folds: int = 5,
    model: str = "embedded",
    embedding: Method = "tfidf",
    config: PlannerConfig | None = None,
    dev_path: str | Path | None = None,
) -> dict[str, Any]:
    """Plan and score every record of ``path`` (default: the dev file); return the report.

    ``model``: "embedded" (the configured planner model), "fake" (FakeChatModel) or "none"
    (structure and retrieval only, no LLM call). The dev file is cross-validated with
    ``folds`` folds; another file uses the whole dev file as its example store.
    """
    from services.llm import USAGE

    dev = Path(dev_path) if dev_path else dev_file()
    target = Path(path) if path else dev
    records = load_records(target, limit)
    catalog = Catalog.load()
    chat = _model(model)
    config = config or PlannerConfig()
    is_dev = target.resolve() == dev.resolve()
    if is_dev:
        everything = load_records(dev)
        assignment = _folds(len(everything), max(folds, 2))
        fold_of = {r["id"]: f for r, f in zip(everything, assignment, strict=True)}
        groups = sorted({fold_of[r["id"]] for r in records})
        plan_sets = [
            (
                [r for r in everything if fold_of[r["id"]] != f],
                [r for r in records if fold_of[r["id"]] == f],
            )
            for f in groups
        ]
    else:
        plan_sets = [(load_records(dev), records)]
    calls_before = USAGE.calls
    started = time.perf_counter()
    predictions: dict[str, list[dict[str, Any]]] = {}
    methods: dict[str, int] = {}
    proposals: dict[str, list[str]] = {}
    for store_records, targets in plan_sets:
        store = ExampleStore(store_records, embedding) if retrieval else None
        planner = TaskBenchPlanner(
            catalog, store, use_llm=chat is not None, config=config, model=chat
        )
        for record in targets:
            result = planner.plan(record["instruction"])
            predictions[record["id"]] = result.nodes
            if result.decision is not None:
                proposals[record["id"]] = result.llm_tools
            key = result.decision.method if result.decision else "no-llm"
            methods[key] = methods.get(key, 0) + 1
    seconds = time.perf_counter() - started
    figures = score(records, predictions, ToolTable.load(data_dir() / "tool_desc.json"))
    return {
        "benchmark": "TaskBench multimedia (resource setting)",
        "file": target.name,  # no machine paths in committed results
        "records": len(records),
        "protocol": (
            f"{folds}-fold cross-validation on the dev file"
            if is_dev
            else "example store = whole dev file"
        ),
        "retrieval": retrieval,
        "embedding": embedding if retrieval else None,
        "model": model,
        "config": config.__dict__,
        "figures": figures,
        "llm_calls": USAGE.calls - calls_before,
        "decisions": methods,
        "llm_proposals": proposals,
        "seconds": round(seconds, 1),
        "seconds_per_record": round(seconds / max(len(records), 1), 3),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "versions": {
            p: _version(p)
            for p in ("xllamacpp", "scikit-learn", "sentence-transformers", "langchain-core")
        },
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def markdown(report: dict[str, Any]) -> str:
    """The report's figures as a Markdown table, with the published rows."""
    store = f"retrieval {report['embedding']}" if report["retrieval"] else "no retrieval"
    label = f"animagent ({report['model']}, {store})"
    lines = [
        "| system | split | n | n-F1 | e-F1 | t-F1 | v-F1 | ED |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for split in TYPES:
        f = report["figures"][split]
        lines.append(
            f"| {label} | {split} | {f['samples']} | {f['n_f1']:.1f} | {f['e_f1']:.1f} "
            f"| {f['t_f1']:.1f} | {f['v_f1']:.1f} | {f['ed']:.3f} |"
        )
    for name, (n, e, t, v) in PUBLISHED.items():
        lines.append(f"| {name} | overall | – | {n:.1f} | {e:.1f} | {t:.1f} | {v:.1f} | – |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=None, help="TaskBench JSONL (default: the dev file)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model", choices=["fake", "embedded", "none"], default="embedded")
    parser.add_argument("--no-retrieval", action="store_true")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--embedding", choices=["tfidf", "minilm"], default="tfidf")
    parser.add_argument("--out", default=str(RESULTS), help="where to write the JSON report")
    args = parser.parse_args(argv)
    report = run_taskbench(
        args.file,
        limit=args.limit,
        retrieval=not args.no_retrieval,
        folds=args.folds,
        model=args.model,
        embedding=args.embedding,
    )
    print(markdown(report))
    print(
        f"\n{report['records']} records, {report['llm_calls']} LLM calls, "
        f"{report['seconds']} s ({report['decisions']})"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    runs = previous.get("runs", []) if isinstance(previous, dict) else []
    runs = [r for r in runs if not _same_setup(r, report)] + [report]
    out.write_text(json.dumps({"latest": report, "runs": runs}, indent=2) + "\n")
    return report


def _same_setup(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("file", "records", "retrieval", "embedding", "model", "protocol")
    return all(a.get(k) == b.get(k) for k in keys)


if __name__ == "__main__":
    main()
