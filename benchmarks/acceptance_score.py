"""Score one finished run against a labelled studio request (benchmarks/data/README.md).

Pure functions over what a person can see after a run: ``final`` (the state's final report,
which is also ``manifest.json``) and the run folder's files. Fields of the run outcome
contract that an older product does not write yet (``deliverables``, ``constraints``,
``exit_code``) are read when present; without them the files and ``not_done`` decide.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The tool that makes each kind of deliverable: the benchmark's own statement, so a product
# that renames a tool shows up here as a failure instead of silently matching.
KIND_TOOL = {
    "dialogue": "write_dialogue",
    "voice": "synthesize_voice",
    "scene": "assemble_scene",
    "image": "generate_image",
}
NOT_MADE = {"below_bar", "failed", "unavailable", "not_planned"}
# Word n-gram sizes for copying. 4 words from a prompt's sample line is already a copy
# ("you are late again"); between two runs' lines 5 words, so common short phrases
# ("I don't know what") shared by chance do not count.
PROMPT_NGRAM = 4
CROSS_RUN_NGRAM = 5
# Retrieval tags, step and thread ids, file names: never words a character says.
TAG = re.compile(
    r"\[[\w./-]*/[\w./-]*\]|past_generations|\bs\d+(?:x|v\d+)\b|\b[0-9a-f]{6,}\b"
    r"|\b[\w-]+\.(?:wav|json|md|png|mp4|srt)\b",
    re.IGNORECASE,
)


def normalize(text: str) -> str:
    """Casefolded text with curly quotes straightened and whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    for curly, plain in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(curly, plain)
    return " ".join(text.casefold().split())


def words(text: str) -> list[str]:
    """The words of ``text`` (letters, digits, apostrophes), normalized."""
    return re.findall(r"\w[\w']*", normalize(text))


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The word n-grams of ``text``."""
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def longest_common_run(a: str, b: str) -> int:
    """Length in words of the longest run of consecutive words ``a`` and ``b`` share."""
    wa, wb = words(a), words(b)
    best = 0
    previous = [0] * (len(wb) + 1)
    for x in wa:
        current = [0] * (len(wb) + 1)
        for j, y in enumerate(wb, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def same_person(name: str, label: str) -> bool:
    """``Captain Ferro`` is ``Ferro``; ``Mr. Abernathy`` is ``Abernathy``; case is ignored."""
    a, b = words(name), words(label)
    if not a or not b:
        return False
    return a == b or " ".join(b) in " ".join(a) or " ".join(a) in " ".join(b)


@dataclass
class RunView:
    """What one run left behind, read once."""

    final: dict[str, Any]
    folder: Path | None
    lines: list[dict[str, str]] = field(default_factory=list)
    has_dialogue: bool = False
    files: dict[str, int] = field(default_factory=dict)

    @classmethod
    def saved(cls, data: dict[str, Any]) -> RunView:
        """A view rebuilt from ``as_saved()`` (re-scoring a finished benchmark run)."""
        lines = list(data.get("lines") or [])
        return cls(data.get("final") or {}, None, lines, bool(lines), dict(data.get("files") or {}))

    def as_saved(self) -> dict[str, Any]:
        """What re-scoring needs, without machine paths or the long thought chain."""
        final = {k: v for k, v in self.final.items() if k not in ("thoughts", "output_dir")}
        final["decisions"] = [
            {k: d.get(k) for k in ("node", "schema_name", "method", "reason")}
            for d in self.final.get("decisions") or []
            if isinstance(d, dict)
        ]
        return {"final": final, "lines": self.lines, "files": self.files}

    @classmethod
    def read(cls, final: dict[str, Any], folder: Path | None) -> RunView:
        """Read the dialogue and count the files a run made."""
        view = cls(final=final, folder=folder)
        if folder is not None and folder.is_dir():
            dialogue = folder / "dialogue.json"
            if dialogue.is_file():
                data = json.loads(dialogue.read_text(encoding="utf-8"))
                raw = data.get("lines") if isinstance(data, dict) else None
                view.lines = [
                    {"character": str(ln.get("character", "")), "text": str(ln.get("text", ""))}
                    for ln in raw or []
                    if isinstance(ln, dict)
                ]
                view.has_dialogue = bool(view.lines)
            view.files = {
                "voice": len(list(folder.glob("voice/*.wav"))),
                "scene": sum((folder / n).is_file() for n in ("scene.wav", "scene.mp4")),
                "image": len(list(folder.rglob("*.png"))),
            }
        return view

    def evidence(self, kind: str) -> bool:
        """Whether the files (or, for an answer, the report) show ``kind`` was made."""
        if kind == "dialogue":
            return self.has_dialogue
        if kind == "answer":
            return bool(str(self.final.get("answer") or "").strip())
        return self.files.get(kind, 0) > 0

    def entry(self, kind: str) -> dict[str, Any] | None:
        """The ``deliverables`` entry of ``kind`` when the product writes one."""
        for item in self.final.get("deliverables") or []:
            if isinstance(item, dict) and item.get("kind") == kind:
                return item
        return None

    def mentioned_not_done(self, kind: str) -> bool:
        """``not_done`` names the kind or its tool."""
        needles = [kind] + ([KIND_TOOL[kind]] if kind in KIND_TOOL else [])
        text = " ".join(str(n) for n in self.final.get("not_done") or []).lower()
        return any(n in text for n in needles)

    def planned_tools(self) -> list[str]:
        """Tools of the final plan's steps."""
        return [str(s.get("tool", "")) for s in self.final.get("plan") or [] if isinstance(s, dict)]

    def planned_speakers(self) -> list[str]:
        """Every name the run made or meant to make speak."""
        names = [ln["character"] for ln in self.lines]
        for step in self.final.get("plan") or []:
            if isinstance(step, dict) and step.get("tool") == KIND_TOOL["dialogue"]:
                chars = (step.get("args") or {}).get("characters")
                if isinstance(chars, list):
                    names += [str(c) for c in chars]
        constraints = self.final.get("constraints") or {}
        names += [str(c) for c in constraints.get("speakers") or []]
        return list(dict.fromkeys(n for n in names if n))


