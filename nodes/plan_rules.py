"""Plan validation and repair: nothing reaches act unless it is a valid DAG of available tools.

A model's draft is untrusted. Unknown tools are mapped to a close registered name or dropped;
unavailable tools are set aside with the reason; arguments are validated per field against the
tool's schema (references to earlier outputs are checked against what those tools produce);
dangling dependencies are removed; a cycle rejects the draft. Deliverables the draft forgot are
added from the deterministic template, and every repair is written down.
"""

from __future__ import annotations

import difflib
import graphlib
import re
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from state import Intent, Step
from tools.registry import ToolRegistry

REF = re.compile(r"^\$([A-Za-z][\w-]{0,15})(?:\.(\w+))?$")
DELIVERABLE_TOOL = {
    "dialogue": "write_dialogue",
    "voice": "synthesize_voice",
    "scene": "assemble_scene",
    "image": "generate_image",
}


def references(value: Any) -> list[tuple[str, str | None]]:
    """Every ``$step.field`` reference inside an argument value."""
    found: list[tuple[str, str | None]] = []
    if isinstance(value, str):
        match = REF.match(value.strip())
        if match:
            found.append((match.group(1), match.group(2)))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(references(item))
    return found


def template_steps(intent: Intent) -> list[dict[str, Any]]:
    """The deterministic plan for an intent: the fallback and the coverage source."""
    steps: list[dict[str, Any]] = []
    wants = set(intent.deliverables)
    premise = intent.goal or "a short scene"
    if wants & {"dialogue", "voice", "scene"}:
        steps.append(
            {
                "id": "s1",
                "tool": "write_dialogue",
                "args": {
                    "characters": intent.characters or ["Narrator"],
                    "premise": premise,
                    "setting": intent.setting,
                    "mood": intent.mood,
                },
                "purpose": "write the lines",
            }
        )
    if wants & {"voice", "scene"}:
        steps.append(
            {
                "id": "s2",
                "tool": "synthesize_voice",
                "args": {"lines": "$s1.lines"},
                "purpose": "give every line a voice",
            }
        )
    if "scene" in wants:
        steps.append(
            {
                "id": "s3",
                "tool": "assemble_scene",
                "args": {"clips": "$s2.clips"},
                "purpose": "assemble the scene track with subtitles",
            }
        )
    if "image" in wants:
        prompt = ", ".join(p for p in [premise, intent.setting, intent.style, intent.mood] if p)
        steps.append(
            {
                "id": f"s{len(steps) + 1}",
                "tool": "generate_image",
                "args": {"prompt": prompt},
                "purpose": "draw the keyframe",
            }
        )
    return steps


def _intent_values(intent: Intent) -> dict[str, Any]:
    prompt = ", ".join(p for p in [intent.goal, intent.setting, intent.style] if p)
    return {
        "characters": intent.characters or ["Narrator"],
        "premise": intent.goal,
        "setting": intent.setting,
        "mood": intent.mood,
        "prompt": prompt,
        "description": intent.goal,
        "name": (intent.characters or [""])[0],
    }


