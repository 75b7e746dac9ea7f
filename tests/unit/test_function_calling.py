"""The function-calling layer with a scripted fake model (no real model is called)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from services.fake_llm import FakeChatModel
from services.function_calling import call_functions, calls_schema, clauses, clean_calls
from services.function_schema import ground, mentioned_numbers, mentioned_spans, to_json_schema

AREA = {
    "name": "geometry.area",
    "description": "Area of a triangle.",
    "parameters": {
        "type": "dict",
        "properties": {
            "base": {"type": "integer", "description": "The base."},
            "height": {"type": "float", "description": "The height."},
            "unit": {"type": "string", "description": "Unit of measure."},
        },
        "required": ["base", "height"],
    },
}
WEATHER = {
    "name": "weather",
    "description": "Weather forecast for a city.",
    "parameters": {
        "type": "dict",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "metric": {"type": "boolean"},
        },
        "required": ["city"],
    },
}
ASK = [{"role": "user", "content": "Area of a triangle with base 10 and height 5 please."}]


def test_bfcl_types_become_enforceable_json_schema() -> None:
    schema = to_json_schema(
        {
            "type": "dict",
            "properties": {
                "x": {"type": "float"},
                "pair": {"type": "tuple", "items": {"type": "integer"}},
                "anything": {"type": "any"},
                "opts": {"type": "dict", "properties": {"deep": {"type": "boolean"}}},
                "mode": {"type": "string", "enum": ["fast", "slow"]},
            },
            "required": ["x", "missing"],
        }
    )
    props = schema["properties"]
    assert schema["type"] == "object" and schema["required"] == ["x"]
    assert props["x"] == {"type": "number"}
    assert props["pair"]["type"] == "array" and props["pair"]["items"] == {"type": "integer"}
    assert props["anything"]["type"] == "string"
    assert props["opts"]["properties"]["deep"] == {"type": "boolean"}
    assert props["mode"]["enum"] == ["fast", "slow"]


def test_mentioned_numbers_reads_digits_percent_and_words() -> None:
    found = mentioned_numbers("Invest $1,000 at 5% for five years, rate 0.5")
    assert 1000 in found and 5 in found and 0.05 in found and 0.5 in found
    assert mentioned_numbers("no numbers here") == []


def test_grounding_narrows_free_slots_to_mentioned_values_only() -> None:
    args = to_json_schema(WEATHER["parameters"])
    grounded = ground(args, "Weather in 'Paris' for 3 days")
    assert grounded["properties"]["days"] == {"type": "integer", "enum": [3]}
    assert "Paris" in grounded["properties"]["city"]["enum"]
    assert grounded["properties"]["metric"] == {"type": "boolean"}
    free = ground(args, "")
    assert free["properties"]["days"] == {"type": "integer"}


def test_grounded_lists_are_bounded_by_the_values_mentioned() -> None:
    """A list of mentioned numbers cannot run on (a small model repeats until max_tokens)."""
    schema = {
        "type": "object",
        "properties": {"xs": {"type": "array", "items": {"type": "number"}}},
    }
    grounded = ground(schema, "Fit a line through 1.5, 2 and 4")
    assert grounded["properties"]["xs"]["maxItems"] == 3
    assert ground(schema, "no numbers")["properties"]["xs"] == schema["properties"]["xs"]


def test_mentioned_spans_include_quoted_and_multiword_runs() -> None:
    spans = mentioned_spans('Find "Luca" in San Francisco, CA.')
    assert "Luca" in spans and "San Francisco" in spans and "San Francisco, CA" in spans


def test_calls_schema_has_one_branch_per_function_with_its_name() -> None:
    schema = calls_schema([AREA, WEATHER], max_calls=3)
    calls = schema["properties"]["calls"]
    names = [b["properties"]["name"]["const"] for b in calls["items"]["anyOf"]]
    assert names == ["geometry.area", "weather"] and calls["maxItems"] == 3
    assert calls["minItems"] == 0  # "no call" is always expressible
    area_args = calls["items"]["anyOf"][0]["properties"]["arguments"]
    assert area_args["required"] == ["base", "height"]


def test_calls_come_back_bfcl_shaped_with_types_coerced() -> None:
    fake = FakeChatModel(
        scripts={
            "FunctionCalls": {
                "calls": [
                    {"name": "geometry.area", "arguments": {"base": 10.0, "height": 5, "unit": ""}},
                    {"name": "geometry.area", "arguments": {"base": 10.0, "height": 5}},
                    {"name": "not_offered", "arguments": {}},
                ]
            }
        }
    )
    calls, decision = call_functions([AREA], ASK, model=fake)
    assert calls == [{"geometry.area": {"base": 10, "height": 5.0}}]
    assert type(calls[0]["geometry.area"]["base"]) is int
    assert type(calls[0]["geometry.area"]["height"]) is float
    assert decision.method == "constrained"


def test_the_model_sees_the_functions_and_a_grounded_grammar() -> None:
    fake = FakeChatModel(scripts={"FunctionCalls": {"calls": []}})
    call_functions([AREA], [HumanMessage(ASK[0]["content"])], model=fake)
    sent = fake.calls_for("FunctionCalls")[0]
    system = sent["messages"][0]
    assert isinstance(system, SystemMessage) and "geometry.area(" in str(system.content)
    schema = sent["kwargs"]["response_format"]["json_schema"]["schema"]
    args = schema["properties"]["calls"]["items"]["properties"]["arguments"]
    assert args["properties"]["base"]["enum"] == [10, 5]


def test_empty_call_list_means_no_call() -> None:
    fake = FakeChatModel(scripts={"FunctionCalls": {"calls": []}})
    calls, _ = call_functions([AREA], ASK, model=fake)
    assert calls == []


def test_unparseable_output_falls_back_to_no_call() -> None:
    fake = FakeChatModel(scripts={"FunctionCalls": "I would call geometry.area!"})
    calls, decision = call_functions([AREA], ASK, model=fake)
    assert calls == [] and decision.method == "fallback"
    assert len(fake.calls_for("FunctionCalls")) == 2  # one repair was tried


def test_similarity_drops_unrelated_functions_and_may_decline() -> None:
    def scorer(query: str, texts: Sequence[str]) -> list[float]:
        about = "triangle" in query.lower()
        return [0.9 if ("triangle" in t.lower()) == about else 0.0 for t in texts]

    fake = FakeChatModel(
        scripts={"FunctionCalls": {"calls": [{"name": "weather", "arguments": {"city": "x"}}]}}
    )
    calls, _ = call_functions([AREA, WEATHER], ASK, model=fake, similarity=scorer)
    assert calls == []  # weather was not offered to the model, so its call is discarded
    offered: Any = fake.calls_for("FunctionCalls")[0]["kwargs"]["response_format"]
    assert "weather" not in str(offered)

    fake2 = FakeChatModel()
    weather_ask = [{"role": "user", "content": "Will it rain in Oslo?"}]
    calls, decision = call_functions([AREA], weather_ask, model=fake2, similarity=scorer)
    assert calls == [] and decision.method == "deterministic" and fake2.calls == []


def test_clauses_split_what_the_request_asks() -> None:
    parts = clauses("Find the sum of 3 and 5. Also find the product of primes.")
    assert len(parts) == 2 and "product" in parts[1] and "sum" in parts[0]
    assert clauses("Weather in Oslo") == ["Weather in Oslo"]


def test_a_repeated_call_must_bring_a_new_value() -> None:
    def script(calls: list[dict[str, Any]]) -> FakeChatModel:
        return FakeChatModel(scripts={"FunctionCalls": {"calls": calls}})

    first = {"name": "weather", "arguments": {"city": "Oslo", "days": 3}}
    reshuffled = {"name": "weather", "arguments": {"city": "Oslo", "days": 3, "metric": True}}
    another = {"name": "weather", "arguments": {"city": "Bergen", "days": 3}}
    ask = [{"role": "user", "content": "Weather in Oslo and Bergen for 3 days"}]
    calls, _ = call_functions([WEATHER], ask, model=script([first, reshuffled, another]))
    assert calls == [
        {"weather": {"city": "Oslo", "days": 3}},
        {"weather": {"city": "Bergen", "days": 3}},
    ]


def test_langchain_tools_become_callable_functions() -> None:
    from langchain_core.tools import tool

    from services.function_calling import functions_from_tools

    @tool
    def make_image(prompt: str, steps: int = 20, seed: int | None = None) -> str:
        """Draw an image.

        Args:
            prompt: what to draw.
            steps: sampling steps.
            seed: random seed.
        """
        return prompt

    (definition,) = functions_from_tools([make_image])
    schema = to_json_schema(definition["parameters"])
    assert definition["name"] == "make_image" and schema["required"] == ["prompt"]
    assert schema["properties"]["seed"] == {"type": "integer"}
    fake = FakeChatModel(
        scripts={"FunctionCalls": {"calls": [{"name": "make_image", "arguments": {"prompt": "a"}}]}}
    )
    ask = [{"role": "user", "content": "draw a cat"}]
    assert call_functions([definition], ask, model=fake)[0] == [{"make_image": {"prompt": "a"}}]


def test_optional_arguments_the_request_does_not_state_are_dropped() -> None:
    """A small model fills every slot; an unstated optional value is worse than the default."""
    fn = {
        "name": "f",
        "parameters": {
            "type": "dict",
            "properties": {
                "radius": {"type": "integer"},
                "miles": {"type": "integer"},
                "units": {"type": "string"},
                "isothermal": {"type": "boolean"},
                "factor": {"type": "float"},
            },
            "required": ["radius", "miles"],
        },
    }
    made_up = {"radius": 3, "miles": 1500, "units": "3", "isothermal": False, "factor": 1500.0}
    calls = clean_calls([{"name": "f", "arguments": made_up}], [fn], 4, "radius 3, 1500 miles")
    assert calls == [{"f": {"radius": 3, "miles": 1500}}]
    stated = {"radius": 3, "miles": 2, "units": "cm", "isothermal": True, "factor": 0.5}
    text = "radius 3 in cm, an isothermal process, 2 miles, factor 0.5"
    assert clean_calls([{"name": "f", "arguments": stated}], [fn], 4, text) == [{"f": stated}]
    # without the request text nothing is judged (callers that do not ground values)
    assert clean_calls([{"name": "f", "arguments": made_up}], [fn], 4) == [{"f": made_up}]
