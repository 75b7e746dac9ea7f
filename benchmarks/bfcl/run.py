"""BFCL (AST categories) through our function-calling layer.

    python -m benchmarks.bfcl.run [--category simple_python|multiple|parallel|
        parallel_multiple|irrelevance|all] [--file PATH --answers PATH] [--limit N]
        [--model embedded|fake] [--no-select] [--no-ground]

Accepts any file in BFCL's format (``--file`` with ``--answers``; irrelevance-like files need no
answers). Prints a Markdown table and writes benchmarks/results/bfcl.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.bfcl.checker import check
from services.function_calling import to_messages

# ../shared/benchmarks/bfcl beside the checkout (as for TaskBench); ANIMAGENT_BFCL_DIR wins.
SHARED_BFCL = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "bfcl"
DATA_DIR = Path(os.environ.get("ANIMAGENT_BFCL_DIR", str(SHARED_BFCL)))
RESULTS = Path(__file__).resolve().parents[1] / "results" / "bfcl.json"
CATEGORIES = ["simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"]
# The relevance cut-off for MiniLM cosine similarity between the request and a function's name
# and description (one global number, chosen on the development split; see docs/benchmarks.md).
THRESHOLD = 0.3


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """One JSON object per non-empty line."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def category_files(category: str, data_dir: Path = DATA_DIR) -> tuple[Path, Path | None]:
    """The question file and (if any) the possible-answer file of a category."""
    questions = data_dir / f"BFCL_v4_{category}.json"
    answers = data_dir / "possible_answer" / f"BFCL_v4_{category}.json"
    return questions, (answers if answers.exists() else None)


def _messages(record: dict[str, Any]) -> list[dict[str, Any]]:
    turns = record["question"]
    return list(turns[0]) if turns and isinstance(turns[0], list) else list(turns)


def converse(
    record: dict[str, Any],
    similarity: Any,
    ground_values: bool,
    threshold: float,
) -> tuple[list[dict[str, dict[str, Any]]], str]:
    """One BFCL record as one user turn of the product's ``Conversation``; the calls it made.

    The record's function docs become the conversation's functions (their bodies only say
    "done": BFCL scores the calls, not results), earlier turns of the question become the
    chat history, and one round is played without the closing text answer, which BFCL does
    not score.
    """
    from services.conversation import Conversation, function_from_definition
    from services.llm import get_chat_model

    functions = [function_from_definition(fn, lambda args: "done") for fn in record["function"]]
    chat = Conversation(
        functions,
        model=get_chat_model(),
        max_rounds=1,
        max_calls=8,
        answer=False,
        similarity=similarity,
        threshold=threshold,
        ground_values=ground_values,
    )
    *history, last = _messages(record)
    chat.messages.extend(to_messages(history))
    turn = chat.send(str(last.get("content", "")))
    return [{c.name: c.arguments} for c in turn.calls], turn.stopped


def evaluate_file(
    category: str,
    questions: Path,
    answers: Path | None,
    *,
    limit: int | None = None,
    select: bool = True,
    ground_values: bool = True,
    threshold: float = THRESHOLD,
) -> dict[str, Any]:
    """Run every record of one file and score it with the AST checker."""
    from services.function_calling import embedding_similarity

    records = load_jsonl(questions)[:limit]
    truth: dict[str, Any] = {}
    if answers is not None:
        truth = {r["id"]: r["ground_truth"] for r in load_jsonl(answers)}
    similarity = embedding_similarity() if select else None
    correct, seconds, failures = 0, [], []
    methods: dict[str, int] = {}
    for record in records:
        started = time.perf_counter()
        calls, stopped = converse(record, similarity, ground_values, threshold)
        seconds.append(time.perf_counter() - started)
        methods[stopped] = methods.get(stopped, 0) + 1
        ok, reason = check(category, calls, record["function"], truth.get(record["id"]))
        correct += ok
        if len(seconds) % 25 == 0:
            print(f"{category}: {len(seconds)}/{len(records)} correct {correct}", file=sys.stderr)
        if not ok:
            failures.append({"id": record["id"], "reason": reason, "calls": calls})
    total = len(records)
    return {
        "category": category,
        "file": questions.name,  # the name only: no machine path in committed results
        "total": total,
        "correct": correct,
        "accuracy": correct / total if total else 0.0,
        "seconds_p50": statistics.median(seconds) if seconds else 0.0,
        "seconds_total": sum(seconds),
        "methods": methods,
        "failures": failures,
    }


def run_bfcl(
    categories: list[str] | None = None,
    *,
    limit: int | None = None,
    model: str = "embedded",
    select: bool = True,
    ground_values: bool = True,
    threshold: float = THRESHOLD,
    files: list[tuple[str, Path, Path | None]] | None = None,
    write: bool = True,
    out: Path = RESULTS,
) -> dict[str, Any]:
    """Score the categories (default: all five) and return (and write) the results."""
    jobs = files or [(c, *category_files(c)) for c in (categories or CATEGORIES)]
    with ExitStack() as stack:
        if model == "fake":
            from services.fake_llm import FakeChatModel
            from services.llm import override_models

            stack.enter_context(override_models(FakeChatModel()))
        rows = [
            evaluate_file(
                c,
                q,
                a,
                limit=limit,
                select=select,
                ground_values=ground_values,
                threshold=threshold,
            )
            for c, q, a in jobs
        ]
    result = {
        "benchmark": "bfcl",
        "model": model,
        "limit": limit,
        "select": select,
        "ground_values": ground_values,
        "threshold": threshold,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "categories": rows,
        "markdown": markdown(rows),
    }
    if write:
        _merge_write(out, result)
    return result


def _merge_write(path: Path, result: dict[str, Any]) -> None:
    """Write ``result``, keeping categories measured earlier that this run did not repeat."""
    rows = list(result["categories"])
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            previous = {}
        fresh = {r["category"] for r in rows}
        rows = [r for r in previous.get("categories", []) if r["category"] not in fresh] + rows
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**result, "categories": rows, "markdown": markdown(rows)}
    path.write_text(json.dumps(merged, indent=1), encoding="utf-8")


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| category | records | correct | accuracy | p50 s/record |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['category']} | {r['total']} | {r['correct']} | {100 * r['accuracy']:.1f}% "
            f"| {r['seconds_p50']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", default="all", choices=[*CATEGORIES, "all"])
    parser.add_argument("--file", type=Path, help="a question file in BFCL's format")
    parser.add_argument("--answers", type=Path, help="its possible-answer file")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model", default="embedded", choices=["embedded", "fake"])
    parser.add_argument("--no-select", action="store_true", help="no similarity selection")
    parser.add_argument("--no-ground", action="store_true", help="no value grounding")
    parser.add_argument("--threshold", type=float, default=THRESHOLD, help="relevance cut-off")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    files = None
    if args.file:
        category = args.category if args.category != "all" else args.file.stem.split("_v4_")[-1]
        files = [(category, args.file, args.answers)]
    categories = None if args.category == "all" else [args.category]
    result = run_bfcl(
        categories,
        limit=args.limit,
        model=args.model,
        select=not args.no_select,
        ground_values=not args.no_ground,
        threshold=args.threshold,
        files=files,
        out=args.out,
    )
    print(result["markdown"])


if __name__ == "__main__":
    main()
