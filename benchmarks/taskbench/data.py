"""TaskBench inputs: the tool catalog (types + tool graph), records from any JSONL file.

The 40 tools are registered as animagent ``ToolSpec``s (consumes / produces from tool_desc's
types, hints from the cue phrases) in a registry that the product's planner (``planning/``)
reads exactly like the studio's own; they are never executed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from benchmarks.taskbench.cues import CUES
from planning.memory import PastPlan
from tools.registry import ToolRegistry, ToolSpec

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "taskbench"
DEV_FILE = DATA_DIR / "multimedia_dev.jsonl"


def data_dir() -> Path:
    """The folder holding tool_desc.json / graph_desc.json (ANIMAGENT_TASKBENCH_DIR wins)."""
    import os

    return Path(os.environ.get("ANIMAGENT_TASKBENCH_DIR", str(DATA_DIR)))


def dev_file() -> Path:
    """The development records (``multimedia_dev.jsonl`` in ``data_dir()``)."""
    return data_dir() / DEV_FILE.name


class Catalog(ToolRegistry):
    """TaskBench's 40 tools as ToolSpecs, in tool_desc order, with graph_desc's edges.

    Each tool consumes its ``input-type`` list (one argument per slot, in order) and produces
    its ``output-type``; its hints are the cue phrases of ``cues.CUES``. ``can_feed`` allows
    graph_desc's edges as well as type matches. The tools are planned, never executed.
    """

    def __init__(self, specs: Iterable[ToolSpec] = (), edges: Iterable[tuple[str, str]] = ()):
        """Register ``specs``; ``edges`` are (source, target) pairs of the tool graph."""
        super().__init__(specs)
        self.edges = frozenset(edges)

    @classmethod
    def load(cls, folder: str | Path | None = None) -> Catalog:
        """Read ``tool_desc.json`` and ``graph_desc.json`` from ``folder``."""
        root = Path(folder) if folder else data_dir()
        try:
            nodes = json.loads((root / "tool_desc.json").read_text())["nodes"]
            links = json.loads((root / "graph_desc.json").read_text())["links"]
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"TaskBench tool files missing: {exc.filename}. Set ANIMAGENT_TASKBENCH_DIR to "
                "the folder with tool_desc.json and graph_desc.json."
            ) from exc
        return cls((_spec(n) for n in nodes), ((e["source"], e["target"]) for e in links))

    def all(self) -> list[ToolSpec]:
        """Every tool in tool_desc order (the selector's features and ties follow it)."""
        return list(self._specs.values())

    @property
    def names(self) -> list[str]:
        """Tool names in tool_desc order."""
        return [s.name for s in self.all()]

    def can_feed(self, source: str, target: str) -> bool:
        """Whether ``source``'s output may feed ``target`` (tool graph, else types)."""
        return (source, target) in self.edges or super().can_feed(source, target)


def _not_executed(arguments: list[str]) -> dict[str, Any]:
    raise RuntimeError("TaskBench tools are planned, never executed.")


class _Arguments(BaseModel):
    arguments: list[str] = Field(description="Raw values or <node-j> references.")


def _spec(node: dict[str, Any]) -> ToolSpec:
    """One tool_desc node as a ToolSpec (types lower-cased: tool_desc writes "Image" once)."""
    name = str(node["id"])
    consumes = {f"input{i + 1}": str(t).lower() for i, t in enumerate(node["input-type"])}
    output = str(node["output-type"][0]).lower() if node["output-type"] else "none"
    structured = StructuredTool.from_function(
        func=_not_executed,
        name=name,
        description=(f"{node['desc']} Inputs: {', '.join(consumes.values())}. Output: {output}."),
        args_schema=_Arguments,
    )
    return ToolSpec(
        tool=structured,
        category="taskbench",
        outputs=("output",),
        consumes=consumes,
        produces={"output": output},
        hints=tuple(CUES.get(name, ())),
    )


def load_records(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Records of a TaskBench JSONL file (any file in the dev file's format)."""
    out: list[dict[str, Any]] = []
    for record in iter_records(path):
        out.append(record)
        if limit is not None and len(out) >= limit:
            break
    return out


def iter_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield records; blank lines are skipped, a bad line raises with its number."""
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if "instruction" not in record or "id" not in record:
                raise ValueError(f"{path}:{number}: a record needs 'id' and 'instruction'")
            record["id"] = str(record["id"])
            yield record


def gold_tools(record: dict[str, Any]) -> list[str]:
    """The tool names of a record's gold plan, in order."""
    return [str(n.get("task", "")) for n in record.get("task_nodes", []) if isinstance(n, dict)]


def gold_links(record: dict[str, Any]) -> set[tuple[str, str]]:
    """(source tool, target tool) pairs from the gold plan's ``<node-k>`` references."""
    nodes = [n for n in record.get("task_nodes", []) if isinstance(n, dict)]
    names = [str(n.get("task", "")) for n in nodes]
    out: set[tuple[str, str]] = set()
    for node in nodes:
        args = node.get("arguments")
        for arg in args if isinstance(args, list) else []:
            if isinstance(arg, str) and "<node-" in arg:
                try:
                    k = int(arg[arg.index("<node-") + 6 : arg.index(">")])
                    out.add((names[k], str(node.get("task", ""))))
                except (ValueError, IndexError):
                    continue
    return out


def as_past_plan(record: dict[str, Any]) -> PastPlan:
    """A record's gold plan as a past plan (tools in order, links from ``<node-k>``)."""
    return PastPlan(
        request=str(record["instruction"]),
        tools=tuple(gold_tools(record)),
        links=frozenset(gold_links(record)),
        source=str(record.get("id", "")),
    )
