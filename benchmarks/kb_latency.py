"""Query latency of the knowledge base at 10,000 documents, on one thread.

Each query is timed end to end as the agent pays for it: embedding the query text with the
packaged all-MiniLM-L6-v2, then the Chroma search (k=5), with and without a metadata filter.
The search alone is timed too, with a precomputed query vector.

    OMP_NUM_THREADS=1 python -m benchmarks.kb_latency [--docs 10000] [--queries 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.kb_common import (
    environment,
    queries,
    summary_ms,
    synthetic_docs,
    table,
    write_result,
)

TARGET = {"p50_ms": 40.0, "p95_ms": 80.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from configs.settings import Settings
    from services.knowledge_base import PAST, KnowledgeBase, Record, stable_id

    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Settings(data_dir=Path(tmp)))
        docs = synthetic_docs(args.docs)
        started = time.perf_counter()
        vectors = kb.embed([t for t, _ in docs])
        embed_s = time.perf_counter() - started
        kb.upsert(
            PAST,
            [
                Record(stable_id("bench", i), t, m, v)
                for i, ((t, m), v) in enumerate(zip(docs, vectors))
            ],
        )
        build_s = time.perf_counter() - started
        assert kb.count(PAST) == args.docs

        texts = queries(args.queries)
        kb.query(PAST, texts[0], k=5)  # warm-up: first call pays lazy initialisation
        filters = {
            "none": None,
            "character": {"character": "luca"},
            "character+quality": {"$and": [{"character": "luca"}, {"quality": {"$gte": 0.6}}]},
        }
        results: dict[str, dict[str, float]] = {}
        for label, where in filters.items():
            timings = []
            for text in texts:
                t0 = time.perf_counter()
                found = kb.query(PAST, text, k=5, where=where)
                timings.append(time.perf_counter() - t0)
                assert found, "a query returned nothing"
            results[f"end_to_end/{label}"] = summary_ms(timings)
        qvecs = kb.embed(texts)
        for label, where in filters.items():
            timings = []
            for vec in qvecs:
                t0 = time.perf_counter()
                kb.query(PAST, "", k=5, where=where, embedding=vec)
                timings.append(time.perf_counter() - t0)
            results[f"search_only/{label}"] = summary_ms(timings)
        embed_only = []
        for text in texts[:100]:
            t0 = time.perf_counter()
            kb.embed([text])
            embed_only.append(time.perf_counter() - t0)
        results["query_embedding_only"] = summary_ms(embed_only)
        kb.close()

    data = {
        "benchmark": "kb_latency",
        "docs": args.docs,
        "k": 5,
        "queries": args.queries,
        "build_seconds": round(build_s, 1),
        "embed_seconds": round(embed_s, 1),
        "target": TARGET,
        "results": results,
        "environment": environment(),
    }
    rows = [[k, v["p50_ms"], v["p95_ms"], v["mean_ms"], v["n"]] for k, v in results.items()]
    data["markdown"] = (
        f"Knowledge-base query latency, {args.docs} docs, k=5, one thread "
        f"(store built in {build_s:.0f} s)\n\n"
        + table(["query", "p50 ms", "p95 ms", "mean ms", "n"], rows)
    )
    write_result("kb_latency", data)
    print(data["markdown"])


if __name__ == "__main__":
    main()
