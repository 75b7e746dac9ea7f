"""`animagent chat`: talk to the studio's model; it calls registered functions as it goes.

Interactive on a terminal; ``--message`` (repeatable) plays the turns non-interactively for
scripts and tests. The functions are the studio's available tools, or the public functions of
``--functions MODULE`` (type-hinted Python functions). Exit codes as in cli/main.py: 2 bad
input or configuration, 4 the model is unavailable.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

EXIT_INPUT, EXIT_UNAVAILABLE = 2, 4


def _module_functions(name: str) -> list[Any]:
    """The public functions defined in module ``name`` (not the ones it imports)."""
    from services.conversation import function_from_callable

    module = importlib.import_module(name)
    found = [
        obj
        for attr, obj in vars(module).items()
        if inspect.isfunction(obj)
        and not attr.startswith("_")
        and obj.__module__ == module.__name__
    ]
    return [function_from_callable(fn) for fn in found]


def chat(
    message: Annotated[
        list[str] | None,
        typer.Option("--message", "-m", help="A user turn (repeat for several); no prompt."),
    ] = None,
    functions: Annotated[
        str | None,
        typer.Option(
            "--functions",
            help="A Python module whose public, type-hinted functions the model may call "
            "(default: the studio's available tools).",
        ),
    ] = None,
    max_rounds: Annotated[int, typer.Option(help="Function-calling rounds per turn.", min=1)] = 3,
) -> None:
    """Chat with the model; it calls functions and answers with their results."""
    from configs.settings import get_settings
    from services.conversation import Conversation
    from services.llm import LLMUnavailableError, get_chat_model

    console = Console()
    err = Console(stderr=True)
    settings = get_settings()
    try:
        if functions:
            offered = _module_functions(functions)
        else:
            from tools.functions import functions_from_registry
            from tools.registry import ToolContext, default_registry

            folder = settings.outputs_dir / f"chat-{uuid.uuid4().hex[:8]}"
            ctx = ToolContext(run_dir=folder, step_id="chat", settings=settings)
            offered = functions_from_registry(default_registry(), ctx)
    except (ImportError, TypeError) as exc:
        err.print(
            f"[bold red]error:[/] cannot load functions from {escape(str(functions))}: "
            f"{escape(str(exc))}. Give an importable module of type-hinted functions."
        )
        raise typer.Exit(EXIT_INPUT) from exc
    try:
        model = get_chat_model("director", settings)
    except LLMUnavailableError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_UNAVAILABLE) from exc
    conversation = Conversation(
        offered, model=model, native_tools=settings.llm.native_tools, max_rounds=max_rounds
    )
    names = ", ".join(f.name for f in offered) or "none"
    err.print(f"[dim]functions: {escape(names)}[/]")
    turns = list(message or [])
    interactive = not turns
    if interactive and not sys.stdin.isatty():
        err.print(
            '[bold red]error:[/] no terminal to chat on: pass the turns with --message "...".'
        )
        raise typer.Exit(EXIT_INPUT)
    while True:
        if interactive:
            try:
                text = console.input("[bold cyan]you>[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if text in {"", "exit", "quit"}:
                if text:
                    break
                continue
        elif turns:
            text = turns.pop(0)
            console.print(f"[bold cyan]you>[/] {escape(text)}")
        else:
            break
        try:
            turn = conversation.send(text)
        except LLMUnavailableError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(EXIT_UNAVAILABLE) from exc
        for call in turn.calls:
            args = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
            style = "green" if call.ok else "red"
            console.print(f"  [{style}]call[/] {escape(call.name)}({escape(args)})")
            console.print(f"    [dim]-> {escape(call.result[:300])}[/]")
        console.print(f"[bold magenta]model>[/] {escape(turn.answer)}")


def register(app: typer.Typer) -> None:
    """Add the `chat` command to the animagent CLI."""
    app.command("chat")(chat)
