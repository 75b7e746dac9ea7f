"""The `animagent` command: run, resume, doctor, tools, graph (+ plugin commands: runs, report ...).

Exit codes: 0 done, 1 unexpected error (a bug: rerun with --debug for the traceback),
2 bad input or configuration, 3 paused waiting for an answer, 4 the model or a store is
unavailable (the run is checkpointed: resume it), 5 finished but incomplete (something asked
for was not made, failed, or stayed below the quality bar). Every known fault ends with one
line that names the fix (cli/errors.py); ``animagent --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from cli.errors import DEBUG, EXIT_INPUT, EXIT_PAUSED, EXIT_UNAVAILABLE, GuardedTyper, fail

app = GuardedTyper(
    add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False
)
console = Console(stderr=False)
err = Console(stderr=True)

EXIT_INCOMPLETE = 5


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of any error."),
) -> None:
    """Animagent: a director agent for animation work."""
    import logging

    from services.redact import RedactingFilter

    DEBUG.set(debug)
    # Library warnings (httpx, openai, chromadb) can quote a URL with its password.
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])


def _fail(message: str, code: int) -> None:
    fail(message, code)


def _settings() -> Any:
    from configs.settings import SettingsError, get_settings

    try:
        return get_settings()
    except SettingsError as exc:
        _fail(f"invalid configuration: {exc}", EXIT_INPUT)
        raise AssertionError from exc
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            where = ".".join(str(p) for p in e["loc"])
            if e["type"] == "extra_forbidden":
                problems.append(f"unknown setting {where!r}: remove it or fix its spelling")
            else:
                problems.append(f"{where}: {e['msg']}")
        _fail(
            "invalid configuration (configs/agent.yaml, .env or ANIMAGENT_* variables):\n  "
            + "\n  ".join(problems)
            + "\nSee configs/agent.yaml for every setting.",
            EXIT_INPUT,
        )
        raise AssertionError from exc


def _context(**overrides: Any) -> Any:
    from state import Context

    return Context(**{k: v for k, v in overrides.items() if v is not None})


def _print_update(node: str, update: Any) -> None:
    if not isinstance(update, dict):
        return
    for thought in update.get("thoughts") or []:
        console.print(f"[cyan]{node:>10}[/] {thought.text}")


def _stream(graph: Any, payload: Any, config: dict[str, Any], context: Any) -> None:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        console=console,
        transient=True,
    ) as progress:
        bars: dict[str, Any] = {}
        for mode, chunk in graph.stream(
            payload, config, context=context, stream_mode=["updates", "custom"], durability="sync"
        ):
            if mode == "updates":
                for node, update in chunk.items():
                    if node != "__interrupt__":
                        _print_update(node, update)
            elif isinstance(chunk, dict) and chunk.get("event") == "progress":
                key = chunk["step"]
                if key not in bars:
                    bars[key] = progress.add_task(f"{key} {chunk['tool']}", total=1.0)
                progress.update(
                    bars[key], completed=chunk["fraction"], description=f"{key} {chunk['message']}"
                )


def _finish(
    graph: Any, config: dict[str, Any], context: Any, thread: str, interactive: bool
) -> None:
    from langgraph.types import Command

    while True:
        state = graph.get_state(config)
        if not state.interrupts:
            break
        question = state.interrupts[0].value.get("question", "?")
        if not interactive:
            console.print(f"\n[bold yellow]Waiting for your answer:[/] {question}", soft_wrap=True)
            # soft_wrap: a command wrapped at the terminal width cannot be copied and pasted
            console.print(f'Answer with: animagent resume {thread} --answer "..."', soft_wrap=True)
            raise typer.Exit(EXIT_PAUSED)
        answer = typer.prompt(question)
        _stream(graph, Command(resume=answer), config, context)
    final = state.values.get("final") or {}
    _report(final)
    if final.get("status") == "incomplete":
        raise typer.Exit(EXIT_INCOMPLETE)


def _report(final: dict[str, Any]) -> None:
    if not final:
        return
    table = Table(title="Plan and results")
    for col in ("step", "tool", "attempts", "score"):
        table.add_column(col)
    scores = final.get("scores", {})
    steps = final.get("steps", {})
    for step in final.get("plan", []):
        info = steps.get(step["id"], {})
        score = scores.get(step["id"])
        table.add_row(
            step["id"],
            step["tool"],
            str(info.get("attempts", "-")),
            f"{score:.2f}" if isinstance(score, float) else "-",
        )
    console.print(table)
    console.print(final.get("summary", ""), markup=False, highlight=False)
    console.print(f"[green]Output:[/] {final.get('output_dir')}/manifest.json", soft_wrap=True)


def _run_graph(
    payload: Any, thread: str, context: Any, interactive: bool, *, resuming: bool = False
) -> None:
    from cli.errors import classify
    from graph.builder import build_graph
    from graph.persistence import open_checkpointer
    from nodes.common import RequestError

    config = {"configurable": {"thread_id": thread}}
    try:
        with open_checkpointer() as saver:
            graph = build_graph(saver)
            if resuming and not graph.get_state(config).values:  # type: ignore[arg-type]
                _fail(
                    f"there is no run with thread id {thread!r} to resume (in "
                    f"{_settings().checkpoint_path}): use the id `animagent run` printed, or "
                    "start a new run.",
                    EXIT_INPUT,
                )
            _stream(graph, payload, config, context)
            _finish(graph, config, context, thread, interactive)
    except RequestError as exc:
        _fail(str(exc), EXIT_INPUT)
    except Exception as exc:
        known = classify(exc)
        if known is None or known[0] != EXIT_UNAVAILABLE:
            raise
        _fail(
            f"{known[1]}\nNothing made so far is lost: `animagent resume {thread}` continues.",
            EXIT_UNAVAILABLE,
        )


def _read_request(request: str, file: Path | None) -> str:
    """The request text: the argument, ``-`` for stdin, or ``--file PATH``."""
    if file is not None:
        if request:
            _fail("give the request as an argument or with --file, not both.", EXIT_INPUT)
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"cannot read the request file {file}: {exc}", EXIT_INPUT)
    if request == "-":
        return sys.stdin.read()
    return request


@app.command()
def run(
    request: str = typer.Argument(
        "", help="The creative request, in plain words; `-` reads it from stdin."
    ),
    file: Path = typer.Option(None, "--file", "-f", help="Read the request from this file."),
    thread_id: str = typer.Option("", help="Thread id (default: a new one)."),
    guess: bool = typer.Option(
        False, "--guess", help="Never stop to ask; go on with the best guess."
    ),
    strategy: str = typer.Option(None, help="auto | plan_execute | react | cot | tot | reflexion"),
    threshold: float = typer.Option(None, help="Quality threshold 0..1."),
    max_iterations: int = typer.Option(None, help="Retries per step."),
    approve: bool = typer.Option(False, "--approve", help="Approve the plan before GPU work."),
    web: bool = typer.Option(False, "--web", help="Allow web search for this run."),
) -> None:
    """Run the director on a request and stream its progress."""
    from services.outputs import check_id

    settings = _settings()
    if thread_id:
        check_id(thread_id)
    text = _read_request(request, file).strip()
    if not text:
        _fail(
            'the request is empty: say what to make, e.g. animagent run "a scene where ..."',
            EXIT_INPUT,
        )
    limit = settings.agent.max_request_chars
    if len(text) > limit:
        _fail(
            f"the request is {len(text)} characters; the limit is {limit}. Shorten it or raise "
            "ANIMAGENT_AGENT__MAX_REQUEST_CHARS.",
            EXIT_INPUT,
        )
    from services.llm import LLMUnavailableError, get_chat_model

    try:
        get_chat_model("director")
    except LLMUnavailableError as exc:
        _fail(str(exc), EXIT_UNAVAILABLE)
    thread = thread_id or uuid.uuid4().hex[:12]
    console.print(f"[bold]animagent[/] thread [magenta]{thread}[/]")
    context = _context(
        proceed_on_guess=guess or None,
        strategy=strategy,
        quality_threshold=threshold,
        max_iterations=max_iterations,
        approve_plan=approve or None,
        web_search=web or None,
    )
    _run_graph({"request": text}, thread, context, interactive=sys.stdin.isatty())


@app.command()
def resume(
    thread_id: str = typer.Argument(..., help="The thread to continue."),
    answer: str = typer.Option(None, help="Answer to the question the run is waiting on."),
) -> None:
    """Continue a paused or crashed run; finished steps are not run again."""
    from langgraph.types import Command

    from services.outputs import check_id

    _settings()
    check_id(thread_id)
    payload: Command[str] | None = Command(resume=answer) if answer is not None else None
    _run_graph(payload, thread_id, _context(), interactive=sys.stdin.isatty(), resuming=True)


@app.command()
def tools() -> None:
    """List the registered tools and whether each can run here."""
    from tools.registry import default_registry

    settings = _settings()
    table = Table(title="Tools")
    for col in ("name", "category", "heavy", "available"):
        table.add_column(col)
    for spec in default_registry().all():
        avail = spec.availability(settings)
        table.add_row(
            spec.name,
            spec.category,
            "yes" if spec.heavy else "no",
            "yes" if avail.ok else f"no: {avail.reason}",
        )
    console.print(table)


@app.command()
def doctor() -> None:
    """What is configured and what is available (LLM, GPU, tools, stores)."""
    from services.gpu import probe_gpu
    from services.llm import LLMUnavailableError, check_reachable, describe
    from services.redact import configured_secrets, redact

    settings = _settings()
    rows: list[tuple[str, str]] = [
        ("outputs_dir", str(settings.outputs_dir)),
        ("data_dir", str(settings.data_dir)),
        ("llm", describe(settings.llm)),
        ("checkpoints", f"{settings.checkpoint.backend} {settings.checkpoint_path}"),
    ]
    try:
        rows.append(("llm status", f"ok: {check_reachable()}"))
        ok = True
    except LLMUnavailableError as exc:
        rows.append(("llm status", f"UNAVAILABLE: {exc}"))
        ok = False
    gpu = probe_gpu()
    rows.append(("gpu", f"{gpu.name} {gpu.total_gb:.1f} GB" if gpu.available else gpu.reason))
    from services.gpu import doctor_rows
    from tools.registry import default_registry

    heavy = [(s.name, s.vram_gb) for s in default_registry().all() if s.heavy]
    rows.extend(doctor_rows(settings, heavy))
    table = Table(title="animagent doctor", show_header=False)
    secrets = configured_secrets(settings)
    for key, value in rows:
        table.add_row(key, redact(value, secrets))
    console.print(table)
    tools()
    if not ok:
        raise typer.Exit(EXIT_UNAVAILABLE)


@app.command()
def graph(xray: bool = typer.Option(False, help="Show subgraphs.")) -> None:
    """Print the graph as Mermaid (what the README's picture is made from)."""
    from graph.builder import graph as compiled

    console.print(compiled.get_graph(xray=xray).draw_mermaid(), markup=False, highlight=False)


for _name in ("cli.knowledge", "cli.offers", "cli.bench", "cli.runs", "cli.chat"):
    try:
        importlib.import_module(_name).register(app)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:
            raise

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
