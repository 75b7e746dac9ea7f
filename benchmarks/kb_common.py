"""Shared pieces of the knowledge-base benchmarks: a synthetic corpus, timing, reporting."""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = [
    "Luca",
    "Alberto",
    "Marea",
    "Pip",
    "Rosa",
    "Teo",
    "Nina",
    "Bruno",
    "Ada",
    "Ezio",
    "Lia",
    "Marco",
    "Sofia",
    "Gino",
    "Vera",
    "Otto",
    "Iris",
    "Dario",
    "Elsa",
    "Fabio",
]
PLACES = [
    "on the beach",
    "in the harbour",
    "at the lighthouse",
    "on the cliffs",
    "in the piazza",
    "under the pier",
    "in a fishing boat",
    "at the market",
    "in the old tower",
    "by the well",
]
TIMES = ["at sunset", "at dawn", "at noon", "in the rain", "at night", "in the fog", "in summer"]
ACTIONS = [
    "argue about the weather",
    "share a secret",
    "fix a broken sail",
    "race bicycles",
    "sketch the stars",
    "eat fish soup",
    "chase a seagull",
    "read an old map",
    "plan an escape",
    "laugh at a joke",
    "practise a song",
    "apologise quietly",
]
STYLES = [
    "golden hour light",
    "watercolor storybook look",
    "flat cel shading",
    "ink outlines",
    "soft pastel palette",
    "high-contrast noir",
    "painterly sky",
    "rim light",
    "wide shot",
    "over-the-shoulder framing",
    "low camera angle",
    "slow push-in",
]


def synthetic_docs(n: int, seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    """``n`` varied short documents (30-60 words) with character and quality metadata."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        a, b = rng.sample(NAMES, 2)
        text = (
            f"{a} and {b} {rng.choice(ACTIONS)} {rng.choice(PLACES)} {rng.choice(TIMES)}. "
            f"Shot with {rng.choice(STYLES)} and {rng.choice(STYLES)}; {a} "
            f"{rng.choice(ACTIONS)} while {b} {rng.choice(ACTIONS)} {rng.choice(PLACES)}. "
            f"Take {i}: prompt weight {rng.random():.2f}, steps {rng.choice([20, 25, 30, 40])}."
        )
        meta = {
            "source": f"synthetic/{i // 100}.md",
            "character": a.lower(),
            "quality": round(rng.random(), 3),
            "kind": "generation",
        }
        docs.append((text, meta))
    return docs


def queries(n: int, seed: int = 11) -> list[str]:
    """``n`` request-like queries over the same vocabulary."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(NAMES)} and {rng.choice(NAMES)} {rng.choice(ACTIONS)} {rng.choice(PLACES)} "
        f"{rng.choice(TIMES)}, {rng.choice(STYLES)}"
        for _ in range(n)
    ]


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "n": len(ms),
    }


def folder_mb(path: Path) -> float:
    """Disk used by the files under ``path``, in MB."""
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    import chromadb
    import torch

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "chromadb": chromadb.__version__,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    """benchmarks/results/<name>.json (written whole, then renamed)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
    return path


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
