"""The acceptance suite (issue 8): labelled studio requests through the real graph, scored.

    python -m benchmarks.acceptance [--model fake|fake-garbage|fake-echo|embedded]
                                    [--limit N] [--only r01,r02] [--label before]
                                    [--no-knowledge]
    python -m benchmarks acceptance            # the fake model, all records
    python -m benchmarks acceptance_embedded   # the embedded model (about 30 s a request)

Every request of benchmarks/data/studio_requests.jsonl runs through ``graph.builder.build_graph``
with an InMemorySaver and ``Context(proceed_on_guess=True)``, outputs and data in one temp
folder shared by the whole run (so later requests can retrieve earlier ones' past generations:
that is where cross-run copying comes from). benchmarks/acceptance_score.py scores each run;
the result goes to benchmarks/results/acceptance[_<model>][_<label>].json (no model name for
the fake) and to the section of the same name in docs/benchmarks.md. The product never reads
benchmarks/data.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.acceptance_score import RunView, score_run, summarize
from benchmarks.common import agent_builder, isolate_outputs, machine, write_result

DATA = Path(__file__).resolve().parent / "data" / "studio_requests.jsonl"
MODELS = ("fake", "fake-garbage", "fake-echo", "embedded")
# Modules whose prompt constants a dialogue must not reproduce (missing ones are skipped).
PROMPT_MODULES = ("tools.dialogue", "nodes.prompts", "planning.prompts")


def load_records(
    path: Path = DATA, limit: int | None = None, only: list[str] | None = None
) -> list[dict[str, Any]]:
    """The labelled requests, optionally some ids or the first ``limit``."""
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    if only:  # in the order given (a time-boxed run does the first ones)
        by_id = {r["id"]: r for r in records}
        records = [by_id[i] for i in only if i in by_id]
    return records[:limit] if limit else records


def prompt_texts() -> list[str]:
    """Every prompt constant of the product (upper-case module strings of 40+ characters)."""
    texts = []
    for name in PROMPT_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for attr, value in vars(module).items():
            if attr.isupper() and isinstance(value, str) and len(value) >= 40:
                texts.append(value)
    return texts


def make_model(name: str) -> Any:
    """The scripted fake for ``fake*`` names; None for the embedded (settings) model."""
    from benchmarks.acceptance_fake import StudioFake

    match name:
        case "fake":
            return StudioFake()
        case "fake-garbage":
            return StudioFake(variant="garbage")
        case "fake-echo":
            return StudioFake(variant="echo")
        case "embedded":
            return None
    raise ValueError(f"unknown model {name!r}: use one of {', '.join(MODELS)}")


def run_one(graph: Any, record: dict[str, Any], context: Any) -> dict[str, Any]:
    """One request through the graph: its final report, run folder, time and LLM calls."""
    from services.llm import USAGE

    thread = f"acc-{record['id']}-{uuid.uuid4().hex[:8]}"
    config = {"configurable": {"thread_id": thread}}
    before = USAGE.snapshot()
    started = time.perf_counter()
    error = ""
    try:
        graph.invoke({"request": record["request"]}, config, context=context)
    except Exception as exc:  # a crash is a result to report, not a reason to stop the suite
        error = f"{type(exc).__name__}: {exc}"[:300]
    seconds = time.perf_counter() - started
    after = USAGE.snapshot()
    state = graph.get_state(config)
    final = state.values.get("final") if state.values else None
    if state.interrupts:
        error = error or "paused at a question although proceed_on_guess=True"
    folder = Path(final["output_dir"]) if final and final.get("output_dir") else None
    view = RunView.read(final, folder) if final else None
    return {
        "record": record,
        "thread": thread,
        "saved": view.as_saved() if view else None,
        "error": error,
        "seconds": round(seconds, 3),
        "llm_calls": after["calls"] - before["calls"],
        "tokens": (after["prompt_tokens"] + after["completion_tokens"])
        - (before["prompt_tokens"] + before["completion_tokens"]),
    }


def score_all(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score every run; each is compared with the prompts, the others' lines and all ids."""
    prompts = prompt_texts()
    views = {r["thread"]: RunView.saved(r["saved"]) if r["saved"] else None for r in runs}
    lines = {t: [ln["text"] for ln in v.lines] if v else [] for t, v in views.items()}
    ids = [r["thread"] for r in runs]
    rows = []
    for run in runs:
        others = [t for thread, texts in lines.items() if thread != run["thread"] for t in texts]
        own_ids = [i for i in ids if i != run["thread"]]
        row = score_run(
            run["record"],
            views[run["thread"]],
            prompts=prompts,
            other_lines=others,
            ids=own_ids,
            error=run["error"],
        )
        row.update(seconds=run["seconds"], llm_calls=run["llm_calls"], tokens=run["tokens"])
        rows.append(row)
    return rows


