"""TaskBench inputs: the tool catalog (types + tool graph), records from any JSONL file.

The 40 tools are registered as animagent ``ToolSpec``s in a benchmark-only registry so the
planner sees them the way the agent's planner sees real tools; they are never executed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.registry import ToolRegistry, ToolSpec

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "taskbench"
DEV_FILE = DATA_DIR / "multimedia_dev.jsonl"


def data_dir() -> Path:
    """The folder holding tool_desc.json / graph_desc.json (ANIMAGENT_TASKBENCH_DIR wins)."""
    import os

    return Path(os.environ.get("ANIMAGENT_TASKBENCH_DIR", str(DATA_DIR)))


@dataclass(frozen=True)
class Tool:
    """One TaskBench tool: name, description, input types (ordered slots), output type."""

    name: str
    desc: str
    inputs: tuple[str, ...]
    output: str


@dataclass(frozen=True)
class Catalog:
    """The tools and the tool graph (which tool's output may feed which)."""

    tools: dict[str, Tool]
    edges: frozenset[tuple[str, str]]

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
        tools = {
            n["id"]: Tool(
                name=n["id"],
                desc=n["desc"],
                # types are compared lower-cased: tool_desc writes "Image" once
                inputs=tuple(t.lower() for t in n["input-type"]),
                output=(n["output-type"][0].lower() if n["output-type"] else "none"),
            )
            for n in nodes
        }
        edges = frozenset((e["source"], e["target"]) for e in links)
        return cls(tools=tools, edges=edges)

    @property
    def names(self) -> list[str]:
        """Tool names in tool_desc order."""
        return list(self.tools)

    def can_feed(self, source: str, target: str) -> bool:
        """Whether ``source``'s output may feed ``target`` (tool graph, else types)."""
        if (source, target) in self.edges:
            return True
        src, dst = self.tools.get(source), self.tools.get(target)
        return bool(src and dst and src.output in dst.inputs)

    def registry(self) -> ToolRegistry:
        """The tools as animagent ToolSpecs (benchmark only: calling one raises)."""
        from langchain_core.tools import StructuredTool
        from pydantic import BaseModel, Field

        class Arguments(BaseModel):
            arguments: list[str] = Field(description="Raw values or <node-j> references.")

        def not_executed(arguments: list[str]) -> dict[str, Any]:
            raise RuntimeError("TaskBench tools are planned, never executed.")

        registry = ToolRegistry()
        for tool in self.tools.values():
            structured = StructuredTool.from_function(
                func=not_executed,
                name=tool.name,
                description=f"{tool.desc} Inputs: {', '.join(tool.inputs)}. Output: {tool.output}.",
                args_schema=Arguments,
            )
            registry.add(ToolSpec(tool=structured, category="taskbench", outputs=(tool.output,)))
        return registry


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
