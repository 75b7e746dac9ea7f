"""Validation and repair: nothing reaches act unless it is a valid DAG of available tools.

``validate_steps`` is the last guard before execution, whatever produced the steps (the
builder, a merge, a model's proposal, a resumed checkpoint): a step with an unknown or
unavailable tool, an invalid argument, a reference to an output its source does not produce,
a duplicate id, or a dependency on a dropped step or on itself (a cycle) is dropped, and every
repair is written down. It never raises for bad input.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter, ValidationError

from planning.catalog import Catalog
from planning.refs import references
from state.models import Step

STEP_ID = re.compile(r"^s[1-9]\d{0,5}$")
"""System step ids: ``s1`` .. ``s999999`` (never a model's or a thread's id)."""


def _valid_value(schema: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` fits a JSON-schema property (via pydantic, loosely typed)."""
    kind = schema.get("type")
    python: Any = {
        "string": str,
        "integer": int,
        "number": float,
        "boolean": bool,
        "array": list[Any],
        "object": dict[str, Any],
    }.get(kind if isinstance(kind, str) else "", Any)
    try:
        TypeAdapter(python).validate_python(value, strict=kind in {"string", "boolean"})
    except ValidationError:
        return False
    return True


def _step_of(raw: Any, repairs: list[str]) -> Step | None:
    if isinstance(raw, Step):
        return raw
    try:
        return Step.model_validate(raw)
    except ValidationError as exc:
        repairs.append(f"dropped a malformed step ({exc.error_count()} problems)")
        return None


def validate_steps(
    raw_steps: list[Any], catalog: Catalog, available: set[str]
) -> tuple[list[Step], list[str]]:
    """The valid part of ``raw_steps``, in order, and what was repaired."""
    repairs: list[str] = []
    kept: list[Step] = []
    tools: dict[str, str] = {}
    for raw in raw_steps:
        step = _step_of(raw, repairs)
        if step is None:
            continue
        problem = _problem(step, tools, catalog, available)
        if problem:
            repairs.append(f"dropped step {step.id!r} ({step.tool}): {problem}")
            continue
        kept.append(step)
        tools[step.id] = step.tool
    return kept, repairs


def _problem(step: Step, earlier: dict[str, str], catalog: Catalog, available: set[str]) -> str:
    """Why ``step`` cannot run after the ``earlier`` valid steps ("" when it can)."""
    if not STEP_ID.fullmatch(step.id):  # match() would let "s1\n" through ($ before \n)
        return "its id is not a system id"
    if step.id in earlier:
        return "a step with that id already exists"
    info = catalog.get(step.tool)
    if info is None:
        return "unknown tool"
    if step.tool not in available:
        return "the tool is not available here"
    schema = info.arg_schema()
    props: dict[str, Any] = schema.get("properties", {})
    for dep in step.depends_on:
        if dep == step.id:
            return "it depends on itself"
        if dep not in earlier:
            return f"it depends on {dep!r}, which is not an earlier valid step"
    for key, value in step.args.items():
        if key not in props:
            return f"unknown argument {key!r}"
        refs = references(value)
        for source, out_field in refs:
            if source not in earlier or source not in step.depends_on:
                return f"argument {key!r} refers to {source!r}, not an earlier dependency"
            producer = catalog.get(earlier[source])
            if out_field and producer is not None and out_field not in producer.produces:
                outputs = getattr(producer, "outputs", ())
                if out_field not in outputs:
                    return f"{earlier[source]} does not produce {out_field!r}"
        if not refs and not _valid_value(props[key], value):
            return f"invalid value for {key!r}"
    missing = [k for k in schema.get("required", []) if k not in step.args]
    if missing:
        return f"required arguments missing: {', '.join(missing)}"
    return ""
