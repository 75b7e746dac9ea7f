"""TaskBench scoring, written from the rules in shared/benchmarks/taskbench/METRICS.md.

Resource setting (multimedia): links come from ``<node-k>`` references in the arguments, not
from ``task_links``. Metrics: node F1 (micro over known tools; unknown predicted names are
ignored), link F1, argument-name F1 (t-F1), argument-value F1 (v-F1), and the InDel-normalised
edit distance (1 - mean Levenshtein ratio). Every F1 pools per-sample set unions over samples.

Quirks kept on purpose, because published numbers include them:

* content type is a substring test for ``.ext`` (``".au"`` matches inside ``".aux"``);
* a non-string argument (a number, a list holding a number, a bad ``<node-x>`` index) makes the
  converter fail; the upstream code swallows the error and appends the previously built pair
  again. Upstream that "previous pair" is a variable that lives across samples in set order
  (nondeterministic); we scope it to one sample (label first, then prediction) and, when there
  is none yet, skip the sample as METRICS.md describes;
* a link's source is the underscore-normalised tool name while its target is the raw ``task``
  string (upstream builds them that way);
* a bare-string ``arguments`` is iterated character by character; a non-iterable one errors
  and the sample is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE_EXT = ("jpg", "png", "jpeg", "gif", "bmp", "tiff", "svg", "ico")
AUDIO_EXT = ("mp3", "wav", "wma", "ogg", "aac", "flac", "aiff", "au")
VIDEO_EXT = ("mp4", "avi", "mov", "flv", "wmv", "mkv", "webm", "m4v", "mpg", "mpeg")
TYPES = ("overall", "single", "chain", "dag")


class SampleError(Exception):
    """The sample cannot be converted (upstream logs and skips it)."""


def content_type(content: str) -> str:
    """Guess image/audio/video/text from a ``.ext`` substring (upstream's order and quirks)."""
    content = content.strip("'")
    for kind, exts in (("image", IMAGE_EXT), ("audio", AUDIO_EXT), ("video", VIDEO_EXT)):
        if any("." + ext in content for ext in exts):
            return kind
    return "text"


@dataclass(frozen=True)
class ToolTable:
    """The tool list: names in ``tool_desc`` order and each tool's first output type."""

    names: tuple[str, ...]
    output_type: Mapping[str, str]

    @classmethod
    def load(cls, path: str | Path) -> ToolTable:
        """Read ``tool_desc.json``."""
        nodes = json.loads(Path(path).read_text())["nodes"]
        return cls(
            names=tuple(n["id"] for n in nodes),
            output_type={
                n["id"]: (n["output-type"][0] if n["output-type"] else "none") for n in nodes
            },
        )

    def index(self, name: str) -> int:
        """1-based id of a known tool, 0 for an unknown name (edit distance)."""
        try:
            return self.names.index(name) + 1
        except ValueError:
            return 0


@dataclass
class Normalized:
    """One side (gold or predicted) of a sample after normalisation."""

    names: list[str]
    links: list[tuple[str, str]]
    arg_names: list[str]
    arg_values: list[str]


@dataclass
class _Carry:
    """The "previously built pair" that upstream re-appends after a swallowed error."""

    pair: tuple[str, str] | None = None


def _convert(
    argument: Any,
    inx: int,
    names: list[str],
    task: str,
    tools: ToolTable,
    links: list[tuple[str, str]],
) -> tuple[str, str] | None:
    """One argument -> (name, value); None means "dropped" (a self reference).

    Raises on anything upstream's converter would fail on (the caller applies the quirk).
    """
    if isinstance(argument, dict):
        argument = list(argument.values())[0]
    if isinstance(argument, list):
        argument = " ".join(argument)  # TypeError on non-string items, as upstream
    if not isinstance(argument, str):
        raise TypeError(f"non-string argument {argument!r}")
    if "<node-" in argument:
        start = argument.index("<node-") + 6
        end = argument.index(">")
        k = int(argument[start:end])
        if k == inx:
            return None
        source = names[k]  # IndexError (or Python's negative indexing) as upstream
        links.append((source, task))
        return (tools.output_type.get(source, "other"), source)
    return (content_type(argument), argument)


def normalize(nodes: Sequence[Mapping[str, Any]], tools: ToolTable, carry: _Carry) -> Normalized:
    """Normalise one plan's nodes (names, links from references, typed arguments)."""
    names = [n["task"].replace("_", " ") for n in nodes]  # AttributeError: skipped
    links: list[tuple[str, str]] = []
    arg_names: list[str] = []
    arg_values: list[str] = []
    for inx, node in enumerate(nodes):
        arguments = node.get("arguments", [])
        try:
            items = list(arguments)
        except TypeError as exc:
            raise SampleError(f"arguments not iterable: {arguments!r}") from exc
        for argument in items:
            try:
                pair = _convert(argument, inx, names, node["task"], tools, links)
                if pair is None:
                    continue
                carry.pair = pair
            except Exception:
                if carry.pair is None:
                    raise SampleError(f"non-convertible first argument {argument!r}") from None
            assert carry.pair is not None
            arg_names.append(f"{names[inx]}-{carry.pair[0]}")
            arg_values.append(f"{names[inx]}-{carry.pair[0]}-{carry.pair[1]}")
    return Normalized(names, links, arg_names, arg_values)


@dataclass
class Counts:
    """TP/FP/FN pooled over samples for one metric."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: Iterable[Any], pred: Iterable[Any], known: set[str] | None = None) -> None:
        """Add one sample's set comparison; with ``known``, other names count nowhere."""
        g, p = set(gold), set(pred)
        if known is not None:
            g, p = g & known, p & known
        self.tp += len(g & p)
        self.fp += len(p - g)
        self.fn += len(g - p)

    @property
    def f1(self) -> float:
        """Micro F1 (0 when there is nothing to count)."""
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 0.0


def indel_ratio(a: Sequence[int], b: Sequence[int]) -> float:
    """``Levenshtein.ratio``: 1 - (insertions + deletions) / (len(a) + len(b)); 1 if both empty."""
    if not a and not b:
        return 1.0
    # Longest common subsequence: InDel distance = len(a) + len(b) - 2 * LCS.
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return 2 * prev[-1] / (len(a) + len(b))


@dataclass
class Scores:
    """Pooled counts for one group of samples."""

    nodes: Counts = field(default_factory=Counts)
    links: Counts = field(default_factory=Counts)
    arg_names: Counts = field(default_factory=Counts)
    arg_values: Counts = field(default_factory=Counts)
    ratio_sum: float = 0.0
    samples: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, float]:
        """Percentages like the paper (ED as a fraction, lower is better)."""
        return {
            "n_f1": round(100 * self.nodes.f1, 2),
            "e_f1": round(100 * self.links.f1, 2),
            "t_f1": round(100 * self.arg_names.f1, 2),
            "v_f1": round(100 * self.arg_values.f1, 2),
            "ed": round(1 - self.ratio_sum / self.samples, 4) if self.samples else 0.0,
            "samples": self.samples,
            "skipped": self.skipped,
        }


