"""The conversation API: the model calls functions, results come back, the answer closes."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import Field
from typer.testing import CliRunner

from cli.main import app
from services.conversation import Conversation, function_from_callable, function_from_definition
from services.fake_llm import FakeChatModel
from services.llm import override_models

LOG: list[tuple[str, int]] = []


def shot_count(scene: str, count: Annotated[int, Field(ge=1, le=12)]) -> str:
    """Set how many shots a scene has."""
    LOG.append((scene, count))
    return f"{scene} now has {count} shots"


def character_voice(name: str) -> dict[str, str]:
    """Look up the voice a named character speaks with."""
    return {"name": name, "voice": {"Luca": "bright tenor"}[name]}


def seen_results(messages: list[BaseMessage]) -> list[str]:
    return [str(m.content) for m in messages if str(m.content).startswith("Result of")]


def calls_until_results(*calls: dict[str, Any]) -> Any:
    """A constrained-path script: these calls, then none once their results are in the chat."""

    def script(messages: list[BaseMessage]) -> dict[str, Any]:
        return {"calls": [] if seen_results(messages) else list(calls)}

    return script


@pytest.fixture(autouse=True)
def clear_log() -> None:
    LOG.clear()


def test_two_turns_feed_results_back_and_keep_the_history() -> None:
    model = FakeChatModel(
        scripts={
            "FunctionCalls": lambda msgs: {
                "calls": []
                if str(msgs[-1].content).startswith("Result of")
                else [{"name": "character_voice", "arguments": {"name": "Luca"}}]
                if "Luca" in str(msgs[-1].content)
                else [{"name": "shot_count", "arguments": {"scene": "beach", "count": 3}}]
            }
        },
        text="Done.",
    )
    chat = Conversation(
        [function_from_callable(character_voice), function_from_callable(shot_count)],
        model=model,
    )
    first = chat.send("What voice does Luca have?")
    assert [(c.name, c.arguments, c.ok) for c in first.calls] == [
        ("character_voice", {"name": "Luca"}, True)
    ]
    assert "bright tenor" in first.calls[0].result and first.answer == "Done."
    assert first.stopped == "no new calls"
    # The result went back as a tool message, and the next model call saw it.
    tool_messages = [m for m in chat.messages if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1 and "bright tenor" in str(tool_messages[0].content)
    second_round = model.calls_for("FunctionCalls")[1]["messages"]
    assert any("bright tenor" in r for r in seen_results(second_round))

    second = chat.send("Give the beach scene 3 shots.")
    assert LOG == [("beach", 3)] and second.calls[0].ok
    # The second turn's prompt still carries the first turn.
    prompt = model.calls_for("FunctionCalls")[-1]["messages"]
    assert any("What voice does Luca have?" in str(m.content) for m in prompt)
    assert sum(isinstance(m, HumanMessage) for m in chat.messages) == 2


def test_invalid_arguments_become_a_tool_message_not_a_call() -> None:
    model = FakeChatModel(
        scripts={
            "FunctionCalls": calls_until_results(
                {"name": "shot_count", "arguments": {"scene": "beach", "count": 0}}
            )
        }
    )
    chat = Conversation([function_from_callable(shot_count)], model=model, ground_values=False)
    turn = chat.send("Give the beach scene 0 shots.")
    assert LOG == []  # the body never ran
    assert not turn.calls[0].ok
    assert "invalid arguments for shot_count" in turn.calls[0].result
    assert "count" in turn.calls[0].result and "greater than or equal to 1" in turn.calls[0].result
    assert isinstance(chat.messages[-2], ToolMessage) and turn.answer == "OK"


def test_a_function_that_raises_is_reported_to_the_model() -> None:
    model = FakeChatModel(
        scripts={
            "FunctionCalls": calls_until_results(
                {"name": "character_voice", "arguments": {"name": "Bruno"}}
            )
        }
    )
    chat = Conversation([function_from_callable(character_voice)], model=model)
    turn = chat.send("What voice does Bruno have?")
    assert not turn.calls[0].ok and "character_voice failed" in turn.calls[0].result
    assert "Bruno" in turn.calls[0].result


class ToolCallingFake(FakeChatModel):
    """A server with native tool calls: replies are scripted AIMessages, in order."""

    replies: list[AIMessage] = Field(default_factory=list)
    bound: list[list[str]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> BaseChatModel:
        self.bound.append([t["name"] for t in tools])
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        from langchain_core.outputs import ChatGeneration, ChatResult

        self.calls.append({"schema": "", "messages": messages, "kwargs": kwargs})
        return ChatResult(generations=[ChatGeneration(message=self.replies.pop(0))])


def test_native_tool_calls_unknown_function_and_results_in_order() -> None:
    model = ToolCallingFake(
        replies=[
            AIMessage(
                "",
                tool_calls=[
                    {"name": "teleport", "args": {}, "id": "a", "type": "tool_call"},
                    {"name": "character_voice", "args": {"name": "Luca"}, "id": "b"},
                ],
            ),
            AIMessage("Luca speaks as a bright tenor."),
        ]
    )
    chat = Conversation([function_from_callable(character_voice)], model=model, native_tools=True)
    turn = chat.send("Who is Luca and can he teleport?")
    assert model.bound[0] == ["character_voice"]
    unknown, known = turn.calls
    assert not unknown.ok and "no function named 'teleport'" in unknown.result
    assert "known: character_voice" in unknown.result
    assert known.ok and "bright tenor" in known.result
    assert turn.answer == "Luca speaks as a bright tenor." and turn.stopped == "answered"
    # Every call id the server sent got its result, in the next request.
    last_request = model.calls[-1]["messages"]
    assert [m.tool_call_id for m in last_request if isinstance(m, ToolMessage)] == ["a", "b"]


def test_rounds_are_bounded() -> None:
    counter = iter(range(1, 100))
    model = FakeChatModel(
        scripts={
            "FunctionCalls": lambda msgs: {
                "calls": [
                    {"name": "shot_count", "arguments": {"scene": "s", "count": next(counter)}}
                ]
            }
        }
    )
    chat = Conversation(
        [function_from_callable(shot_count)], model=model, max_rounds=2, ground_values=False
    )
    turn = chat.send("Keep adding shots to scene s.")
    assert turn.rounds == 2 and turn.stopped == "max rounds"
    assert LOG == [("s", 1), ("s", 2)] and turn.answer == "OK"
    assert len(model.calls_for("FunctionCalls")) == 2


def test_definitions_are_validated_by_a_pydantic_model() -> None:
    fn = function_from_definition(
        {
            "name": "area.circle",
            "description": "Area of a circle.",
            "parameters": {
                "type": "dict",
                "properties": {"radius": {"type": "float"}, "units": {"type": "string"}},
                "required": ["radius"],
            },
        },
        lambda args: 3.14159 * args["radius"] ** 2,
    )
    assert fn.args_model.model_validate({"radius": 2}).model_dump() == {
        "radius": 2.0,
        "units": None,
    }
    with pytest.raises(ValueError):
        fn.args_model.model_validate({"units": "cm"})


def test_cli_chat_with_messages_calls_a_module_function() -> None:
    model = FakeChatModel(
        scripts={
            "FunctionCalls": calls_until_results(
                {"name": "character_voice", "arguments": {"name": "Alberto"}}
            )
        },
        text="Alberto has a raspy baritone.",
    )
    with override_models(model):
        result = CliRunner().invoke(
            app,
            [
                "chat",
                "--functions",
                "tests.unit.chat_functions",
                "--message",
                "What voice does Alberto have?",
            ],
        )
    assert result.exit_code == 0, result.output
    assert "character_voice(name='Alberto')" in result.output
    assert "raspy baritone" in result.output
    assert "model> Alberto has a raspy baritone." in result.output


def test_cli_chat_refuses_a_module_that_does_not_exist() -> None:
    result = CliRunner().invoke(app, ["chat", "--functions", "no_such_module", "-m", "hi"])
    assert result.exit_code == 2 and "cannot load functions" in result.output
