"""A multi-turn conversation in which the model calls registered functions.

A person says something; the model decides which registered functions to call (the chat
model's native tool calls when the server has them, else the constrained JSON form of
``services.function_calling.call_functions`` on the embedded model); each call's arguments are
validated by the function's pydantic model; results go back into the conversation as tool
messages; the model's text answer closes the turn. Rounds per turn are bounded, and every
failure (unknown function, invalid arguments, a function that raises) becomes a tool message
the model reads, never an exception. See docs/decisions/0016-conversation.md.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ValidationError, create_model

from services.function_calling import Similarity, call_functions
from services.function_schema import json_type

ANSWER_SYSTEM = (
    "You are the studio's assistant. Answer the person briefly, using the function results "
    "above when there are any. Do not invent results."
)
RESULT_LIMIT = 2000  # characters of a function result kept in the conversation


@dataclass
class Function:
    """A function the model may call: its schema, its pydantic validator and its body."""

    name: str
    description: str
    parameters: dict[str, Any]
    args_model: type[BaseModel]
    body: Callable[[dict[str, Any]], Any]

    def definition(self) -> dict[str, Any]:
        """The OpenAI-style definition (what the model is shown)."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def function_from_callable(fn: Callable[..., Any], name: str | None = None) -> Function:
    """A plain Python function as a ``Function``: schema and validator from its type hints."""
    tool = StructuredTool.from_function(fn, name=name)
    model = tool.tool_call_schema
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{tool.name}: its arguments need type hints")
    return Function(
        name=tool.name,
        description=tool.description or (inspect.getdoc(fn) or ""),
        parameters=model.model_json_schema(),
        args_model=model,
        body=lambda args: fn(**args),
    )


_PY_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}