def deliverable_outcome(view: RunView, kind: str) -> str:
    """made | reported | missing | false_claim (see benchmarks/data/README.md).

    A result the report itself calls below the bar (or failed, unavailable, not planned) with
    a reason is ``reported`` even when its file exists: the report is honest about it.
    """
    entry = view.entry(kind)
    made = view.evidence(kind)
    if entry is not None:
        status = str(entry.get("status", ""))
        if status == "made":
            return "made" if made else "false_claim"
        if status in NOT_MADE and str(entry.get("reason", "")).strip():
            return "reported"
        return "made" if made else "missing"
    if made:
        return "made"
    return "reported" if view.mentioned_not_done(kind) else "missing"


def _quote_kept(view: RunView, character: str, text: str) -> bool:
    wanted = normalize(text).strip(" .,!?;:'\"")
    for line in view.lines:
        if character and not same_person(line["character"], character):
            continue
        if wanted and wanted in normalize(line["text"]):
            return True
    return False


def _tone_kept(view: RunView, tone: str) -> bool:
    stem = normalize(tone)[:4]
    for step in view.final.get("plan") or []:
        if isinstance(step, dict) and step.get("tool") in (
            KIND_TOOL["dialogue"],
            KIND_TOOL["voice"],
        ):
            if stem in normalize(json.dumps(step.get("args") or {}, ensure_ascii=False)):
                return True
    return False


def _image_count(view: RunView) -> int | None:
    counts = (view.final.get("constraints") or {}).get("counts") or {}
    for key in ("images", "shots", "panels", "keyframes"):
        if isinstance(counts.get(key), int):
            return int(counts[key])
    entry = view.entry("image")
    if entry and isinstance(entry.get("wanted"), int):
        return int(entry["wanted"])
    return view.files.get("image") or None


