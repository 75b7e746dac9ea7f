"""A fake chat model for unit tests and overhead benchmarks (pydantic-ai's TestModel idea).

Given a JSON-schema ``response_format`` it answers with a minimal valid object built from the
schema; per-schema scripts replace that answer (a dict, a string, or a function of the
messages), so a test states exactly what "the model" decides. Every call is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

Script = dict[str, Any] | str | Callable[[list[BaseMessage]], Any]


def example_from_schema(node: dict[str, Any], root: dict[str, Any]) -> Any:
    """A minimal value that satisfies a JSON schema node (first enum, min bounds, 1 item)."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        return example_from_schema(root.get("$defs", {}).get(ref.split("/")[-1], {}), root)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"] or node["anyOf"]
        return example_from_schema(options[0], root)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    if "default" in node:
        return node["default"]
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        return {k: example_from_schema(v, root) for k, v in props.items()}
    if kind == "array":
        count = max(1, int(node.get("minItems", 1)))
        return [example_from_schema(node.get("items", {}), root) for _ in range(count)]
    if kind == "string":
        return "x" * max(1, int(node.get("minLength", 1)))
    if kind == "integer":
        return int(node.get("minimum", 1))
    if kind == "number":
        return float(node.get("maximum", 1.0))
    if kind == "boolean":
        return False
    return None


class FakeChatModel(BaseChatModel):
    """Answers instantly; scripted per schema name, else a schema-valid minimal object."""

    scripts: dict[str, Script] = Field(default_factory=dict)
    text: str = "OK"
    calls: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "animagent-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        fmt = kwargs.get("response_format") or {}
        schema_spec = fmt.get("json_schema", {}) if isinstance(fmt, dict) else {}
        name = schema_spec.get("name", "")
        self.calls.append({"schema": name, "messages": messages, "kwargs": kwargs})
        content: str
        if name in self.scripts:
            script = self.scripts[name]
            value = script(messages) if callable(script) else script
            content = value if isinstance(value, str) else json.dumps(value)
        elif schema_spec:
            schema = schema_spec.get("schema", {})
            content = json.dumps(example_from_schema(schema, schema))
        else:
            content = self.text
        usage: UsageMetadata = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        message = AIMessage(content=content, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def calls_for(self, schema_name: str) -> list[dict[str, Any]]:
        """The recorded calls that asked for ``schema_name``."""
        return [c for c in self.calls if c["schema"] == schema_name]
