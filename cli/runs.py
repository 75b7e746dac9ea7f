"""`animagent runs`, `show` and `report`: past runs from the checkpointer and the outputs folder."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from configs.settings import Settings, get_settings

EXIT_INPUT = 2
HISTORY_LIMIT = 500  # checkpoints read per thread for plan versions and timings


def _epoch(stamp: Any) -> float | None:
    if not stamp:
        return None
    try:
        return dt.datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return None


@contextmanager
def _graph(settings: Settings, err: Console) -> Iterator[Any]:
    """The director graph on the configured checkpointer, or None when it cannot be opened."""
    from graph.builder import build_graph
    from graph.persistence import CheckpointError, open_checkpointer

    path = Path(settings.checkpoint_path).expanduser()
    if settings.checkpoint.backend == "sqlite" and not path.is_file():
        yield None, None  # no runs checkpointed yet; reading must not create the file
        return
    with ExitStack() as stack:
        try:
            saver = stack.enter_context(open_checkpointer(settings))
        except CheckpointError as exc:
            err.print(f"[yellow]checkpoints not read:[/] {escape(str(exc))} (showing files only)")
            saver = None
        yield (build_graph(saver) if saver is not None else None), saver


def _snapshot(graph: Any, thread: str, with_history: bool) -> tuple[dict[str, Any], list[Any]]:
    """The thread's latest state (values, next, interrupts, created_at) and its history."""
    if graph is None:
        return {}, []
    config = {"configurable": {"thread_id": thread}}
    state = graph.get_state(config)
    if not state.values and not state.next:
        return {}, []
    snap = {
        "values": state.values,
        "next": list(state.next),
        "interrupts": [{"value": i.value} for i in state.interrupts],
        "created_at": _epoch(state.created_at),
    }
    history: list[dict[str, Any]] = []
    if with_history:
        for i, h in enumerate(graph.get_state_history(config)):
            if i >= HISTORY_LIMIT:
                break
            history.append(
                {"values": h.values, "next": list(h.next), "created_at": _epoch(h.created_at)}
            )
        history.reverse()  # oldest first
    return snap, history


def _threads(saver: Any) -> list[str]:
    """Thread ids the checkpointer knows, newest first."""
    if saver is None:
        return []
    seen: dict[str, None] = {}
    for item in saver.list(None):
        seen.setdefault(str(item.config["configurable"]["thread_id"]), None)
    return list(seen)


def _made(view: dict[str, Any]) -> str:
    kinds = Counter(f["kind"] for f in view["artifacts"] + view["other_files"])
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "nothing"


def _locate(thread: str, settings: Settings) -> Path | None:
    from services.run_view import find_run_folder

    return find_run_folder(Path(settings.outputs_dir).expanduser(), thread)


def _view(thread: str, settings: Settings, err: Console, history: bool) -> tuple[Path, Any]:
    """The run's folder and collected view; exits with code 2 when nothing is known of it."""
    from services.outputs import check_id, run_dir
    from services.run_view import collect, read_manifest

    check_id(thread)  # `..` or `/x` is bad input (exit 2), never a folder to look in
    folder = _locate(thread, settings)
    with _graph(settings, err) as (graph, _saver):
        snap, hist = _snapshot(graph, thread, history)
    if folder is None and not snap:
        err.print(
            f"[bold red]error:[/] no run {escape(thread)!r}: no manifest or output folder under "
            f"{escape(str(settings.outputs_dir))} and no checkpoint for it. `animagent runs` "
            "lists the runs there (ANIMAGENT_OUTPUTS_DIR sets the folder)."
        )
        raise typer.Exit(EXIT_INPUT)
    folder = folder or run_dir(thread, settings)
    view = collect(folder, read_manifest(folder), snap, hist)
    view["thread_id"] = thread
    return folder, (view, snap, hist)