def measure(
    model: str = "fake",
    limit: int | None = None,
    only: list[str] | None = None,
    knowledge: bool = True,
    records: list[dict[str, Any]] | None = None,
    max_seconds: float = 0.0,
) -> dict[str, Any]:
    """Run and score the suite; the result holds per-request rows, the summary and Markdown.

    ``max_seconds`` (0: none) stops starting new requests once that much time has passed.
    """
    from langgraph.checkpoint.memory import InMemorySaver

    from services.llm import override_models
    from state import Context

    build = agent_builder()
    if build is None:
        raise RuntimeError("graph.builder.build_graph is not importable: the suite needs the graph")
    records = records if records is not None else load_records(limit=limit, only=only)
    fake = make_model(model)
    env = {} if knowledge else {"ANIMAGENT_KNOWLEDGE__ENABLED": "false"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, isolate_outputs(Path(tmp), **env):
        with override_models(fake) if fake is not None else contextlib.nullcontext():
            graph = build(InMemorySaver())
            context = Context(proceed_on_guess=True)
            runs = []
            for record in records:
                if max_seconds and time.perf_counter() - started > max_seconds:
                    break  # a time budget on shared cores: score what ran, say how many
                runs.append(run_one(graph, record, context))
                last = runs[-1]
                print(
                    f"{record['id']}: {last['seconds']:.1f} s, {last['llm_calls']} LLM calls"
                    + (f", {last['error']}" if last["error"] else ""),
                    file=sys.stderr,
                    flush=True,
                )
    return report(model, knowledge, runs, time.perf_counter() - started)


def report(
    model: str, knowledge: bool, runs: list[dict[str, Any]], seconds_total: float
) -> dict[str, Any]:
    """Score ``runs`` and assemble the result (also used to re-score a saved result)."""
    rows = score_all(runs)
    summary = summarize(rows)
    seconds = sorted(r["seconds"] for r in rows)
    summary.update(
        llm_calls=sum(r["llm_calls"] for r in rows),
        llm_calls_per_request=round(sum(r["llm_calls"] for r in rows) / max(1, len(rows)), 2),
        seconds_total=round(seconds_total, 1),
        seconds_per_request_median=seconds[len(seconds) // 2] if seconds else 0.0,
    )
    result: dict[str, Any] = {
        "benchmark": "acceptance",
        "model": model,
        "knowledge": knowledge,
        "machine": machine(),
        "summary": summary,
        "rows": rows,
        # What each run left, so the scorer can run again on it (``rescore``) without a model.
        "runs": [
            {
                "id": r["record"]["id"],
                "thread": r["thread"],
                "error": r["error"],
                "seconds": r["seconds"],
                "llm_calls": r["llm_calls"],
                "tokens": r["tokens"],
                "saved": r["saved"],
            }
            for r in runs
        ],
    }
    result["markdown"] = markdown(result)
    return result


def rescore(saved: dict[str, Any], path: Path = DATA) -> dict[str, Any]:
    """Score a saved result again with the current scorer and labels (no model runs)."""
    records = {r["id"]: r for r in load_records(path)}
    runs = [{**run, "record": records[run["id"]]} for run in saved["runs"]]
    result = report(saved["model"], saved["knowledge"], runs, saved["summary"]["seconds_total"])
    result["machine"] = saved["machine"]  # the figures were measured there, not here
    return result


def _cell(row: dict[str, Any]) -> str:
    broken = [k for k, v in row["constraints"].items() if v is False]
    missing = [k for k, o in row["deliverables"].items() if o not in ("made", "reported")]
    notes = []
    if row["error"]:
        notes.append(f"error: {row['error'][:60]}")
    if missing:
        notes.append("deliverables " + ", ".join(f"{k}={row['deliverables'][k]}" for k in missing))
    if broken:
        notes.append("broke " + ", ".join(broken))
    if row["copied_lines"] or row["echo_lines"]:
        notes.append(f"copied {len(row['copied_lines'])}, echo {len(row['echo_lines'])}")
    if row["exit_ok"] is False:
        notes.append(f"exit {row['exit_code']}")
    return "; ".join(notes) or "ok"


def markdown(result: dict[str, Any]) -> str:
    """The overall figures, the constraint table and one line per request."""
    s = result["summary"]

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.0f}%"

    out = [
        f"Model: {result['model']}; knowledge base {'on' if result['knowledge'] else 'off'}; "
        f"{s['requests']} requests, {s['passed']} passed every check, {s['errors']} crashed.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| deliverables made / honestly reported / missing / falsely claimed (of "
        f"{s['deliverables_total']}) | {s['deliverables_made']} / {s['deliverables_reported']} / "
        f"{s['deliverables_missing']} / {s['deliverables_false_claims']} |",
        f"| requests whose deliverables are all made or honestly reported | "
        f"{pct(s['deliverables_ok_rate'])} |",
        f"| deliverables made that were not asked for | {s['extra_deliverables']} |",
        f"| constraints kept (all kinds) | {pct(s['constraints_kept_rate'])} |",
        f"| dialogue lines / copied (prompt, other run, tag) / echoing the request | "
        f"{s['lines']} / {s['copied_lines']} ({pct(s['copy_rate'])}) / {s['echo_lines']} |",
        f"| decisions repaired or fallen back (of all decisions) | {s['repairs']} "
        f"(of {s['decisions']}) |",
        f"| exit code correct (requests with an expected code) | {pct(s['exit_ok_rate'])} |",
        f"| runs whose report carries exit_code | {s['exit_code_reported']} |",
        f"| LLM calls (per request) | {s['llm_calls']} ({s['llm_calls_per_request']}) |",
        f"| wall time total / median per request | {s['seconds_total']} s / "
        f"{s['seconds_per_request_median']} s |",
        "",
        "| constraint | kept | of |",
        "|---|---|---|",
    ]
    out += [f"| {k} | {v['kept']} | {v['of']} |" for k, v in s["constraints"].items()]
    out += ["", "| request | passed | what failed |", "|---|---|---|"]
    out += [
        f"| {r['id']} | {'yes' if r['passed'] else 'no'} | {_cell(r)} |" for r in result["rows"]
    ]
    return "\n".join(out)


def section_name(model: str, label: str = "") -> str:
    """``acceptance`` (the fake), ``acceptance_embedded``, ``acceptance_embedded_before``, ..."""
    suffix = "" if model == "fake" else "_" + model.replace("-", "_")
    return "acceptance" + suffix + (f"_{label}" if label else "")


def main(argv: list[str] | None = None) -> None:
    """Run the suite, write its JSON and its section of docs/benchmarks.md."""
    from benchmarks.all import section, update_report

    parser = argparse.ArgumentParser(description="the acceptance suite (issue 8)")
    parser.add_argument("--model", choices=MODELS, default="fake")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--only", default="", help="comma-separated record ids")
    parser.add_argument("--label", default="", help="e.g. before / after (names the section)")
    parser.add_argument("--no-knowledge", action="store_true", help="knowledge base off")
    parser.add_argument("--rescore", type=Path, help="score a saved result JSON again")
    parser.add_argument(
        "--max-seconds", type=float, default=0.0, help="start no new request after this long"
    )
    args = parser.parse_args(argv)
    only = [i for i in args.only.split(",") if i] or None
    started = time.perf_counter()
    if args.rescore:
        result = rescore(json.loads(args.rescore.read_text("utf-8")))
        args.model = result["model"]
    else:
        result = measure(
            args.model,
            args.limit,
            only,
            knowledge=not args.no_knowledge,
            max_seconds=args.max_seconds,
        )
    name = section_name(args.model, args.label)
    write_result(name, result)
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m benchmarks.acceptance", *given]).strip()
    update_report({name: section(name, result, time.perf_counter() - started, command)})
    print(result["markdown"])


if __name__ == "__main__":
    main()
