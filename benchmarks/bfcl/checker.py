"""BFCL's non-live AST checker, written from the rules in shared/benchmarks/bfcl/METRICS.md.

A call is ``{function_name: {arg: value}}``; a possible answer maps each parameter to a list of
acceptable values ("" in the list: the parameter may be left out). ``check(category, ...)``
returns ``(ok, reason)``; scoring is binary per entry.
"""

from __future__ import annotations

import re
from typing import Any

Call = dict[str, dict[str, Any]]
Answer = dict[str, dict[str, list[Any]]]

PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_STRIP = re.compile(r"[ ,./\-_*^]")


def normalize(text: str) -> str:
    """BFCL string normalisation: drop spaces and ``,./-_*^``, lower-case, ' -> "."""
    return _STRIP.sub("", text).lower().replace("'", '"')


def _norm_value(value: Any) -> Any:
    return normalize(value) if isinstance(value, str) else value


def _type_ok(value: Any, expected: type) -> bool:
    return type(value) is expected


def _check_type(
    value: Any, schema: dict[str, Any], accepted: list[Any]
) -> tuple[bool, bool, Any, str]:
    """(ok, is_variable, value after promotion, reason)."""
    kind = str(schema.get("type", "string"))
    expected = PY_TYPES.get(kind, str)
    concrete = [a for a in accepted if a != ""]
    if kind == "float" and type(value) is int:
        value = float(value)
    if kind == "tuple" and isinstance(value, tuple):
        value = list(value)
    answer_type = type(concrete[0]) if concrete else expected
    variable = answer_type is not expected
    if _type_ok(value, expected):
        if kind in {"array", "tuple"} and not variable and not _items_ok(value, schema, accepted):
            return False, False, value, f"wrong element type in {kind}"
        return True, variable, value, ""
    if variable and type(value) is answer_type:
        return True, True, value, ""
    return False, False, value, f"type {type(value).__name__} is not {kind}"


def _items_ok(value: list[Any], schema: dict[str, Any], accepted: list[Any]) -> bool:
    item_kind = (schema.get("items") or {}).get("type")
    item_type = PY_TYPES.get(str(item_kind)) if item_kind else None
    for answer in accepted:
        if not isinstance(answer, list):
            return True  # e.g. the optional marker "": the element check is skipped
        if item_type is None or all(type(v) is item_type for v in value):
            return True
    return False


def _dict_ok(value: dict[str, Any], answer: dict[str, list[Any]]) -> bool:
    for key, got in value.items():
        if key not in answer:
            return False
        options = answer[key] if isinstance(answer[key], list) else [answer[key]]
        if _norm_value(got) not in [_norm_value(o) for o in options]:
            return False
    return all(k in value for k, opts in answer.items() if "" not in opts)


def _value_ok(value: Any, accepted: list[Any], variable: bool) -> bool:
    if variable:
        return value in accepted
    if isinstance(value, str):
        return normalize(value) in [normalize(a) for a in accepted if isinstance(a, str)]
    if isinstance(value, dict):
        return any(_dict_ok(value, a) for a in accepted if isinstance(a, dict))
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            for answer in accepted:
                if (
                    isinstance(answer, list)
                    and len(answer) == len(value)
                    and all(isinstance(a, dict) and _dict_ok(v, a) for v, a in zip(value, answer))
                ):
                    return True
            return False
        normal = [_norm_value(v) for v in value]
        return any(isinstance(a, list) and [_norm_value(v) for v in a] == normal for a in accepted)
    return value in accepted


def check_call(call: Call, schema: dict[str, Any], answer: Answer) -> tuple[bool, str]:
    """Check one model call against one function schema and one ground-truth entry."""
    expected_name = next(iter(answer))
    expected_args = answer[expected_name]
    if not isinstance(call, dict) or len(call) != 1:
        return False, "call is not a single {name: args} object"
    name, args = next(iter(call.items()))
    if name != expected_name and name != expected_name.replace(".", "_"):
        return False, f"function name {name!r} is not {expected_name!r}"
    if not isinstance(args, dict):
        return False, "arguments are not an object"
    params = schema.get("parameters") or {}
    props = params.get("properties") or {}
    for required in params.get("required") or []:
        if required not in args:
            return False, f"missing required parameter {required!r}"
    for key, value in args.items():
        if key not in props or key not in expected_args:
            return False, f"unexpected parameter {key!r}"
        accepted = expected_args[key]
        ok, variable, value, reason = _check_type(value, props[key], accepted)
        if not ok:
            return False, f"{key}: {reason}"
        if not _value_ok(value, accepted, variable):
            return False, f"{key}: value {value!r} not in {accepted!r}"
    for key, accepted in expected_args.items():
        if key not in args and "" not in accepted:
            return False, f"optional parameter {key!r} not provided and not marked optional"
    return True, ""


def _schema_for(functions: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for fn in functions:
        if fn["name"] == name:
            return fn
    return None


def _well_formed(output: Any) -> bool:
    return isinstance(output, list) and all(
        isinstance(c, dict) and len(c) == 1 and isinstance(next(iter(c.values())), dict)
        for c in output
    )


def check(
    category: str,
    output: Any,
    functions: list[dict[str, Any]],
    ground_truth: list[Answer] | None,
) -> tuple[bool, str]:
    """Score one entry of ``category`` (simple*, multiple, parallel*, irrelevance)."""
    if category.startswith("irrelevance"):
        if not _well_formed(output) or output == [] or output == [{}]:
            return True, ""
        return False, "made a call where none was relevant"
    if not _well_formed(output):
        return False, "ast_decoder:decoder_wrong_output_format"
    truth = ground_truth or []
    if len(output) != len(truth):
        return False, f"wrong number of functions: {len(output)} instead of {len(truth)}"
    if category.startswith("simple") or category == "multiple":
        schema = _schema_for(functions, next(iter(truth[0])))
        if schema is None:
            return False, "expected function not offered"
        return check_call(output[0], schema, truth[0])
    remaining = list(output)
    for answer in truth:
        schema = _schema_for(functions, next(iter(answer)))
        if schema is None:
            return False, "expected function not offered"
        for index, call in enumerate(remaining):
            if check_call(call, schema, answer)[0]:
                del remaining[index]
                break
        else:
            return False, f"no call matches expected {next(iter(answer))!r}"
    return True, ""