def runs(limit: int = typer.Option(30, help="Show at most this many runs, newest first.")) -> None:
    """List past runs: status, request, when, duration, what was made."""
    from services.run_view import collect, read_manifest, run_folders

    console, err = Console(), Console(stderr=True)
    settings = get_settings()
    folders = run_folders(Path(settings.outputs_dir).expanduser())
    rows = []
    with _graph(settings, err) as (graph, saver):
        threads = list(dict.fromkeys([*_threads(saver), *folders]))
        for thread in threads:
            snap, _ = _snapshot(graph, thread, with_history=False)
            folder = folders.get(thread) or Path(settings.outputs_dir) / thread
            view = collect(folder, read_manifest(folder), snap)
            manifest = read_manifest(folder) or {}
            when = manifest.get("finished_at") or snap.get("created_at") or 0.0
            rows.append((float(when), thread, view))
    if not rows:
        console.print(f"No runs yet in {escape(str(settings.outputs_dir))} or the checkpoints.")
        return
    table = Table(title=f"Runs ({len(rows)})")
    for col in ("thread", "status", "when", "took", "request", "made"):
        table.add_column(col, overflow="fold")
    for when, thread, view in sorted(rows, key=lambda r: -r[0])[:limit]:
        took = view["duration"]
        table.add_row(
            escape(thread),
            escape(view["status"]),
            dt.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M") if when else "-",
            f"{took:.1f} s" if took is not None else "-",
            escape(view["request"][:60] or "-"),
            escape(_made(view)),
        )
    console.print(table)


def show(thread_id: str = typer.Argument(..., help="The run (thread id) to show.")) -> None:
    """Print a run's state: plan, steps, scores, questions waiting, what is missing."""
    console, err = Console(), Console(stderr=True)
    folder, (view, _snap, _hist) = _view(thread_id, get_settings(), err, history=False)
    console.print(f"[bold]{escape(view['thread_id'])}[/] [magenta]{escape(view['status'])}[/]")
    if view["status_note"]:
        console.print(escape(view["status_note"]))
    console.print(f"request: {escape(view['request'] or '-')}", soft_wrap=True)
    steps = Table(title=f"Plan v{view['plan_version']} ({escape(view['strategy'] or '-')})")
    for col in ("step", "tool", "status", "attempts", "score", "time", "judge's reasons"):
        steps.add_column(col, overflow="fold")
    for s in view["steps"]:
        steps.add_row(
            escape(s["id"]),
            escape(s["tool"]),
            escape(s["status"]),
            str(s["attempts"] if s["attempts"] is not None else "-"),
            f"{s['score']:.2f}" if s["score"] is not None else "-",
            f"{s['seconds']:.2f} s" if s["seconds"] is not None else "-",
            escape("; ".join(s["reasons"]) or s["error"] or ""),
        )
    if view["steps"]:
        console.print(steps)
    if view["deliverables"]:
        wanted = Table(title="Deliverables")
        for col in view["deliverable_columns"]:
            wanted.add_column(escape(str(col)), overflow="fold")
        for d in view["deliverables"]:
            wanted.add_row(*(escape(str(d.get(c, "-"))) for c in view["deliverable_columns"]))
        console.print(wanted)
    for question in view["questions"]:
        console.print(f"[bold yellow]Waiting for your answer:[/] {escape(question)}")
        console.print(f'Answer with: animagent resume {thread_id} --answer "..."', soft_wrap=True)
    for item in view["not_done"]:
        console.print(f"[red]not done:[/] {escape(' · '.join(str(v) for v in item.values()))}")
    for missing in view["missing"]:
        console.print(f"[yellow]missing:[/] {escape(missing)}")
    console.print(f"files: {escape(_made(view))} in {escape(str(folder))}", soft_wrap=True)


def report(thread_id: str = typer.Argument(..., help="The run (thread id).")) -> None:
    """Write (or rewrite) the run's report.html, with plan versions and node timings."""
    from services.outputs import atomic_write_bytes
    from services.report import REPORT_NAME, render_report

    console, err = Console(), Console(stderr=True)
    folder, (view, _snap, _hist) = _view(thread_id, get_settings(), err, history=True)
    path = atomic_write_bytes(folder / REPORT_NAME, render_report(view).encode("utf-8"))
    for missing in view["missing"]:
        console.print(f"[yellow]missing:[/] {escape(missing)}")
    console.print(
        f"[green]Report:[/] {escape(str(path))} ({escape(view['status'])})", soft_wrap=True
    )


def register(app: typer.Typer) -> None:
    """Add the run-history commands to the `animagent` CLI."""
    app.command()(runs)
    app.command()(show)
    app.command()(report)
