"""Typed decisions from any chat model, that never crash a run.

The ladder (docs/decisions/0003-structured-decisions.md):
1. constrained decoding: the JSON schema goes to the server as an OpenAI ``response_format``
   (llama.cpp turns it into a grammar; vLLM and OpenAI enforce it too);
2. tolerant parsing: code fences, prose around the object, raw newlines in strings, numbers out
   of range (clamped), strings and lists over their bounds (cut);
3. one repair call that feeds the validation error back;
4. a deterministic fallback built by the caller, with the reason recorded.

Connection failures are not "bad output": they raise ``LLMUnavailableError`` with the fix.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from configs.settings import get_settings
from services.llm import LLMUnavailableError, get_chat_model
from state.models import Decision

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


@lru_cache(maxsize=256)
def json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """``schema.model_json_schema()``, computed once per class (it costs about 1 ms).

    Callers must not mutate the returned dict.
    """
    return schema.model_json_schema()


def response_format(schema: type[BaseModel]) -> dict[str, Any]:
    """The OpenAI ``response_format`` that constrains decoding to ``schema``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": json_schema(schema)},
    }


def extract_json(text: str) -> Any:
    """Parse the first JSON object or array in ``text``, tolerating fences and prose."""
    cleaned = _FENCE.sub("", text.strip())
    try:
        return json.loads(cleaned, strict=False)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder(strict=False)
    for match in re.finditer(r"[\[{]", cleaned):
        try:
            value, _ = decoder.raw_decode(cleaned, match.start())
        except json.JSONDecodeError:
            continue
        return value
    raise ValueError(f"no JSON object found in: {text[:120]!r}")


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved = root.get("$defs", {}).get(ref.split("/")[-1], {})
        return resolved if isinstance(resolved, dict) else {}
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if isinstance(o, dict) and o.get("type") != "null"]
        if len(options) == 1:
            return _resolve(options[0], root)
    return node