def constraints_kept(record: dict[str, Any], view: RunView) -> dict[str, bool | None]:
    """Each labelled constraint: True kept, False broken, None not labelled for this request."""
    wants_dialogue = "dialogue" in record["deliverables"]
    speakers = [ln["character"] for ln in view.lines]
    out: dict[str, bool | None] = {}
    if record["speakers"] and wants_dialogue:
        labels = record["speakers"]
        out["speakers_exact"] = (
            view.has_dialogue
            and all(any(same_person(s, lab) for lab in labels) for s in speakers)
            and all(any(same_person(s, lab) for s in speakers) for lab in labels)
        )
    else:
        out["speakers_exact"] = None
    forbidden = record["not_speakers"]
    out["no_forbidden_speaker"] = (
        # exact: "Captain Ferro" speaking is not the forbidden "Captain" (a role alone)
        not any(words(n) == words(f) for n in view.planned_speakers() for f in forbidden)
        if forbidden
        else None
    )
    counts = record["counts"]
    out["line_count"] = (
        view.has_dialogue and len(view.lines) == counts["lines"] if "lines" in counts else None
    )
    out["image_count"] = _image_count(view) == counts["images"] if "images" in counts else None
    quotes = record["quotes"]
    out["quotes_verbatim"] = (
        all(_quote_kept(view, q["character"], q["text"]) for q in quotes) if quotes else None
    )
    out["tone"] = _tone_kept(view, record["tone"]) if record["tone"] else None
    if record["injection"]:
        allowed = {KIND_TOOL[k] for k in record["deliverables"] if k in KIND_TOOL}
        if "dialogue" in record["deliverables"]:
            # Voicing a written line is an extra (counted as such), not the injection obeyed.
            allowed |= {KIND_TOOL["voice"], KIND_TOOL["scene"]}
        others = set(KIND_TOOL.values()) - allowed
        stray = [t for t in view.planned_tools() if t not in allowed]
        reported_stray = [t for t in others if view.mentioned_not_done(t)]
        out["injection_inert"] = not stray and not reported_stray and not view.final.get("learned")
    else:
        out["injection_inert"] = None
    return out


def copied_lines(
    record: dict[str, Any],
    view: RunView,
    prompts: Iterable[str],
    other_lines: Iterable[str],
    ids: Iterable[str] = (),
) -> dict[str, list[str]]:
    """Lines that copy a prompt, another run's line, or a tag/id; lines that echo the request.

    The labelled quotes are cut out of a line first: saying them is the request, not a copy.
    """
    prompt_grams = set().union(*(ngrams(p, PROMPT_NGRAM) for p in prompts))
    other_grams = set().union(*(ngrams(o, CROSS_RUN_NGRAM) for o in other_lines))
    id_list = [i.lower() for i in ids if i]
    request = record["request"]
    for q in record["quotes"]:
        request = normalize(request).replace(normalize(q["text"]).strip(" .,!?"), " ")
    found: dict[str, list[str]] = {"prompt": [], "cross_run": [], "tag": [], "echo": []}
    for line in view.lines:
        text = normalize(line["text"])
        for q in record["quotes"]:
            text = text.replace(normalize(q["text"]).strip(" .,!?"), " ")
        if ngrams(text, PROMPT_NGRAM) & prompt_grams:
            found["prompt"].append(line["text"])
        if ngrams(text, CROSS_RUN_NGRAM) & other_grams:
            found["cross_run"].append(line["text"])
        if TAG.search(line["text"]) or any(i in text for i in id_list):
            found["tag"].append(line["text"])
        n = len(words(text))
        # An echo: most of the line is one unbroken run of the request's words.
        if n >= 4 and longest_common_run(text, request) >= max(4, 0.6 * n):
            found["echo"].append(line["text"])
    return found


