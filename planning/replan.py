"""Merge a freshly built plan with steps that already exist, keeping ids stable.

A built step that matches a kept step (same tool, the same values for the arguments it sets,
inputs from the same kept steps) takes that step's id, so its finished result counts; every
other step gets a new id from the plan's counter, so an old result can never be mistaken for a
new step's. Used by re-plans
(kept = the steps accepted so far) and by ReAct's next step (kept = the plan so far).
"""

from __future__ import annotations

from typing import Any

from planning.build import Draft
from planning.refs import ref
from state.models import Step


def _args_for(draft: Draft, ids: list[str | None]) -> dict[str, Any] | None:
    args = dict(draft.args)
    for arg, (source, out_field) in draft.links.items():
        if ids[source] is None:
            return None
        args[arg] = ref(str(ids[source]), out_field)
    return args


def merge_steps(
    kept: list[Step],
    drafts: list[Draft],
    next_id: int,
    *,
    limit: int | None = None,
    only: Draft | None = None,
) -> tuple[list[Step], int, list[Draft]]:
    """Kept steps plus the drafts' new steps (at most ``limit``; with ``only``, that one alone).

    Drafts stay in place: their links are positions in ``drafts``.

    Returns the steps, the next free id number, and the drafts left for later (beyond
    ``limit``, not ``only``, or waiting on a draft left for later).
    """
    steps = list(kept)
    ids: list[str | None] = [None] * len(drafts)
    left: list[Draft] = []
    added = 0
    for i, draft in enumerate(drafts):
        args = _args_for(draft, ids)
        if args is None:
            left.append(draft)
            continue
        # A kept step may carry more (a ReAct call's own arguments, past parameters): it
        # matches when everything the draft asks for is the same.
        match = next(
            (
                s
                for s in kept
                if s.tool == draft.tool
                and all(s.args.get(k) == v for k, v in args.items())
                and s.id not in ids
            ),
            None,
        )
        if match is not None:
            ids[i] = match.id
            continue
        if (limit is not None and added >= limit) or (only is not None and draft is not only):
            left.append(draft)
            continue
        new_id = f"s{next_id}"
        next_id += 1
        added += 1
        ids[i] = new_id
        depends = list(dict.fromkeys(str(ids[s]) for s, _ in draft.links.values()))
        steps.append(
            Step(id=new_id, tool=draft.tool, args=args, depends_on=depends, purpose=draft.purpose)
        )
    return steps, next_id, left
