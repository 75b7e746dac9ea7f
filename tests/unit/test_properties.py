"""Property-based tests (hypothesis): random plan drafts and reducer merge orders.

Planning must never crash on a draft, whatever a model writes (cycles, self references,
unknown tools, missing or ill-typed arguments, duplicate ids, huge fan-out), and what it lets
through must be executable: known available tools, unique safe ids, arguments the tool takes,
dependencies on earlier steps only. ``plan_entry`` is the one place that names the planning
entry point (today planning.check.validate_steps, the last guard before execution), so the
tests follow it when it moves.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from planning.check import validate_steps
from planning.refs import references
from services.outputs import ID_PATTERN
from state import Step
from state.state import merge_by_id
from tools.registry import ToolArgumentError, ToolRegistry, default_registry

REGISTRY = default_registry()
UNAVAILABLE = REGISTRY.unavailable()
AVAILABLE = {s.name for s in REGISTRY.all() if s.name not in UNAVAILABLE}
TOOLS = sorted(s.name for s in REGISTRY.all())
FIELDS = sorted(
    {k for s in REGISTRY.all() for k in s.tool.tool_call_schema.model_fields}  # type: ignore[union-attr]
)
EXAMPLES = 200


def plan_entry(drafts: list[Any], registry: ToolRegistry) -> list[Step]:
    """The planning entry point under test: the steps it lets through to execution."""
    steps, _ = validate_steps(drafts, registry, AVAILABLE)
    return steps


system_ids = st.builds(lambda i: f"s{i}", st.integers(min_value=1, max_value=8))
ids = st.one_of(
    st.builds(lambda i: f"s{i}", st.integers(min_value=0, max_value=14)),
    st.builds(lambda i: f"s{i}", st.integers(min_value=0, max_value=14)),
    st.sampled_from(["a", "b", "s01", "S1"]),
    st.text(max_size=20),
    st.sampled_from(["..", "/etc", "s1\n", "s2\n", "a\x00b", "sé", "x" * 40, "", "1abc"]),
    st.none(),
    st.integers(),
)
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=30),
        st.builds(
            lambda i, f: f"${i}.{f}",
            st.sampled_from(["s1", "s2", "s9", "s10", "a"]),
            st.sampled_from([*FIELDS, "nope"]),
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=4,
)
tool_names = st.one_of(
    st.sampled_from(sorted(AVAILABLE)),  # weighted towards tools that can pass
    st.sampled_from(sorted(AVAILABLE)),
    st.sampled_from(TOOLS),
    st.sampled_from(["write_dialog", "synthesise_voice", "launch_rocket", ""]),
    st.text(max_size=15),
    st.integers(),
)
_SAMPLE = {"string": "Luca", "array": ["Luca"], "integer": 1, "number": 1.0, "boolean": True}


def _good_args(tool: str) -> dict[str, Any]:
    """Values of the right JSON type for every required argument of ``tool``."""
    spec = REGISTRY.get(tool)
    schema = spec.arg_schema() if spec else {}
    props = schema.get("properties", {})
    return {
        k: _SAMPLE.get(props.get(k, {}).get("type", ""), "x") for k in schema.get("required", [])
    }


# Near-valid steps (right types, system ids, then noise) so that many drafts pass in part and
# the invariants are checked on steps that really reach execution, not only on rejections.
good_steps = st.builds(
    lambda tool, step_id, deps, extra: {
        "id": step_id,
        "tool": tool,
        "args": {**_good_args(tool), **extra},
        "depends_on": deps,
    },
    st.sampled_from(sorted(AVAILABLE)),
    st.one_of(system_ids, system_ids, ids),
    st.one_of(st.just([]), st.lists(system_ids, max_size=2), st.lists(ids, max_size=3)),
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=2),
)
drafts = st.lists(
    st.one_of(
        good_steps,
        good_steps,
        st.fixed_dictionaries(
            {"tool": tool_names},
            optional={
                "id": ids,
                "args": st.one_of(
                    st.dictionaries(
                        st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), values, max_size=6
                    ),
                    values,
                ),
                "depends_on": st.one_of(st.lists(ids, max_size=6), values),
                "purpose": st.one_of(st.text(max_size=200), st.integers()),
            },
        ),
    ),
    max_size=12,
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drafts=drafts)
def test_random_drafts_never_crash_planning_nor_pass_an_invalid_step(
    drafts: list[dict[str, Any]],
) -> None:
    steps = plan_entry(drafts, REGISTRY)
    event(f"steps passed: {min(len(steps), 3)}+")
    seen: dict[str, str] = {}
    for step in steps:
        assert step.tool in AVAILABLE
        assert ID_PATTERN.fullmatch(step.id), step.id  # safe as a file name part
        assert step.id not in seen  # unique
        assert step.id not in step.depends_on  # no self reference
        assert all(dep in seen for dep in step.depends_on)  # earlier steps only: a DAG
        spec = REGISTRY.get(step.tool)
        assert spec is not None
        fields = spec.tool.tool_call_schema.model_fields  # type: ignore[union-attr]
        assert set(step.args) <= set(fields)  # only arguments the tool takes
        for name, field in fields.items():
            if field.is_required():
                assert name in step.args, (step.tool, name)
        for ref_id, ref_field in references(step.args):
            assert ref_id in step.depends_on
            source = REGISTRY.get(seen[ref_id])
            assert source is not None
            assert not ref_field or ref_field in {*source.produces, *source.outputs}
        plain = {k: v for k, v in step.args.items() if not references(v)}
        if len(plain) == len(step.args):
            # validate_steps checks each argument's JSON type, not nested item types; the
            # execution boundary (nodes/steps.execute) validates the full schema before any
            # tool code runs, so such a step fails cleanly instead of running.
            try:
                spec.validate(plain)
                event("passed step: full schema valid")
            except ToolArgumentError:
                event("passed step: refused at the execution boundary")
        seen[step.id] = step.tool


def _fan_out(n: int) -> list[dict[str, Any]]:
    head = {"id": "s1", "tool": "write_dialogue", "args": {"characters": ["Luca"], "premise": "x"}}
    tail = [
        {
            "id": f"s{i + 2}",
            "tool": "synthesize_voice",
            "depends_on": ["s1"],
            "args": {"lines": "$s1.lines"},
        }
        for i in range(n)
    ]
    return [head, *tail]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(min_value=1, max_value=500))
def test_huge_fan_out_keeps_every_valid_branch(n: int) -> None:
    steps = plan_entry(_fan_out(n), REGISTRY)
    assert len(steps) == n + 1
    assert all(s.depends_on == ["s1"] for s in steps[1:])


keys = st.text(alphabet="abcdef", min_size=1, max_size=3)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    base=st.dictionaries(keys, st.integers(), max_size=5),
    updates=st.lists(st.dictionaries(keys, st.integers(), max_size=4), max_size=6),
    order=st.randoms(use_true_random=False),
)
def test_merge_by_id_is_order_free_for_disjoint_writers(
    base: dict[str, int], updates: list[dict[str, int]], order: Any
) -> None:
    # Parallel steps write disjoint keys (one step id each), so make the updates disjoint.
    owned: list[dict[str, int]] = []
    taken: set[str] = set()
    for update in updates:
        mine = {k: v for k, v in update.items() if k not in taken}
        taken |= set(mine)
        owned.append(mine)
    shuffled = list(owned)
    order.shuffle(shuffled)
    forward, backward = dict(base), dict(base)
    for update in owned:
        forward = merge_by_id(forward, update)
    for update in shuffled:
        backward = merge_by_id(backward, update)
    assert forward == backward