def score_run(
    record: dict[str, Any],
    view: RunView | None,
    *,
    prompts: Iterable[str] = (),
    other_lines: Iterable[str] = (),
    ids: Iterable[str] = (),
    error: str = "",
) -> dict[str, Any]:
    """Everything the acceptance suite reports for one request (``view`` None: no report)."""
    final = view.final if view is not None else None
    view = view if view is not None else RunView(final={}, folder=None)
    outcomes = {k: deliverable_outcome(view, k) for k in record["deliverables"]}
    extras = [
        k
        for k in ("dialogue", "voice", "scene", "image")
        if k not in record["deliverables"] and view.evidence(k)
    ]
    constraints = constraints_kept(record, view)
    copies = copied_lines(record, view, prompts, other_lines, ids)
    copied = {ln for key in ("prompt", "cross_run", "tag") for ln in copies[key]}
    decisions = [d for d in view.final.get("decisions") or [] if isinstance(d, dict)]
    repairs = sum(d.get("method") in ("repaired", "fallback") for d in decisions)
    # Before the outcome contract a finished run exited 0 whatever happened (cli/main.py).
    exit_code = view.final.get("exit_code", 0) if final else None
    expected = record["expected_exit"]
    exit_ok = None if expected is None else exit_code == expected
    deliverables_ok = all(
        o == "reported" if k in record["unavailable"] else o in ("made", "reported")
        for k, o in outcomes.items()
    )
    checked = [v for v in constraints.values() if v is not None]
    passed = (
        final is not None
        and deliverables_ok
        and all(checked)
        and not copied
        and not copies["echo"]
        and exit_ok is not False
    )
    return {
        "id": record["id"],
        "passed": passed,
        "error": error,
        "deliverables": outcomes,
        "deliverables_ok": deliverables_ok,
        "extras": extras,
        "constraints": constraints,
        "lines": len(view.lines),
        "copied_lines": sorted(copied),
        "copies": {k: len(v) for k, v in copies.items()},
        "echo_lines": copies["echo"],
        "repairs": repairs,
        "decisions": len(decisions),
        "exit_code": exit_code,
        "exit_reported": bool(final and "exit_code" in final),
        "exit_ok": exit_ok,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Overall figures over the per-request scores (rates over the requests each applies to)."""

    def rate(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    outcomes = [o for r in rows for o in r["deliverables"].values()]
    names = sorted({k for r in rows for k in r["constraints"]})
    total_lines = sum(r["lines"] for r in rows)
    copied = sum(len(r["copied_lines"]) for r in rows)
    return {
        "requests": len(rows),
        "passed": sum(r["passed"] for r in rows),
        "errors": sum(bool(r["error"]) for r in rows),
        "deliverables_made": sum(o == "made" for o in outcomes),
        "deliverables_reported": sum(o == "reported" for o in outcomes),
        "deliverables_missing": sum(o == "missing" for o in outcomes),
        "deliverables_false_claims": sum(o == "false_claim" for o in outcomes),
        "deliverables_total": len(outcomes),
        "deliverables_ok_rate": rate([r["deliverables_ok"] for r in rows]),
        "extra_deliverables": sum(len(r["extras"]) for r in rows),
        "constraints": {
            n: {
                "kept": sum(r["constraints"][n] is True for r in rows),
                "of": sum(r["constraints"][n] is not None for r in rows),
            }
            for n in names
        },
        "constraints_kept_rate": rate(
            [v for r in rows for v in r["constraints"].values() if v is not None]
        ),
        "lines": total_lines,
        "copied_lines": copied,
        "copy_rate": round(copied / total_lines, 3) if total_lines else 0.0,
        "echo_lines": sum(len(r["echo_lines"]) for r in rows),
        "repairs": sum(r["repairs"] for r in rows),
        "decisions": sum(r["decisions"] for r in rows),
        "exit_ok_rate": rate([r["exit_ok"] for r in rows if r["exit_ok"] is not None]),
        "exit_code_reported": sum(r["exit_reported"] for r in rows),
    }
