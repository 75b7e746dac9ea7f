"""The BFCL AST checker against hand-worked examples: each rule passes once and fails once."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.bfcl.checker import check, check_call, normalize


def fn(name: str, props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "description": "",
        "parameters": {"type": "dict", "properties": props, "required": required or []},
    }


AREA = fn(
    "calc.area",
    {"base": {"type": "integer"}, "height": {"type": "float"}, "unit": {"type": "string"}},
    ["base", "height"],
)
AREA_TRUTH = {"calc.area": {"base": [10], "height": [5.0], "unit": ["units", ""]}}


def simple(call: Any, schema: dict[str, Any] = AREA, truth: Any = AREA_TRUTH) -> bool:
    return check("simple_python", call, [schema], [truth])[0]


def test_correct_call_passes_and_wrong_name_fails() -> None:
    assert simple([{"calc.area": {"base": 10, "height": 5.0}}])
    assert not simple([{"calc.volume": {"base": 10, "height": 5.0}}])


def test_dotted_name_may_be_written_with_underscores() -> None:
    assert simple([{"calc_area": {"base": 10, "height": 5.0}}])
    assert not simple([{"calcarea": {"base": 10, "height": 5.0}}])


def test_required_parameter_must_be_present() -> None:
    assert not simple([{"calc.area": {"base": 10}}])


def test_unexpected_parameter_fails_even_if_in_schema() -> None:
    schema = fn("f", {"a": {"type": "integer"}, "b": {"type": "integer"}}, ["a"])
    truth = {"f": {"a": [1]}}
    assert simple([{"f": {"a": 1}}], schema, truth)
    assert not simple([{"f": {"a": 1, "b": 2}}], schema, truth)
    assert not simple([{"f": {"a": 1, "zzz": 2}}], schema, truth)


def test_int_is_promoted_to_float_but_float_is_not_an_integer() -> None:
    assert simple([{"calc.area": {"base": 10, "height": 5}}])
    assert not simple([{"calc.area": {"base": 10.0, "height": 5.0}}])


def test_bool_is_checked_by_exact_type() -> None:
    schema = fn("f", {"flag": {"type": "boolean"}, "n": {"type": "integer"}}, ["flag", "n"])
    truth = {"f": {"flag": [True], "n": [1]}}
    assert simple([{"f": {"flag": True, "n": 1}}], schema, truth)
    assert not simple([{"f": {"flag": 1, "n": 1}}], schema, truth)
    assert not simple([{"f": {"flag": True, "n": True}}], schema, truth)


def test_string_for_integer_is_a_type_error() -> None:
    assert not simple([{"calc.area": {"base": "10", "height": 5.0}}])


def test_strings_are_normalised() -> None:
    assert normalize("San Francisco, CA") == "sanfranciscoca"
    schema = fn("w", {"city": {"type": "string"}}, ["city"])
    truth = {"w": {"city": ["San Francisco, CA"]}}
    assert simple([{"w": {"city": "san francisco ca"}}], schema, truth)
    assert not simple([{"w": {"city": "San Francisco (CA)"}}], schema, truth)
    assert not simple([{"w": {"city": "San Francisco"}}], schema, truth)


def test_lists_are_order_and_length_sensitive_with_element_types() -> None:
    schema = fn("s", {"xs": {"type": "array", "items": {"type": "integer"}}}, ["xs"])
    truth = {"s": {"xs": [[1, 2, 3]]}}
    assert simple([{"s": {"xs": [1, 2, 3]}}], schema, truth)
    assert not simple([{"s": {"xs": [3, 2, 1]}}], schema, truth)
    assert not simple([{"s": {"xs": [1, 2]}}], schema, truth)
    assert not simple([{"s": {"xs": [1.0, 2.0, 3.0]}}], schema, truth)


def test_list_strings_are_normalised_elementwise() -> None:
    schema = fn("s", {"xs": {"type": "array", "items": {"type": "string"}}}, ["xs"])
    truth = {"s": {"xs": [["New York", "LA"]]}}
    assert simple([{"s": {"xs": ["new-york", "la"]}}], schema, truth)
    assert not simple([{"s": {"xs": ["la", "new york"]}}], schema, truth)


def test_tuple_type_accepts_a_list() -> None:
    schema = fn("t", {"p": {"type": "tuple", "items": {"type": "integer"}}}, ["p"])
    truth = {"t": {"p": [[1, 2]]}}
    assert simple([{"t": {"p": [1, 2]}}], schema, truth)
    assert not simple([{"t": {"p": "1,2"}}], schema, truth)


def test_dicts_check_keys_and_values_one_level() -> None:
    schema = fn("d", {"opts": {"type": "dict"}}, ["opts"])
    truth = {"d": {"opts": [{"color": ["Red", "crimson"], "size": [2, ""]}]}}
    assert simple([{"d": {"opts": {"color": "red"}}}], schema, truth)
    assert simple([{"d": {"opts": {"color": "crimson", "size": 2}}}], schema, truth)
    assert not simple([{"d": {"opts": {"size": 2}}}], schema, truth)  # color is needed
    assert not simple([{"d": {"opts": {"color": "red", "shape": "x"}}}], schema, truth)
    assert not simple([{"d": {"opts": {"color": "blue"}}}], schema, truth)


def test_lists_of_dicts_match_position_by_position() -> None:
    schema = fn("l", {"items": {"type": "array", "items": {"type": "dict"}}}, ["items"])
    truth = {"l": {"items": [[{"a": [1]}, {"a": [2]}]]}}
    assert simple([{"l": {"items": [{"a": 1}, {"a": 2}]}}], schema, truth)
    assert not simple([{"l": {"items": [{"a": 2}, {"a": 1}]}}], schema, truth)
    assert not simple([{"l": {"items": [{"a": 1}]}}], schema, truth)


def test_optional_marker_allows_omission_only_when_listed() -> None:
    schema = fn("f", {"a": {"type": "integer"}, "u": {"type": "string"}}, ["a"])
    assert simple([{"f": {"a": 1}}], schema, {"f": {"a": [1], "u": ["m", ""]}})
    assert not simple([{"f": {"a": 1}}], schema, {"f": {"a": [1], "u": ["m"]}})


def test_other_values_use_plain_membership() -> None:
    assert not simple([{"calc.area": {"base": 11, "height": 5.0}}])


def test_variable_escape_hatch_accepts_the_answers_type() -> None:
    schema = fn("f", {"data": {"type": "array", "items": {"type": "integer"}}}, ["data"])
    truth = {"f": {"data": ["my_list"]}}  # the ground truth names a variable
    assert simple([{"f": {"data": "my_list"}}], schema, truth)
    assert not simple([{"f": {"data": "other"}}], schema, truth)


def test_simple_needs_exactly_one_call() -> None:
    assert not simple([])
    assert not simple(
        [{"calc.area": {"base": 10, "height": 5.0}}, {"calc.area": {"base": 10, "height": 5.0}}]
    )


def test_wrong_output_shape_fails() -> None:
    assert not simple("calc.area(base=10)")
    assert not simple([{"calc.area": "base=10"}])


def test_multiple_takes_the_schema_of_the_expected_function() -> None:
    other = fn("other", {"x": {"type": "string"}}, ["x"])
    ok = check("multiple", [{"calc.area": {"base": 10, "height": 5}}], [other, AREA], [AREA_TRUTH])
    bad = check("multiple", [{"other": {"x": "a"}}], [other, AREA], [AREA_TRUTH])
    assert ok[0] and not bad[0]


POW = fn("pow", {"b": {"type": "integer"}, "e": {"type": "integer"}}, ["b", "e"])


@pytest.mark.parametrize("category", ["parallel", "parallel_multiple"])
def test_parallel_is_order_independent_and_counts_calls(category: str) -> None:
    truth = [{"pow": {"b": [2], "e": [3]}}, {"pow": {"b": [3], "e": [2]}}]
    swapped = [{"pow": {"b": 3, "e": 2}}, {"pow": {"b": 2, "e": 3}}]
    assert check(category, swapped, [POW], truth)[0]
    assert not check(category, swapped[:1], [POW], truth)[0]
    assert not check(category, [swapped[0], swapped[0]], [POW], truth)[0]


def test_irrelevance_passes_only_without_a_call() -> None:
    assert check("irrelevance", [], [AREA], None)[0]
    assert check("irrelevance", [{}], [AREA], None)[0]
    assert check("irrelevance", "I cannot help with that.", [AREA], None)[0]
    assert not check("irrelevance", [{"calc.area": {"base": 1, "height": 2}}], [AREA], None)[0]


def test_check_call_reports_the_reason() -> None:
    ok, reason = check_call({"calc.area": {"base": 10}}, AREA, AREA_TRUTH)
    assert not ok and "height" in reason
