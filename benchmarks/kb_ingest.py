"""Ingest throughput of the knowledge base and how it scales with the number of documents.

Two measurements, both into a fresh Chroma folder per size:
- end to end (embed with the packaged all-MiniLM-L6-v2 on one thread, then write in batches
  below Chroma's maximum), at the sizes in --full (default 1k and 10k);
- store only (vectors already computed), at the sizes in --store-only (default 30k and 100k),
  reusing real MiniLM vectors of a 10k corpus with a little noise so every vector is distinct.
  Their end-to-end time is extrapolated as store time + N / measured embedding rate, and the
  output says so.

    OMP_NUM_THREADS=1 python -m benchmarks.kb_ingest [--full 1000 10000] [--store-only 30000 100000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.kb_common import (
    environment,
    folder_mb,
    queries,
    summary_ms,
    synthetic_docs,
    table,
    write_result,
)


def search_ms(kb: Any, vectors: list[list[float]]) -> dict[str, float]:
    """Search-only p50/p95 (precomputed query vectors), without and with a character filter."""
    from services.knowledge_base import PAST

    out = {}
    for label, where in (("plain", None), ("filtered", {"character": "luca"})):
        times = []
        for vec in vectors:
            t0 = time.perf_counter()
            kb.query(PAST, "", k=5, where=where, embedding=vec)
            times.append(time.perf_counter() - t0)
        stats = summary_ms(times)
        out[f"{label}_p50_ms"], out[f"{label}_p95_ms"] = stats["p50_ms"], stats["p95_ms"]
    return out


def fresh_kb(tmp: Path, name: str) -> Any:
    from configs.settings import Settings
    from services.knowledge_base import KnowledgeBase

    return KnowledgeBase(Settings(data_dir=tmp / name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--store-only", type=int, nargs="*", default=[30_000, 100_000])
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from services.knowledge_base import PAST, Record, stable_id

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        warm = fresh_kb(tmp, "warm")
        warm.embed(["load the model before timing"])
        query_vectors = warm.embed(queries(100))
        embed_rate = 0.0
        pool: list[tuple[str, dict[str, Any], list[float]]] = []
        for n in args.full:
            kb = fresh_kb(tmp, f"full-{n}")
            docs = synthetic_docs(n)
            t0 = time.perf_counter()
            vectors = kb.embed([t for t, _ in docs])
            t1 = time.perf_counter()
            kb.upsert(
                PAST,
                [Record(stable_id(i), t, m, v) for i, ((t, m), v) in enumerate(zip(docs, vectors))],
            )
            t2 = time.perf_counter()
            assert kb.count(PAST) == n
            latency = search_ms(kb, query_vectors)
            kb.close()
            embed_rate = n / (t1 - t0)
            pool = [(t, m, v) for (t, m), v in zip(docs, vectors)]
            rows.append(
                {
                    "docs": n,
                    "mode": "measured end to end",
                    "seconds": round(t2 - t0, 1),
                    "embed_s": round(t1 - t0, 1),
                    "store_s": round(t2 - t1, 1),
                    "docs_per_s": round(n / (t2 - t0), 1),
                    "disk_mb": folder_mb(tmp / f"full-{n}"),
                    **latency,
                }
            )
            print(f"  {n} docs end to end: {t2 - t0:.1f} s", flush=True)
        rng = random.Random(3)
        for n in args.store_only:
            kb = fresh_kb(tmp, f"store-{n}")
            records = []
            for i in range(n):
                text, meta, vec = pool[i % len(pool)]
                noisy = [x + rng.gauss(0, 0.01) for x in vec]
                norm = sum(x * x for x in noisy) ** 0.5
                records.append(
                    Record(stable_id(i), f"{text} #{i}", meta, [x / norm for x in noisy])
                )
            t0 = time.perf_counter()
            kb.upsert(PAST, records)
            store_s = time.perf_counter() - t0
            assert kb.count(PAST) == n
            latency = search_ms(kb, query_vectors)
            kb.close()
            total = store_s + n / embed_rate
            rows.append(
                {
                    "docs": n,
                    "mode": "store measured, embedding extrapolated",
                    "seconds": round(total, 1),
                    "embed_s": round(n / embed_rate, 1),
                    "store_s": round(store_s, 1),
                    "docs_per_s": round(n / total, 1),
                    "disk_mb": folder_mb(tmp / f"store-{n}"),
                    **latency,
                }
            )
            print(f"  {n} docs store only: {store_s:.1f} s", flush=True)

    data = {
        "benchmark": "kb_ingest",
        "embed_docs_per_s": round(embed_rate, 1),
        "rows": rows,
        "environment": environment(),
    }
    data["markdown"] = (
        f"Ingest scaling, one thread (embedding: {embed_rate:.0f} docs/s)\n\n"
        + table(
            [
                "docs",
                "how",
                "total s",
                "embed s",
                "Chroma s",
                "docs/s",
                "disk MB",
                "search p50/p95 ms",
                "filtered p50/p95 ms",
            ],
            [
                [
                    r["docs"],
                    r["mode"],
                    r["seconds"],
                    r["embed_s"],
                    r["store_s"],
                    r["docs_per_s"],
                    r["disk_mb"],
                    f"{r['plain_p50_ms']} / {r['plain_p95_ms']}",
                    f"{r['filtered_p50_ms']} / {r['filtered_p95_ms']}",
                ]
                for r in rows
            ],
        )
    )
    write_result("kb_ingest", data)
    print(data["markdown"])


if __name__ == "__main__":
    main()
