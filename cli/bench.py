"""`animagent bench`: the benchmarks of benchmarks/ (the same as `make bench`)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

SOURCE_ROOT = Path(__file__).resolve().parents[1]


def bench(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Benchmarks to run (default: all); see --list."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Records per data set (TaskBench, BFCL).")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="Name the benchmarks and stop.")] = False,
    file: Annotated[
        str | None,
        typer.Option("--file", help="TaskBench only: score this JSONL (e.g. a held-out split)."),
    ] = None,
) -> None:
    """Run benchmarks; write docs/benchmarks.md and benchmarks/results/*.json."""
    if not (SOURCE_ROOT / "benchmarks" / "all.py").is_file():
        typer.echo(
            "animagent bench needs a source checkout (benchmarks/ is not installed with the "
            "package): git clone the project and run `make bench` there.",
            err=True,
        )
        raise typer.Exit(2)
    if str(SOURCE_ROOT) not in sys.path:
        sys.path.insert(0, str(SOURCE_ROOT))
    main = importlib.import_module("benchmarks.all").main  # a checkout module, not a package

    argv = [*(names or []), *(["--limit", str(limit)] if limit else []), *(["--list"] * list_)]
    argv += ["--file", file] if file else []
    raise typer.Exit(main(argv))


def register(app: typer.Typer) -> None:
    """Add the bench command to the CLI."""
    app.command(name="bench")(bench)
