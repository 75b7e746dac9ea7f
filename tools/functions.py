"""The studio's registered tools as conversation functions (``services.conversation``).

Lives in tools/ because it reads ``ToolSpec``s; services must not import upwards.
"""

from __future__ import annotations

from typing import Any

from services.conversation import Function
from tools.registry import ToolContext, ToolRegistry, ToolSpec


def function_from_spec(spec: ToolSpec, ctx: ToolContext) -> Function:
    """One tool spec as a function: its own pydantic argument model validates the call."""
    model = spec.tool.tool_call_schema

    def body(args: dict[str, Any]) -> Any:
        return spec.run(spec.validate(args), ctx)

    return Function(
        name=spec.name,
        description=spec.description,
        parameters=spec.arg_schema(),
        args_model=model,  # type: ignore[arg-type]
        body=body,
    )


def functions_from_registry(registry: ToolRegistry, ctx: ToolContext) -> list[Function]:
    """Every tool available with ``ctx.settings`` (unavailable ones would only fail)."""
    return [function_from_spec(spec, ctx) for spec in registry.available(ctx.settings)]
