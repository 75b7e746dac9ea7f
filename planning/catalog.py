"""The catalog interface the planner works over; ``tools.registry.ToolRegistry`` implements it.

A tool is known to the planner by its name, its description and hints, the data types its
arguments consume and its outputs produce, and the deliverable it makes (if any). Links between
steps follow from these types, so no tool or argument name is hard-coded in planning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

# The data types of the studio's own tools. Plugins and the TaskBench adapter may use others:
# a type is any lower-case word, compared for equality.
TEXT, DIALOGUE, AUDIO, IMAGE, VIDEO, SCENE, ANSWER, KNOWLEDGE = (
    "text",
    "dialogue",
    "audio",
    "image",
    "video",
    "scene",
    "answer",
    "knowledge",
)


class ToolInfo(Protocol):
    """What the planner reads of one tool (``tools.registry.ToolSpec`` has these)."""

    @property
    def name(self) -> str:
        """The tool's unique name."""
        ...

    @property
    def description(self) -> str:
        """What the tool does (the model reads this)."""
        ...

    consumes: dict[str, str]
    produces: dict[str, str]
    makes: str
    hints: tuple[str, ...]
    heavy: bool

    def arg_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments the planner may fill."""
        ...


class Catalog(Protocol):
    """A set of tools the planner may choose from."""

    def get(self, name: str) -> ToolInfo | None:
        """The tool named ``name``, if any."""
        ...

    def all(self) -> Sequence[ToolInfo]:
        """Every tool, in a stable order."""
        ...

    def can_feed(self, source: str, target: str) -> bool:
        """Whether ``source``'s output may feed ``target``."""
        ...


def producers(catalog: Catalog, data_type: str, among: set[str] | None = None) -> list[str]:
    """Tools whose outputs include ``data_type`` (optionally only those in ``among``)."""
    return [
        t.name
        for t in catalog.all()
        if data_type in t.produces.values() and (among is None or t.name in among)
    ]


def makers(catalog: Catalog, deliverable: str, among: set[str] | None = None) -> list[str]:
    """Tools that make the deliverable ``deliverable``."""
    return [
        t.name
        for t in catalog.all()
        if t.makes == deliverable and (among is None or t.name in among)
    ]
