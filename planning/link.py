"""Typed links: which earlier step (or user resource) feeds each input of each step.

Given tools in run order, every typed input a tool ``consumes`` takes the previous step's
output when its type fits and the catalog allows the link, else an older output nothing
consumed yet, else a value of that type the user supplied (a file, URL or quoted text). The
same rules repair a proposed order: unknown and repeated tools are dropped, links rebuilt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from planning.catalog import Catalog, ToolInfo
from planning.resources import Resources


def inputs(tool: ToolInfo) -> tuple[str, ...]:
    """The data types of a tool's typed inputs, in argument order (repeats allowed)."""
    return tuple(tool.consumes.values())


def outputs(tool: ToolInfo) -> set[str]:
    """The data types a tool's outputs hold."""
    return set(tool.produces.values())


def output_field(tool: ToolInfo, data_type: str) -> str:
    """The first output field of ``tool`` holding ``data_type`` (empty if none)."""
    return next((k for k, v in tool.produces.items() if v == data_type), "")


@dataclass(frozen=True)
class Feed:
    """Where one input comes from: an earlier step's output field, or a literal value."""

    argument: str
    data_type: str
    step: int | None = None
    """Index of the earlier step in the order (``None`` for a user value)."""
    field: str = ""
    value: str | None = None


@dataclass
class LinkedStep:
    """A tool in run order with where each of its typed inputs comes from."""

    tool: str
    feeds: list[Feed] = field(default_factory=list)

    @property
    def sources(self) -> list[int]:
        """The earlier steps this step depends on."""
        return [f.step for f in self.feeds if f.step is not None]


def link_steps(order: Sequence[str], catalog: Catalog, resources: Resources) -> list[LinkedStep]:
    """Link each step's typed inputs to earlier outputs or user resources (see module doc)."""
    steps: list[LinkedStep] = []
    consumed: set[int] = set()
    used: Counter[str] = Counter()
    for index, name in enumerate(order):
        tool = catalog.get(name)
        step = LinkedStep(name)
        steps.append(step)
        if tool is None:
            continue
        linked: set[int] = set()
        for argument, data_type in tool.consumes.items():
            source = _nearest_source(order, index, data_type, catalog, consumed, linked)
            if source is not None:
                linked.add(source)
                consumed.add(source)
                producer = catalog.get(order[source])
                out_field = output_field(producer, data_type) if producer else ""
                step.feeds.append(Feed(argument, data_type, step=source, field=out_field))
                continue
            value = resources.take(data_type, used)
            if value is not None:
                step.feeds.append(Feed(argument, data_type, value=value))
    return steps


def _nearest_source(
    order: Sequence[str],
    index: int,
    data_type: str,
    catalog: Catalog,
    consumed: set[int],
    linked: set[int],
) -> int | None:
    """The closest earlier step whose output fits ``data_type``: unconsumed ones first."""
    candidates = []
    for j in range(index - 1, -1, -1):
        producer = catalog.get(order[j])
        if (
            j not in linked
            and producer is not None
            and data_type in outputs(producer)
            and catalog.can_feed(order[j], order[index])
        ):
            candidates.append(j)
    if not candidates:
        return None
    fresh = [j for j in candidates if j not in consumed]
    # The previous step always feeds the next one in a chain; older outputs only if unused.
    if candidates[0] == index - 1:
        return index - 1
    return fresh[0] if fresh else None


def known_order(names: Iterable[str], catalog: Catalog) -> tuple[list[str], list[str]]:
    """A proposed order with unknown and repeated tools dropped, and what was dropped."""
    notes: list[str] = []
    order: list[str] = []
    for name in names:
        if catalog.get(name) is None:
            notes.append(f"dropped unknown tool {name!r}")
        elif name in order:
            notes.append(f"dropped repeated {name!r}")
        else:
            order.append(name)
    return order, notes
