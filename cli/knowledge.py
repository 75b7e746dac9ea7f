"""`animagent ingest`: load knowledge files into the studio's Chroma store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from configs.settings import get_settings


def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Knowledge files or folders (.md .yaml .yml .json .txt).")
    ],
    collection: Annotated[
        str | None,
        typer.Option(
            "--collection",
            "-c",
            help="Put everything in this collection instead of routing by `kind:` or folder "
            "(character_knowledge, style_guides, or a name of your own).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="All or nothing: any unusable knowledge file in a folder stops the whole "
            "ingest before anything is written (default: skip it with a warning).",
        ),
    ] = False,
) -> None:
    """Ingest knowledge files; re-ingesting a file updates it instead of duplicating it.

    Exit codes: 2 bad input (a missing path, a bad named file, --strict and a bad file),
    4 the store or the embedding model failed (files written before the failure stay).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from services.ingest import IngestError, ingest_paths
    from services.knowledge_base import KnowledgeBaseError, get_knowledge_base

    console = Console()
    err = Console(stderr=True)
    settings = get_settings()
    if not settings.knowledge.enabled:
        err.print(
            "[red]The knowledge base is disabled[/]: set knowledge.enabled: true "
            "(ANIMAGENT_KNOWLEDGE__ENABLED=1)."
        )
        raise typer.Exit(2)
    kb = get_knowledge_base(settings)
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("reading and embedding…", total=None)

        def advance(done: int, total: int, source: str) -> None:
            bar.update(task, completed=done, total=total, description=source)

        try:
            report = ingest_paths(kb, paths, collection=collection, progress=advance, strict=strict)
        except KnowledgeBaseError as exc:
            bar.stop()
            err.print(f"[red]ingest failed[/]: {escape(str(exc))}", highlight=False)
            raise typer.Exit(2 if isinstance(exc, IngestError) else 4) from exc
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    table = Table(title=f"Ingested into {kb.location}")
    table.add_column("source")
    table.add_column("collection")
    table.add_column("chunks", justify="right")
    for source, name, chunks in report.files:
        table.add_row(source, name, str(chunks))
    console.print(table)
    console.print(
        f"{len(report.files)} file(s), {report.chunks} chunk(s) in {report.seconds:.1f} s; "
        f"{report.removed} stale chunk(s) removed; {len(report.skipped)} file(s) skipped "
        f"(README or not .md/.yaml/.json/.txt); {len(report.warnings)} unusable file(s) skipped "
        "with a warning."
    )


def register(app: typer.Typer) -> None:
    """Add the `ingest` command to the animagent CLI."""
    app.command("ingest")(ingest)
