"""report.html generation time and size for a large run: 50 steps, 200 files on disk.

    python -m benchmarks.report [--runs N]

The run is synthetic but its files are real (WAVs, PNGs, text) so every link is checked on
disk as in a real report. Two shapes are timed: the end-of-run report (manifest + state, as
the respond node writes it) and `animagent report THREAD` (plus 100 checkpoints of history for
plan versions and node times). Writes benchmarks/results/report.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from benchmarks.common import machine, ms, repeat, stats, write_result

STEPS, FILES = 50, 200


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(b"\0\0" * 2205)


def _png(path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (200, 120, 40)).save(path)


def build_run(folder: Path) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A 50-step, 200-file run: its manifest, its state snapshot and 100 checkpoints."""
    now = time.time()
    steps, results, evaluations, artifacts = [], {}, {}, []
    tools = ["write_dialogue", "synthesize_voice", "generate_image", "assemble_scene"]
    for i in range(STEPS):
        sid, tool = f"s{i + 1}", tools[i % 4]
        deps = [f"s{j + 1}" for j in (i - 1, i - 3) if j >= 0]
        steps.append(
            {"id": sid, "tool": tool, "args": {"n": i, "text": "x" * 80}, "depends_on": deps}
        )
        made = []
        for k in range(FILES // STEPS):
            if tool == "generate_image":
                rel, kind = f"images/{sid}_{k} frame.png", "image"
                _png(folder / rel)
            elif tool == "write_dialogue":
                rel, kind = f"text/{sid}_{k}.md", "text"
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_text("# lines\n" * 20)
            else:
                rel, kind = f"voice/{i:02d}_{k}_luca.wav", "audio"
                _wav(folder / rel)
            made.append({"path": rel, "kind": kind, "meta": {}})
            artifacts.append({"path": rel, "kind": kind, "meta": {}, "step": sid})
        results[sid] = {
            "step_id": sid,
            "tool": tool,
            "status": "done" if i % 10 else "failed",
            "attempt": 1 + i % 3,
            "args": steps[-1]["args"],
            "output": {},
            "artifacts": made,
            "error": "" if i % 10 else "RuntimeError: out of memory",
            "seconds": 0.5,
        }
        evaluations[sid] = {
            "score": 0.8,
            "reasons": ["ok", "clear", "on brief"],
            "checks": {"a": True},
        }
    plan = {"version": 3, "strategy": "plan_execute", "steps": steps}
    thoughts = [{"node": "act", "text": f"thought {i}", "at": now + i} for i in range(200)]
    decisions = [
        {
            "node": "plan",
            "schema_name": "PlanDraft",
            "method": "constrained",
            "tokens": 90,
            "seconds": 0.4,
        }
    ] * 80
    manifest = {
        "thread_id": "bench",
        "request": "A long run " * 20,
        "plan": steps,
        "artifacts": artifacts,
        "scores": {k: 0.8 for k in results},
        "not_done": [f"s{i} failed" for i in range(1, STEPS, 10)],
        "thoughts": [t["text"] for t in thoughts],
        "decisions": decisions,
        "finished_at": now + 200,
    }
    values = {
        "plan": plan,
        "results": results,
        "evaluations": evaluations,
        "thoughts": thoughts,
        "decisions": decisions,
    }
    history = [
        {
            "values": {"plan": {**plan, "version": 1 + i // 40}},
            "next": ["act"],
            "created_at": now + i,
        }
        for i in range(100)
    ]
    return manifest, {"values": values}, history


def measure(runs: int = 20) -> dict[str, Any]:
    from services.report import REPORT_NAME, report_environment, write_report

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench"
        manifest, snapshot, history = build_run(folder)
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        end_of_run = stats(
            repeat(lambda: write_report(folder, manifest, snapshot), warmup=2, runs=runs)
        )
        size = (folder / REPORT_NAME).stat().st_size
        with_history = stats(
            repeat(lambda: write_report(folder, manifest, snapshot, history), warmup=2, runs=runs)
        )
        env = report_environment()
        reused = stats(
            repeat(lambda: write_report(folder, manifest, snapshot, env=env), warmup=2, runs=runs)
        )
    result: dict[str, Any] = {
        "steps": STEPS,
        "files": files,
        "end_of_run": end_of_run,
        "with_history": with_history,
        "reused_environment": reused,
        "report_bytes": size,
        "machine": machine(),
    }
    result["markdown"] = (
        f"report.html for a run with {STEPS} steps and {files} files on disk "
        f"({runs} runs after 2 warm-ups; median, IQR, p95):\n\n"
        "| report | median ms | IQR ms | p95 ms | size |\n|---|---|---|---|---|\n"
        f"| end of run (manifest + state) | {ms(end_of_run['median'])} | {ms(end_of_run['iqr'])} "
        f"| {ms(end_of_run['p95'])} | {size / 1024:.0f} KB |\n"
        f"| `animagent report` (+100 checkpoints) | {ms(with_history['median'])} "
        f"| {ms(with_history['iqr'])} | {ms(with_history['p95'])} | |\n"
        f"| end of run, template already compiled | {ms(reused['median'])} "
        f"| {ms(reused['iqr'])} | {ms(reused['p95'])} | |\n\n"
        "Each `write_report` call compiles the Jinja2 template (a run writes one report, so it "
        "pays that once); the last row reuses one compiled environment, as a caller writing many "
        "reports can. "
        "The page links the files beside it (nothing is inlined), so its size grows with the "
        "number of steps and files, not with their bytes."
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    result = measure(runs=parser.parse_args().runs)
    write_result("report", result)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