def model_from_schema(name: str, parameters: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model for a JSON-schema (or BFCL-style) parameter object.

    Top-level types and required keys are enforced; nested shapes are checked only as lists
    or dicts (deeper checks are the grammar's job on the constrained path).
    """
    props = parameters.get("properties") or {}
    required = set(parameters.get("required") or [])
    fields: dict[str, Any] = {}
    for key, node in props.items():
        kind = json_type(node.get("type")) if isinstance(node, dict) else None
        py: Any = _PY_TYPES.get(kind or "", Any)
        fields[key] = (py, ...) if key in required else (py | None, None)
    safe = "".join(c if c.isalnum() else "_" for c in name) or "Args"
    return create_model(safe, **fields)


def function_from_definition(
    definition: dict[str, Any], body: Callable[[dict[str, Any]], Any]
) -> Function:
    """A definition (OpenAI or BFCL style, e.g. a BFCL function doc) with a body to run."""
    parameters = dict(definition.get("parameters") or {"type": "object", "properties": {}})
    return Function(
        name=str(definition["name"]),
        description=str(definition.get("description", "")),
        parameters=parameters,
        args_model=model_from_schema(str(definition["name"]), parameters),
        body=body,
    )


@dataclass
class CallRecord:
    """One function call made during a turn and what came of it."""

    name: str
    arguments: dict[str, Any]
    ok: bool
    result: str


@dataclass
class Turn:
    """What one user turn did: the calls, the final answer, the rounds it took."""

    calls: list[CallRecord] = field(default_factory=list)
    answer: str = ""
    rounds: int = 0
    stopped: str = ""
    """Why the turn ended: "answered", "no new calls", or "max rounds"."""


class Conversation:
    """A chat that holds its messages and lets the model call ``functions``.

    Args:
        functions: what the model may call (``function_from_callable``,
            ``function_from_definition``, or ``tools.functions.functions_from_registry``).
        model: the chat model.
        native_tools: use the model's own tool calls (``bind_tools``); only for servers that
            support them (settings ``llm.native_tools``). Otherwise the constrained JSON path.
        max_rounds: the most function-calling rounds in one turn.
        max_calls: the most calls in one round.
        answer: whether the turn ends with the model's text answer (BFCL scores only the
            calls and skips it).
        similarity, threshold, ground_values: passed to ``call_functions`` (relevance
            selection and value grounding on the constrained path).
        system: an optional system message at the start of the chat.
    """

    def __init__(
        self,
        functions: Sequence[Function],
        *,
        model: BaseChatModel,
        native_tools: bool = False,
        max_rounds: int = 3,
        max_calls: int = 4,
        answer: bool = True,
        similarity: Similarity | None = None,
        threshold: float = 0.3,
        ground_values: bool = True,
        system: str | None = None,
    ) -> None:
        if max_rounds < 1:
            raise ValueError("max_rounds must be at least 1")
        self.functions = {f.name: f for f in functions}
        self.model = model
        self.native_tools = native_tools
        self.max_rounds = max_rounds
        self.max_calls = max_calls
        self.answer = answer
        self.similarity = similarity
        self.threshold = threshold
        self.ground_values = ground_values
        self.messages: list[BaseMessage] = [SystemMessage(system)] if system else []

    def send(self, text: str) -> Turn:
        """One user turn: calls until the model has none left (bounded), then its answer."""
        self.messages.append(HumanMessage(text))
        turn = Turn()
        done: list[tuple[str, str]] = []
        while turn.rounds < self.max_rounds:
            turn.rounds += 1
            requested = self._native_round() if self.native_tools else self._constrained_round()
            if isinstance(requested, str):  # the native model answered in text
                turn.answer, turn.stopped = requested, "answered"
                return turn
            fresh = [c for c in requested if (c[0], _key(c[1])) not in done]
            if self.native_tools:
                # The server expects a result for every call id it sent, repeats included.
                for name, _, call_id in (c for c in requested if c not in fresh):
                    note = "skipped: the same call was made earlier in this turn"
                    self.messages.append(ToolMessage(note, tool_call_id=call_id, name=name))
            elif fresh:
                tool_calls = [
                    {"name": n, "args": a, "id": i, "type": "tool_call"} for n, a, i in fresh
                ]
                self.messages.append(AIMessage("", tool_calls=tool_calls))
            if not fresh:
                # A small model repeats the calls it has just seen: nothing new means done.
                turn.stopped = "no new calls"
                break
            for name, args, call_id in fresh:
                done.append((name, _key(args)))
                turn.calls.append(self._execute(name, args, call_id))
        else:
            turn.stopped = "max rounds"
        if self.answer:
            turn.answer = self._final_answer()
        return turn

    # -- one round ---------------------------------------------------------------------------

    def _native_round(self) -> list[tuple[str, dict[str, Any], str]] | str:
        bound = self.model.bind_tools([f.definition() for f in self.functions.values()])
        reply = bound.invoke(self.messages)
        message = reply if isinstance(reply, AIMessage) else AIMessage(str(reply.content))
        if not message.tool_calls:
            self.messages.append(message)
            return str(message.content)
        calls = [
            (c["name"], dict(c.get("args") or {}), c.get("id") or _new_id())
            for c in message.tool_calls[: self.max_calls]
        ]
        kept = [{"name": n, "args": a, "id": i, "type": "tool_call"} for n, a, i in calls]
        self.messages.append(AIMessage(str(message.content), tool_calls=kept))
        return calls

    def _constrained_round(self) -> list[tuple[str, dict[str, Any], str]]:
        calls, _ = call_functions(
            [f.definition() for f in self.functions.values()],
            list[dict[str, Any] | BaseMessage](_plain_history(self.messages)),
            model=self.model,
            max_calls=self.max_calls,
            ground_values=self.ground_values,
            similarity=self.similarity,
            threshold=self.threshold,
            node="conversation",
        )
        return [(name, args, _new_id()) for call in calls for name, args in call.items()]

    def _execute(self, name: str, args: dict[str, Any], call_id: str) -> CallRecord:
        """Validate and run one call; every failure becomes a tool message, not an exception."""
        fn = self.functions.get(name)
        if fn is None:
            known = ", ".join(sorted(self.functions)) or "none"
            record = CallRecord(
                name, args, False, f"error: no function named {name!r} (known: {known})"
            )
        else:
            try:
                valid = fn.args_model.model_validate(args).model_dump(exclude_none=True)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                    for e in exc.errors(include_url=False)
                )
                record = CallRecord(
                    name, args, False, f"error: invalid arguments for {name}: {problems}"
                )
            else:
                try:
                    result = fn.body(valid)
                except Exception as exc:  # a function's failure is information for the model
                    record = CallRecord(name, valid, False, f"error: {name} failed: {exc}")
                else:
                    record = CallRecord(name, valid, True, _as_text(result))
        self.messages.append(ToolMessage(record.result, tool_call_id=call_id, name=name))
        return record

    def _final_answer(self) -> str:
        prompt = [*_plain_history(self.messages), SystemMessage(ANSWER_SYSTEM)]
        reply = self.model.invoke(prompt)
        text = str(reply.content).strip()
        self.messages.append(AIMessage(text))
        return text


def _new_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def _key(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def _as_text(result: Any) -> str:
    text = result if isinstance(result, str) else json.dumps(result, default=str)
    return text[:RESULT_LIMIT]


def _plain_history(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The chat with tool traffic as plain text turns.

    The embedded model's chat template has no tool roles, and the constrained path grounds
    argument values in what the person said: a function's result shown as a user-side turn
    lets a later call use a value it returned (look a character up, then use its voice).
    """
    out: list[BaseMessage] = []
    for m in messages:
        if isinstance(m, ToolMessage):
            out.append(HumanMessage(f"Result of {m.name}: {m.content}"))
        elif isinstance(m, AIMessage) and m.tool_calls:
            calls = ", ".join(f"{c['name']}({json.dumps(c['args'])})" for c in m.tool_calls)
            out.append(AIMessage(f"Calling {calls}"))
        else:
            out.append(m)
    return out
