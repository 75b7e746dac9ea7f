"""Retrieval quality on the seed knowledge: recall@1/@5 and MRR over a labelled question set.

Ingests configs/knowledge/ into a fresh Chroma folder with the packaged all-MiniLM-L6-v2 and
asks every question of benchmarks/data/kb_questions.yaml twice: of the collection it names
(what the agent's tools do), and of both collections merged by relevance (harder: the
collection is not known). The seed set is small (4 character files, 3 style files), so the
same questions are asked again after adding --distractors synthetic chunks (scene notes about
the same characters and places, split between the two collections): that is the figure that
says whether retrieval finds the answer among many near misses.

    OMP_NUM_THREADS=1 python -m benchmarks.kb_recall [--k 5] [--distractors 1000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import yaml

from benchmarks.kb_common import environment, synthetic_docs, table, write_result

QUESTIONS = Path(__file__).resolve().parent / "data" / "kb_questions.yaml"
TARGET_RECALL_AT_5 = 0.9


def rank_of(answer: str, sources: list[str]) -> int | None:
    """1-based rank of the first chunk from the answering file, or None."""
    for i, source in enumerate(sources, start=1):
        if source.endswith(answer):
            return i
    return None


def scores(ranks: list[int | None], k: int) -> dict[str, float]:
    n = len(ranks)
    return {
        "recall@1": round(sum(r == 1 for r in ranks) / n, 3),
        f"recall@{k}": round(sum(r is not None and r <= k for r in ranks) / n, 3),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--distractors", type=int, default=1000)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from configs.settings import PACKAGE_DIR, Settings
    from services.ingest import ingest_paths
    from services.knowledge_base import CHARACTERS, STYLES, KnowledgeBase, Record, stable_id

    questions: list[dict[str, str]] = yaml.safe_load(QUESTIONS.read_text())
    results: dict[str, dict[str, float]] = {}
    misses: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Settings(data_dir=Path(tmp)))
        seed = PACKAGE_DIR / "knowledge"
        report = ingest_paths(kb, [seed / "characters", seed / "styles"])
        for stage in ("seed only", f"seed + {args.distractors} distractors"):
            if stage != "seed only":
                docs = synthetic_docs(args.distractors, seed=23)
                vectors = kb.embed([t for t, _ in docs])
                for i, ((text, meta), vec) in enumerate(zip(docs, vectors)):
                    name = CHARACTERS if i % 2 else STYLES
                    kb.upsert(name, [Record(stable_id("distractor", i), text, meta, vec)])
            routed: list[int | None] = []
            merged: list[int | None] = []
            for item in questions:
                found = kb.query(item["collection"], item["q"], k=args.k)
                rank = rank_of(item["answer"], [f.source for f in found])
                routed.append(rank)
                both = kb.query(CHARACTERS, item["q"], k=args.k)
                both += kb.query(STYLES, item["q"], k=args.k)
                both.sort(key=lambda f: f.score, reverse=True)
                merged.append(rank_of(item["answer"], [f.source for f in both[: args.k]]))
                if rank is None or rank > 1:
                    top = found[0].source if found else ""
                    misses.append(
                        {
                            "stage": stage,
                            "q": item["q"],
                            "answer": item["answer"],
                            "rank": rank,
                            "top": top,
                        }
                    )
            results[f"{stage}, routed"] = scores(routed, args.k)
            results[f"{stage}, merged"] = scores(merged, args.k)
        kb.close()

    data = {
        "benchmark": "kb_recall",
        "questions": len(questions),
        "chunks": report.chunks,
        "k": args.k,
        "target": {f"recall@{args.k}": TARGET_RECALL_AT_5},
        "results": results,
        "not_first": misses,
        "environment": environment(),
    }
    data["markdown"] = (
        f"Retrieval quality, {len(questions)} labelled questions, {report.chunks} seed chunks\n\n"
        + table(
            ["search", "recall@1", f"recall@{args.k}", "MRR"],
            [[name, r["recall@1"], r[f"recall@{args.k}"], r["mrr"]] for name, r in results.items()],
        )
    )
    write_result("kb_recall", data)
    print(data["markdown"])
    if misses:
        print("\nAnswer not ranked first (routed search):")
        for m in misses:
            print(f"- [{m['stage']}] {m['q']} -> rank {m['rank']} (top: {m['top']})")


if __name__ == "__main__":
    main()
