"""Self-improvement: TaskBench plan quality as the store of past plans grows.

    python -m benchmarks taskbench_curve

The product planner learns from the plans it has accepted (``planning.memory``). This replays
that on the dev file: 5-fold cross-validation as in ``run.py``, but each fold's store of past
plans holds only the first N of its training records in a fixed random order (N = 0, 50, 100,
200, all). Below ``min_store`` (50) the planner uses fixed weights; from 50 on the learned
selector and order. No LLM: the curve is about what past plans add.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from benchmarks.taskbench.data import DEV_FILE, Catalog, data_dir, load_records
from benchmarks.taskbench.planner import PlannerConfig, TaskBenchPlanner
from benchmarks.taskbench.retrieval import ExampleStore
from benchmarks.taskbench.run import _folds
from benchmarks.taskbench.scoring import ToolTable, score

SIZES: tuple[int | None, ...] = (0, 50, 100, 200, None)
"""Past plans per fold; ``None`` = every training record of the fold."""


def run_curve(
    path: str | Path | None = None,
    *,
    sizes: tuple[int | None, ...] = SIZES,
    folds: int = 5,
    seed: int = 0,
    limit: int | None = None,
) -> dict[str, Any]:
    """n-F1 / e-F1 (overall and per shape) for each store size; the report as a dict."""
    dev = Path(path) if path else DEV_FILE
    records = load_records(dev)
    targets = records[:limit] if limit else records
    catalog = Catalog.load()
    table = ToolTable.load(data_dir() / "tool_desc.json")
    assignment = _folds(len(records), folds)
    fold_of = {r["id"]: f for r, f in zip(records, assignment, strict=True)}
    points = []
    for size in sizes:
        started = time.perf_counter()
        predictions: dict[str, list[dict[str, Any]]] = {}
        stored = []
        for f in sorted({fold_of[r["id"]] for r in targets}):
            train = [r for r in records if fold_of[r["id"]] != f]
            random.Random(seed + f).shuffle(train)  # the order plans were "accepted" in
            kept = train if size is None else train[:size]
            stored.append(len(kept))
            store = ExampleStore(kept) if kept else None
            planner = TaskBenchPlanner(catalog, store, use_llm=False, config=PlannerConfig())
            for record in (r for r in targets if fold_of[r["id"]] == f):
                predictions[record["id"]] = planner.plan(record["instruction"]).nodes
        figures = score(targets, predictions, table)
        points.append(
            {
                "past_plans": "all" if size is None else size,
                "store_sizes": stored,
                "learned": bool(size is None or size >= PlannerConfig().min_store),
                "figures": figures,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    report: dict[str, Any] = {
        "benchmark": "TaskBench self-improvement curve",
        "file": dev.name,
        "records": len(targets),
        "protocol": f"{folds}-fold CV; each fold's store = first N training records (seed {seed})",
        "points": points,
    }
    report["markdown"] = markdown(report)
    return report


def markdown(report: dict[str, Any]) -> str:
    """One row per store size."""
    lines = [
        f"{report['records']} dev records, {report['protocol']}; no LLM.",
        "",
        "| past plans | selection | n-F1 | e-F1 | chain n-F1 / e-F1 | DAG n-F1 / e-F1 | ED | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for point in report["points"]:
        f = point["figures"]
        o, c, d = f["overall"], f["chain"], f["dag"]
        sizes = point["store_sizes"]
        shown = (
            point["past_plans"]
            if point["past_plans"] != "all"
            else f"all ({min(sizes)}–{max(sizes)})"
        )
        how = "learned" if point["learned"] else ("fixed weights" if sizes[0] else "hints only")
        lines.append(
            f"| {shown} | {how} | {o['n_f1']:.1f} | {o['e_f1']:.1f} | {c['n_f1']:.1f} / "
            f"{c['e_f1']:.1f} | {d['n_f1']:.1f} / {d['e_f1']:.1f} | {o['ed']:.3f} "
            f"| {point['seconds']:.0f} |"
        )
    return "\n".join(lines)