class PlanCheck:
    """Validates drafts against one registry and the set of available tools."""

    def __init__(self, registry: ToolRegistry, available: set[str], unavailable: dict[str, str]):
        """Check against ``registry``; only ``available`` tools may be planned."""
        self.registry = registry
        self.available = available
        self.unavailable_reasons = unavailable

    def _tool_name(self, name: str, repairs: list[str]) -> str | None:
        if name in self.registry:
            return name
        close = difflib.get_close_matches(
            name, [s.name for s in self.registry.all()], n=1, cutoff=0.75
        )
        if close:
            repairs.append(f"unknown tool {name!r} read as {close[0]!r}")
            return close[0]
        repairs.append(f"dropped a step with unknown tool {name!r}")
        return None

    def _outputs(self, tool: str) -> tuple[str, ...]:
        spec = self.registry.get(tool)
        return spec.outputs if spec else ()

    def _check_args(
        self, step: Step, known: dict[str, str], intent: Intent, repairs: list[str]
    ) -> bool:
        spec = self.registry.get(step.tool)
        assert spec is not None
        fields = spec.tool.tool_call_schema.model_fields  # type: ignore[union-attr]
        args: dict[str, Any] = {}
        for key, value in step.args.items():
            if key not in fields:
                repairs.append(f"{step.id}: dropped unknown argument {key!r}")
                continue
            refs = references(value)
            if refs:
                ok = True
                for ref_id, ref_field in refs:
                    source = self.registry.get(known.get(ref_id, ""))
                    if source is None or (ref_field and ref_field not in source.outputs):
                        repairs.append(f"{step.id}: dropped dangling reference {value!r}")
                        ok = False
                if ok:
                    args[key] = value
                continue
            try:
                args[key] = TypeAdapter(fields[key].annotation or Any).validate_python(value)
            except ValidationError:
                repairs.append(f"{step.id}: dropped invalid value for {key!r}")
        defaults = _intent_values(intent)
        for key, field in fields.items():
            if key in args:
                continue
            producer = next(
                (sid for sid in reversed(list(known)) if key in self._outputs(known[sid])), None
            )
            if producer is not None:
                args[key] = f"${producer}.{key}"
                repairs.append(f"{step.id}: wired {key!r} from {producer}")
            elif field.is_required():
                if key in defaults:
                    args[key] = defaults[key]
                    repairs.append(f"{step.id}: filled missing {key!r} from the request")
                else:
                    repairs.append(f"{step.id}: rejected, required {key!r} is missing")
                    return False
        step.args = args
        return True

    def check(
        self, drafts: list[dict[str, Any]], intent: Intent, max_steps: int
    ) -> tuple[list[Step], list[str], list[str]]:
        """Validate and repair ``drafts``; return (steps, repairs, unavailable notes)."""
        repairs: list[str] = []
        unavailable: list[str] = []
        steps: list[Step] = []
        known: dict[str, str] = {}
        ids: set[str] = set()
        for i, raw in enumerate(drafts[: max_steps * 2]):
            name = self._tool_name(str(raw.get("tool", "")), repairs)
            if name is None:
                continue
            if name not in self.available:
                reason = self.unavailable_reasons.get(name, "not available")
                unavailable.append(f"{name}: {reason}")
                continue
            step_id = str(raw.get("id") or f"s{i + 1}")[:16]
            if step_id in ids or not re.match(r"^[A-Za-z][\w-]*$", step_id):
                new_id = f"s{len(ids) + 1}x"
                repairs.append(f"renamed step {step_id!r} to {new_id!r}")
                step_id = new_id
            args = raw.get("args") if isinstance(raw.get("args"), dict) else {}
            step = Step(
                id=step_id,
                tool=name,
                args=dict(args or {}),
                purpose=str(raw.get("purpose", ""))[:120],
            )
            if not self._check_args(step, known, intent, repairs):
                continue
            declared = [d for d in raw.get("depends_on") or [] if isinstance(d, str)]
            dangling = [d for d in declared if d not in known]
            if dangling:
                repairs.append(f"{step_id}: removed dangling dependencies {dangling}")
            refs = [r for r, _ in references(step.args)]
            step.depends_on = list(dict.fromkeys([d for d in declared if d in known] + refs))
            steps.append(step)
            known[step_id] = name
            ids.add(step_id)
            if len(steps) >= max_steps:
                repairs.append(f"cut the plan at {max_steps} steps")
                break
        order = graphlib.TopologicalSorter({s.id: set(s.depends_on) for s in steps})
        order.prepare()  # raises CycleError; the caller rejects the draft
        return steps, repairs, unavailable

    def cover(
        self, steps: list[Step], intent: Intent, repairs: list[str], unavailable: list[str]
    ) -> list[Step]:
        """Add template steps for deliverables the plan does not make."""
        have = {s.tool for s in steps}
        missing = [
            d for d in intent.deliverables if DELIVERABLE_TOOL.get(d) in self.available - have
        ]
        if not missing:
            return steps
        template, _, notes = self.check(template_steps(intent), intent, max_steps=32)
        for note in notes:
            if note not in unavailable:
                unavailable.append(note)
        if steps:
            repairs.append(f"the draft did not make {missing}: added the template's steps")
        # Keep every drafted step; add template steps for what is missing, wired to the
        # drafted step of the same tool where there is one.
        return merge_replan(steps, template, {s.id for s in steps}, version=1)


def map_references(value: Any, replace: Callable[[str, str | None], Any]) -> Any:
    """``value`` with every ``$step.field`` string replaced by ``replace(step, field)``.

    ``replace`` returns ``NO_CHANGE`` to keep a reference as it is.
    """
    if isinstance(value, str):
        match = REF.match(value.strip())
        if match:
            new = replace(match.group(1), match.group(2))
            return value if new is NO_CHANGE else new
        return value
    if isinstance(value, list):
        return [map_references(v, replace) for v in value]
    if isinstance(value, dict):
        return {k: map_references(v, replace) for k, v in value.items()}
    return value


NO_CHANGE = object()


def _rewrite(value: Any, mapping: dict[str, str]) -> Any:
    def rename(step: str, field: str | None) -> Any:
        if step not in mapping:
            return NO_CHANGE
        return f"${mapping[step]}" + (f".{field}" if field else "")

    return map_references(value, rename)


def merge_replan(
    previous: list[Step], new_steps: list[Step], done_ids: set[str], version: int
) -> list[Step]:
    """Re-plan the rest: keep finished steps, reuse them for the same tool, rename the others.

    A new step never takes the id of an old one, so an old result can never be mistaken for
    the new step's.
    """
    kept = [s for s in previous if s.id in done_ids]
    by_tool = {s.tool: s.id for s in kept}
    old_ids = {s.id for s in previous}
    mapping: dict[str, str] = {}
    fresh: list[Step] = []
    for step in new_steps:
        if step.tool in by_tool:
            mapping[step.id] = by_tool[step.tool]
            continue
        new_id = f"{step.id}v{version}" if step.id in old_ids else step.id
        mapping[step.id] = new_id
        fresh.append(step)
    out = list(kept)
    for step in fresh:
        out.append(
            step.model_copy(
                update={
                    "id": mapping[step.id],
                    "args": _rewrite(step.args, mapping),
                    "depends_on": [mapping.get(d, d) for d in step.depends_on],
                }
            )
        )
    return out