def fit_to_schema(value: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    """Clamp numbers, cut strings and lists to the schema's bounds, drop unknown keys.

    Grammars enforce shape, not ranges (a small model wrote confidence 2017): this makes the
    value valid wherever a bound alone is the problem.
    """
    node = _resolve(node, root)
    kind = node.get("type")
    if kind == "object" and isinstance(value, dict):
        props = node.get("properties")
        if not isinstance(props, dict):
            return value
        out = {k: fit_to_schema(v, props[k], root) for k, v in value.items() if k in props}
        return out
    if kind == "array" and isinstance(value, list):
        items = node.get("items", {})
        fitted = [fit_to_schema(v, items, root) for v in value]
        if "maxItems" in node:
            fitted = fitted[: int(node["maxItems"])]
        return fitted
    if (
        kind in {"number", "integer"}
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        if "maximum" in node:
            value = min(value, node["maximum"])
        if "minimum" in node:
            value = max(value, node["minimum"])
        return int(value) if kind == "integer" else float(value)
    if kind == "string" and isinstance(value, str):
        value = value.strip()
        if "maxLength" in node:
            value = value[: int(node["maxLength"])]
        enum = node.get("enum")
        if enum and value not in enum:
            lowered = {str(e).lower(): e for e in enum}
            value = lowered.get(value.lower(), value)
        return value
    return value


def parse_as(schema: type[T], text: str) -> T:
    """Tolerant parse of model text into ``schema`` (raises ValueError/ValidationError)."""
    data = extract_json(text)
    root = json_schema(schema)
    return schema.model_validate(fit_to_schema(data, root, root))


def _schema_hint(schema: type[BaseModel]) -> str:
    return "Reply with only a JSON object matching this schema:\n" + json.dumps(
        json_schema(schema), separators=(",", ":")
    )


def _call(
    model: BaseChatModel, messages: Sequence[BaseMessage], schema: type[BaseModel], **kw: Any
) -> AIMessage:
    import openai

    method = get_settings().llm.structured_output
    kwargs: dict[str, Any] = dict(kw)
    msgs = list(messages)
    if method == "json_schema":
        kwargs["response_format"] = response_format(schema)
    else:
        if method == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        msgs = [*msgs, HumanMessage(_schema_hint(schema))]
    try:
        reply = model.invoke(msgs, **kwargs)
    except openai.LengthFinishReasonError as exc:
        # The model hit max_tokens mid-object: hand the partial text to the repair step.
        choices = exc.completion.choices
        partial = (choices[0].message.content or "") if choices else ""
        return AIMessage(content=partial, response_metadata={"finish_reason": "length"})
    except openai.APIConnectionError as exc:
        raise LLMUnavailableError(
            f"The LLM server cannot be reached: {exc}. Start it or fix ANIMAGENT_LLM__BASE_URL; "
            "the run is checkpointed, so `animagent resume <thread_id>` continues it."
        ) from exc
    except openai.APIStatusError as exc:  # after the client's retries (llm.max_retries)
        raise LLMUnavailableError(
            f"The LLM server answered HTTP {exc.status_code} ({exc.message}) after "
            f"{get_settings().llm.max_retries} retries. Check the server's log, or raise "
            "ANIMAGENT_LLM__MAX_RETRIES for a busy server."
        ) from exc
    except json.JSONDecodeError as exc:  # the HTTP body itself, not the model's text
        raise LLMUnavailableError(
            f"The LLM server's answer is not JSON ({exc.msg}): is ANIMAGENT_LLM__BASE_URL an "
            "OpenAI-compatible /v1 endpoint, and not a proxy's error page?"
        ) from exc
    if not isinstance(reply, AIMessage):
        reply = AIMessage(content=str(reply.content))
    return reply


def _tokens(msg: AIMessage) -> int:
    usage = msg.usage_metadata
    return int(usage["total_tokens"]) if usage else 0


def salvage_truncated(schema: type[T], text: str, *, tries: int = 40) -> T | None:
    """The longest prefix of a reply cut off at ``max_tokens`` that still fits ``schema``.

    A constrained reply cut mid-way is valid JSON up to the cut. Closing it at the end of the
    last complete object (langchain-core's ``parse_partial_json`` closes the open brackets)
    keeps every finished item and drops the one being written, e.g. the first two of three
    function calls. Returns None when no such prefix validates.
    """
    from langchain_core.utils.json import parse_partial_json

    root = json_schema(schema)
    ends = [i for i, ch in enumerate(text) if ch == "}"]
    for end in reversed(ends[-tries:]):
        try:
            data = parse_partial_json(text[: end + 1], strict=False)
            if data is None:
                continue
            return schema.model_validate(fit_to_schema(data, root, root))
        except (ValueError, ValidationError):
            continue
    return None


def decide(
    schema: type[T],
    messages: Sequence[BaseMessage],
    *,
    node: str,
    fallback: Callable[[str], T],
    role: str = "director",
    max_tokens: int | None = None,
    model: BaseChatModel | None = None,
) -> tuple[T, Decision]:
    """Ask for a ``schema`` object; always return one, with how it was obtained."""
    started = time.perf_counter()
    chat = model or get_chat_model(role)
    extra: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}
    tokens = 0
    reply = _call(chat, messages, schema, **extra)
    tokens += _tokens(reply)
    if reply.response_metadata.get("finish_reason") == "length":
        # Cut off: an inner object would parse on its own and pass for the whole answer, so
        # keep the complete part of the reply instead (or repair it below).
        salvaged = salvage_truncated(schema, str(reply.content))
        if salvaged is not None:
            return salvaged, Decision(
                node=node,
                schema_name=schema.__name__,
                method="salvaged",
                reason=f"reply cut at max_tokens={max_tokens}: kept its complete part",
                seconds=time.perf_counter() - started,
                tokens=tokens,
            )
    error: Exception
    try:
        if reply.response_metadata.get("finish_reason") == "length":
            raise ValueError(f"the reply was cut at max_tokens={max_tokens}")
        value = parse_as(schema, str(reply.content))
        method = (
            "constrained" if get_settings().llm.structured_output == "json_schema" else "parsed"
        )
        return value, Decision(
            node=node,
            schema_name=schema.__name__,
            method=method,
            seconds=time.perf_counter() - started,
            tokens=tokens,
        )
    except (ValueError, ValidationError) as exc:
        error = exc
    repair = [
        *messages,
        AIMessage(content=str(reply.content)[:2000]),
        HumanMessage(
            f"That reply was not valid: {str(error)[:600]}\nReply again with only the corrected "
            "JSON object."
        ),
    ]
    reply = _call(chat, repair, schema, **extra)
    tokens += _tokens(reply)
    try:
        value = parse_as(schema, str(reply.content))
        return value, Decision(
            node=node,
            schema_name=schema.__name__,
            method="repaired",
            reason=str(error)[:300],
            seconds=time.perf_counter() - started,
            tokens=tokens,
        )
    except (ValueError, ValidationError) as exc:
        reason = f"invalid after repair: {str(exc)[:300]}"
    return fallback(reason), Decision(
        node=node,
        schema_name=schema.__name__,
        method="fallback",
        reason=reason,
        seconds=time.perf_counter() - started,
        tokens=tokens,
    )


def system_user(system: str, user: str) -> list[BaseMessage]:
    """The usual two-message prompt."""
    return [SystemMessage(system), HumanMessage(user)]
