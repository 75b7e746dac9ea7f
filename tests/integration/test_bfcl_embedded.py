"""Function calling on the real embedded model: five BFCL-style questions, well-formed calls.

Not an accuracy test (that is benchmarks/bfcl): it checks that the grammar, the prompt and the
post-processing give calls the AST checker can read, with the names and types offered.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.function_calling import call_functions


def fn(name: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name.replace('_', ' ')}.",
        "parameters": {"type": "dict", "properties": props, "required": required},
    }


CASES = [
    (
        [fn("calculate_triangle_area", {"base": {"type": "integer"}, "height": {"type": "integer"}},
            ["base", "height"])],
        "Find the area of a triangle with a base of 10 units and height of 5 units.",
    ),
    (
        [fn("math.factorial", {"number": {"type": "integer"}}, ["number"])],
        "Calculate the factorial of 5.",
    ),
    (
        [fn("get_weather", {"city": {"type": "string"}, "days": {"type": "integer"}}, ["city"]),
         fn("convert_currency", {"amount": {"type": "float"}, "to": {"type": "string",
            "enum": ["EUR", "USD"]}}, ["amount", "to"])],
        "Convert 100 dollars to EUR.",
    ),
    (
        [fn("set_alarm", {"hour": {"type": "integer"}, "loud": {"type": "boolean"}}, ["hour"])],
        "Set a loud alarm for 7.",
    ),
    (
        [fn("get_weather", {"city": {"type": "string"}}, ["city"])],
        "What is the weather in Boston and in Paris?",
    ),
]  # fmt: skip

TYPES = {"integer": int, "float": float, "string": str, "boolean": bool}


@pytest.mark.integration
@pytest.mark.parametrize(("functions", "question"), CASES)
def test_embedded_model_makes_well_formed_calls(
    functions: list[dict[str, Any]], question: str
) -> None:
    calls, decision = call_functions(functions, [{"role": "user", "content": question}])
    assert calls, f"no call for a relevant question ({decision.method}: {decision.reason})"
    offered = {f["name"]: f["parameters"] for f in functions}
    for call in calls:
        ((name, args),) = call.items()
        params = offered[name]
        assert set(params["required"]) <= set(args)
        for key, value in args.items():
            assert type(value) is TYPES[params["properties"][key]["type"]]
            enum = params["properties"][key].get("enum")
            assert enum is None or value in enum
