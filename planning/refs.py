"""Plan and reference operations: ``$step.field`` strings that link a step to earlier outputs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

REF = re.compile(r"^\$([A-Za-z][\w-]{0,15})(?:\.(\w+))?$")
NO_CHANGE = object()
"""Returned by a ``map_references`` callback to keep a reference as it is."""


def ref(step_id: str, field: str | None = None) -> str:
    """The reference string to ``step_id``'s output (or one field of it)."""
    return f"${step_id}" + (f".{field}" if field else "")


def references(value: Any) -> list[tuple[str, str | None]]:
    """Every ``$step.field`` reference inside an argument value."""
    found: list[tuple[str, str | None]] = []
    if isinstance(value, str):
        match = REF.match(value.strip())
        if match:
            found.append((match.group(1), match.group(2)))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(references(item))
    return found


def map_references(value: Any, replace: Callable[[str, str | None], Any]) -> Any:
    """``value`` with every ``$step.field`` string replaced by ``replace(step, field)``.

    ``replace`` returns ``NO_CHANGE`` to keep a reference as it is.
    """
    if isinstance(value, str):
        match = REF.match(value.strip())
        if match:
            new = replace(match.group(1), match.group(2))
            return value if new is NO_CHANGE else new
        return value
    if isinstance(value, list):
        return [map_references(v, replace) for v in value]
    if isinstance(value, dict):
        return {k: map_references(v, replace) for k, v in value.items()}
    return value


def rename_references(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` with references to steps in ``mapping`` pointed at their new ids."""

    def rename(step: str, field: str | None) -> Any:
        if step not in mapping:
            return NO_CHANGE
        return ref(mapping[step], field)

    return map_references(value, rename)