def score_sample(
    gold: Mapping[str, Any], pred_nodes: Sequence[Mapping[str, Any]], tools: ToolTable, into: Scores
) -> bool:
    """Score one sample into ``into``; False (and counted as skipped) when it errors."""
    carry = _Carry()
    try:
        g = normalize(gold["task_nodes"], tools, carry)
        p = normalize(pred_nodes, tools, carry)
    except (SampleError, KeyError, TypeError, AttributeError) as exc:
        del exc
        into.skipped += 1
        return False
    known = set(tools.names)
    into.nodes.add(g.names, p.names, known)
    into.links.add(g.links, p.links)
    into.arg_names.add(g.arg_names, p.arg_names)
    into.arg_values.add(g.arg_values, p.arg_values)
    into.ratio_sum += indel_ratio(
        [tools.index(n) for n in p.names], [tools.index(n) for n in g.names]
    )
    into.samples += 1
    return True


def score(
    records: Iterable[Mapping[str, Any]],
    predictions: Mapping[str, Sequence[Mapping[str, Any]]],
    tools: ToolTable,
) -> dict[str, dict[str, float]]:
    """Score predictions (id -> predicted ``task_nodes``) overall and by record ``type``.

    Only ids present on both sides are scored (upstream's intersection).
    """
    groups = {name: Scores() for name in TYPES}
    for record in records:
        rid = str(record["id"])
        if rid not in predictions:
            continue
        for name in ("overall", str(record.get("type", ""))):
            if name in groups:
                score_sample(record, predictions[rid], tools, groups[name])
    return {name: s.as_dict() for name, s in groups.items()}
