"""`animagent offers`: web answers offered to the knowledge base; accept or reject them.

A run that answers a question about studio matters from the web offers the answer (with its
numbered sources, the question, the date and the run) to the knowledge base. Nothing offered
is retrieved until a person accepts it here (services/web_offers.py, ADR 0017).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.errors import EXIT_INPUT, GuardedTyper, fail, guarded
from configs.settings import get_settings

if TYPE_CHECKING:
    from services.knowledge_base import KnowledgeBase
    from services.web_offers import Status

offers_app = GuardedTyper(
    name="offers",
    help="Web answers offered to the knowledge base: list, accept, reject.",
    no_args_is_help=False,
)


def _kb() -> KnowledgeBase:
    from services.knowledge_base import get_knowledge_base

    settings = get_settings()
    if not settings.knowledge.enabled:
        fail(
            "the knowledge base is disabled: set knowledge.enabled: true "
            "(ANIMAGENT_KNOWLEDGE__ENABLED=1)",
            EXIT_INPUT,
        )
    return get_knowledge_base(settings)


@offers_app.callback(invoke_without_command=True)
@guarded
def list_offers(
    ctx: typer.Context,
    every: Annotated[
        bool, typer.Option("--all", help="Also accepted and rejected web notes.")
    ] = False,
    full: Annotated[bool, typer.Option("--full", help="Print each answer in full.")] = False,
) -> None:
    """List the web answers waiting for a decision (``--all``: every web note)."""
    if ctx.invoked_subcommand is not None:
        return
    from services import web_offers

    found = web_offers.offers(_kb(), None if every else "offered")
    console = Console()
    if not found:
        console.print("No web answers are waiting." if not every else "No web notes stored.")
        return
    if full:
        for o in found:
            console.print(
                f"[bold]{o.id}[/] {o.status} {o.date} run {escape(o.run_id)} step {o.step}\n"
                f"Q: {escape(o.question)}\nWhy: {escape('; '.join(o.reasons))}\n"
                f"{escape(o.answer)}\n",
                highlight=False,
            )
        return
    table = Table(title="Web answers offered to the knowledge base")
    for column in ("id", "status", "date", "run", "question", "why", "sources"):
        table.add_column(column)
    for o in found:
        table.add_row(
            o.id[:8],
            o.status,
            o.date[:10],
            f"{o.run_id}/{o.step}",
            escape(o.question[:80]),
            escape("; ".join(o.reasons)[:80]),
            str(len(o.sources)),
        )
    console.print(table)
    console.print("Accept one with `animagent offers accept ID`, reject with `... reject ID`.")


def _decide(offer_id: str, status: Status) -> None:
    from services import web_offers

    try:
        done = web_offers.decide(_kb(), offer_id, status)
    except web_offers.OfferError as exc:
        fail(str(exc), EXIT_INPUT)
        raise AssertionError from exc
    what = (
        "later runs retrieve it (shown to you in the brief, never quoted into a prompt)"
        if status == "accepted"
        else "it is never retrieved"
    )
    Console().print(
        f"{status.capitalize()} {done.id[:8]} ({escape(done.question[:60])}): {what}.",
        highlight=False,
    )


@offers_app.command("accept")
def accept(
    offer_id: Annotated[str, typer.Argument(help="The offer's id (or its first 6+ characters).")],
) -> None:
    """Accept a web answer into the knowledge base: later runs retrieve it."""
    _decide(offer_id, "accepted")


@offers_app.command("reject")
def reject(
    offer_id: Annotated[str, typer.Argument(help="The offer's id (or its first 6+ characters).")],
) -> None:
    """Reject a web answer: it stays stored as rejected and is never retrieved."""
    _decide(offer_id, "rejected")


def register(app: typer.Typer) -> None:
    """Add the `offers` command group to the animagent CLI."""
    app.add_typer(offers_app)
