from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from services.fake_llm import FakeChatModel, example_from_schema
from services.llm import ModelRequestsForbiddenError, get_chat_model
from services.structured import decide, extract_json, parse_as, system_user


class Pick(BaseModel):
    kind: Literal["image", "voice"]
    confidence: float = Field(ge=0, le=1)
    note: str = Field(max_length=10)
    tags: list[str] = Field(max_length=2)


def test_extract_json_tolerates_fences_prose_and_raw_newlines() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('Sure! Here: {"a": "x\ny"} hope it helps') == {"a": "x\ny"}
    with pytest.raises(ValueError):
        extract_json("no json here")


def test_parse_clamps_cuts_and_normalizes() -> None:
    value = parse_as(
        Pick,
        '{"kind": "IMAGE", "confidence": 2017, "note": "' + "n" * 50 + '", '
        '"tags": ["a", "b", "c"], "extra": 1}',
    )
    assert value.kind == "image"
    assert value.confidence == 1.0
    assert value.note == "n" * 10
    assert value.tags == ["a", "b"]


def test_constrained_decision_sends_schema() -> None:
    model = FakeChatModel(
        scripts={"Pick": {"kind": "voice", "confidence": 0.4, "note": "", "tags": []}}
    )
    value, decision = decide(
        Pick, system_user("s", "u"), node="t", fallback=lambda r: None, model=model
    )  # type: ignore[arg-type,return-value]
    assert value.kind == "voice" and decision.method == "constrained"
    sent = model.calls[0]["kwargs"]["response_format"]
    assert sent["json_schema"]["schema"]["properties"]["kind"]["enum"] == ["image", "voice"]


def test_repair_then_fallback() -> None:
    replies = iter(["garbage", '{"kind": "image", "confidence": 0.5, "note": "ok", "tags": []}'])
    model = FakeChatModel(scripts={"Pick": lambda messages: next(replies)})
    value, decision = decide(
        Pick, system_user("s", "u"), node="t", fallback=lambda r: None, model=model
    )  # type: ignore[arg-type,return-value]
    assert decision.method == "repaired" and value.kind == "image"
    assert "not valid" in str(model.calls[1]["messages"][-1].content)

    bad = FakeChatModel(scripts={"Pick": "still garbage"})
    fallback = Pick(kind="voice", confidence=0, note="fb", tags=[])
    value, decision = decide(
        Pick, system_user("s", "u"), node="t", fallback=lambda r: fallback, model=bad
    )
    assert value is fallback
    assert decision.method == "fallback" and "invalid after repair" in decision.reason
    assert len(bad.calls) == 2


def test_fake_model_builds_valid_examples() -> None:
    schema = Pick.model_json_schema()
    Pick.model_validate(example_from_schema(schema, schema))


def test_real_model_guard_fails_loudly() -> None:
    with pytest.raises(ModelRequestsForbiddenError, match="override_models"):
        get_chat_model("planner")


class Calls(BaseModel):
    calls: list[dict[str, object]] = []


def cut_completion(content: str, usage: dict[str, int] | None = None) -> Any:
    """An OpenAI chat completion that stopped at max_tokens (``finish_reason: length``)."""
    from openai.types.chat import ChatCompletion

    choice = {
        "index": 0,
        "finish_reason": "length",
        "message": {"role": "assistant", "content": content},
    }
    body: dict[str, Any] = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [choice],
    }
    if usage:
        body["usage"] = {**usage, "total_tokens": sum(usage.values())}
    return ChatCompletion.model_validate(body)


def test_truncated_reply_keeps_its_complete_items() -> None:
    """A reply cut at max_tokens keeps the finished items, not an inner object or nothing."""
    import openai
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from services.structured import salvage_truncated

    cut = '{"calls": [{"name": "f", "arguments": {"a": 1}}, {"name": "f", "arguments": {"a": 2'
    salvaged = salvage_truncated(Calls, cut)
    assert salvaged is not None and salvaged.calls == [{"name": "f", "arguments": {"a": 1}}]
    assert salvage_truncated(Pick, '{"kind": "ima') is None

    completion = cut_completion(cut)

    class CutModel(FakeListChatModel):
        def invoke(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def,override]
            raise openai.LengthFinishReasonError(completion=completion)

    value, decision = decide(
        Calls,
        system_user("s", "u"),
        node="t",
        fallback=lambda reason: Calls(),
        model=CutModel(responses=["unused"]),
        max_tokens=40,
    )
    assert decision.method == "salvaged" and "max_tokens=40" in decision.reason
    assert value.calls == [{"name": "f", "arguments": {"a": 1}}]


def test_a_reply_cut_at_max_tokens_is_counted_with_its_tokens() -> None:
    """The tokens of a cut reply were spent: the usage counter counts the call and them."""
    from typing import Any

    import openai
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from services.llm import _COUNTER, USAGE

    completion = cut_completion('{"calls": [', {"prompt_tokens": 70, "completion_tokens": 40})

    class CutModel(FakeListChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise openai.LengthFinishReasonError(completion=completion)

    before = USAGE.snapshot()
    value, decision = decide(
        Calls,
        system_user("s", "u"),
        node="t",
        fallback=lambda reason: Calls(),
        model=CutModel(responses=["unused"], callbacks=[_COUNTER]),
        max_tokens=40,
    )
    after = USAGE.snapshot()
    calls = after["calls"] - before["calls"]
    assert decision.method in ("salvaged", "fallback") and calls >= 1
    assert after["prompt_tokens"] - before["prompt_tokens"] == 70 * calls
    assert after["completion_tokens"] - before["completion_tokens"] == 40 * calls
