"""What a run's report shows, collected from whatever the run left behind.

A run may have finished (manifest.json), paused or crashed half way (checkpointed state only),
or left files and nothing else. ``collect`` takes the manifest, the graph state and the earlier
plan versions when they exist, tolerates every missing field, and returns plain data that the
HTML template and the terminal views render. Nothing here is trusted: file paths are checked
to stay inside the run folder and every text is rendered escaped by the caller.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from services.outputs import safe_name

_IMAGE = {".png", ".jpg", ".jpeg", ".webp", ".gif"}
_AUDIO = {".wav", ".mp3", ".ogg", ".flac", ".m4a"}
_VIDEO = {".mp4", ".webm", ".mov"}
# Files a run writes for itself, not things it made for the person.
_OWN = {"manifest.json", "report.html"}


def plain(value: Any) -> Any:
    """Pydantic models and containers of them as JSON-like data."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The run's manifest.json, or None when it is missing or unreadable."""
    try:
        data = json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def media_kind(path: str, declared: str = "") -> str:
    """image, audio, video or file: what the report can show for this path."""
    suffix = Path(path).suffix.lower()
    if declared in {"image", "audio", "video"}:
        return declared
    if suffix in _IMAGE:
        return "image"
    if suffix in _AUDIO:
        return "audio"
    if suffix in _VIDEO:
        return "video"
    return "file"


def _file(folder: Path, rel: str, **extra: Any) -> dict[str, Any]:
    """One file entry: a safe relative link, or why there is none (``folder`` is resolved)."""
    entry: dict[str, Any] = {"path": rel, "href": None, "problem": "", "bytes": None, **extra}
    if not rel or os.path.isabs(rel):
        entry["problem"] = "absolute path: not linked (only files inside the run folder are)"
        return entry
    # os.path, not pathlib: this runs for every file of a run and pathlib's parsing dominated.
    root = str(folder)
    target = os.path.realpath(os.path.join(root, rel))  # symlinks followed, '..' removed
    if not target.startswith(root + os.sep):
        entry["problem"] = "points outside the run folder: not linked"
        return entry
    try:
        info = os.stat(target)
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        entry["problem"] = "missing on disk"
        return entry
    entry["bytes"] = info.st_size
    # Percent-encoded relative link: odd names (spaces, '#', '?', quotes) still resolve.
    entry["href"] = quote(os.path.relpath(target, root).replace(os.sep, "/"))
    return entry


def _status(manifest: dict[str, Any] | None, snapshot: Mapping[str, Any]) -> tuple[str, str]:
    """The run's status and one sentence on what it means."""
    if snapshot.get("interrupts"):
        return "paused", "waiting for an answer (animagent resume THREAD --answer ...)"
    if manifest is None:
        if snapshot.get("next"):
            nxt = ", ".join(str(n) for n in snapshot["next"])
            return "stopped", f"stopped before {nxt} (crash or unavailable model): resume it"
        if snapshot.get("values"):
            return "stopped", "no final report was written"
        return "no record", "no manifest.json and no checkpoint for this run"
    declared = manifest.get("status")
    if isinstance(declared, str) and declared:
        return declared, ""
    if _list(manifest.get("not_done")):
        return "incomplete", "some of the work was not done (see below)"
    return "done", ""


def _brief(value: Any) -> str:
    """A field of the intent as one line; a nested record keeps only its filled entries."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_brief(v)}" for k, v in value.items() if _brief(v))
    if isinstance(value, list):
        return ", ".join(_brief(v) for v in value if _brief(v))
    return "" if value in ("", None, False) else str(value)


def _graph(steps: list[dict[str, Any]], status: Mapping[str, str]) -> dict[str, Any]:
    """A layered drawing of the plan DAG: a step's layer is its longest path from a root."""
    ids = [str(s.get("id", "")) for s in steps]
    known = set(ids)
    deps = {
        str(s.get("id", "")): [str(d) for d in _list(s.get("depends_on")) if str(d) in known]
        for s in steps
    }
    layer: dict[str, int] = {}
    for _ in range(len(ids) + 1):  # bounded: a (never expected) cycle cannot loop forever
        changed = False
        for sid in ids:
            want = 1 + max((layer.get(d, 0) for d in deps[sid]), default=-1)
            if layer.get(sid) != want and want <= len(ids):
                layer[sid], changed = want, True
        if not changed:
            break
    rows: dict[int, list[str]] = defaultdict(list)
    for sid in ids:
        rows[layer.get(sid, 0)].append(sid)
    box_w, box_h, gap_x, gap_y, pad = 180, 46, 50, 28, 12
    pos: dict[str, tuple[int, int]] = {}
    for col, members in sorted(rows.items()):
        for row, sid in enumerate(members):
            pos[sid] = (pad + col * (box_w + gap_x), pad + row * (box_h + gap_y))
    tools = {str(s.get("id", "")): str(s.get("tool", "")) for s in steps}
    nodes = [
        {
            "id": sid,
            "tool": tools[sid],
            "x": x,
            "y": y,
            "status": status.get(sid, "pending"),
        }
        for sid, (x, y) in pos.items()
    ]
    edges = []
    for sid, ds in deps.items():
        for d in ds:
            (x1, y1), (x2, y2) = pos[d], pos[sid]
            edges.append({"x1": x1 + box_w, "y1": y1 + box_h // 2, "x2": x2, "y2": y2 + box_h // 2})
    width = pad * 2 + max((x for x, _ in pos.values()), default=0) + box_w
    height = pad * 2 + max((y for _, y in pos.values()), default=0) + box_h
    return {
        "nodes": nodes,
        "edges": edges,
        "width": width,
        "height": height,
        "w": box_w,
        "h": box_h,
    }


def _timings(
    thoughts: list[dict[str, Any]], history: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str]:
    """Seconds per node: from checkpoint times when known, else from thought timestamps."""
    spent: dict[str, float] = defaultdict(float)
    how = ""
    stamped = [h for h in history if _num(h.get("created_at")) is not None]
    if len(stamped) >= 2:
        # Each checkpoint names the nodes that run next; the next checkpoint marks their end.
        for before, after in zip(stamped, stamped[1:], strict=False):
            took = float(after["created_at"]) - float(before["created_at"])
            names = [str(n) for n in _list(before.get("next"))]
            for name in names:
                spent[name] += max(0.0, took) / len(names)
        how = "from checkpoint times (supersteps that ran nodes in parallel are split evenly)"
    else:
        timed = [t for t in thoughts if _num(t.get("at")) is not None]
        for before, after in zip(timed, timed[1:], strict=False):
            spent[str(after.get("node", "?"))] += max(0.0, float(after["at"]) - float(before["at"]))
        if timed:
            how = "approximate: time between consecutive thoughts, counted to the later node"
    rows = [{"node": k, "seconds": v} for k, v in sorted(spent.items(), key=lambda kv: -kv[1])]
    return rows, how


def _llm(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    per: dict[str, dict[str, Any]] = {}
    for d in decisions:
        node = str(d.get("node", "?"))
        row = per.setdefault(node, {"node": node, "calls": 0, "tokens": 0, "seconds": 0.0})
        row["calls"] += 1
        row["tokens"] += int(_num(d.get("tokens")) or 0)
        row["seconds"] += _num(d.get("seconds")) or 0.0
    return sorted(per.values(), key=lambda r: -r["calls"])


def _script(
    folder: Path, results: dict[str, Any], artifacts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The dialogue as script rows, each with its voice clip when one was made."""
    lines: list[dict[str, Any]] = []
    clips: list[dict[str, Any]] = []
    for result in results.values():
        output = _dict(_dict(result).get("output"))
        if result.get("tool") == "write_dialogue" and output.get("lines"):
            lines = [_dict(x) for x in _list(output["lines"])]
        if result.get("tool") == "synthesize_voice" and output.get("clips"):
            clips = [_dict(x) for x in _list(output["clips"])]
    if not lines:
        try:
            saved = json.loads((folder / "dialogue.json").read_text("utf-8"))
            lines = [_dict(x) for x in _list(_dict(saved).get("lines"))]
        except (OSError, ValueError):
            lines = []
    if not clips:  # no state: pair the voice files with the lines in order
        clips = [{"path": a["path"]} for a in artifacts if a["path"].startswith("voice/")]
    if clips and len(clips) == len(lines) and all("text" in c for c in clips):
        lines = clips  # the clips carry their own character and text
    rows = []
    for i, line in enumerate(lines):
        clip = clips[i] if i < len(clips) else None
        rows.append(
            {
                "character": str(line.get("character", "")),
                "text": str(line.get("text", "")),
                "audio": _file(folder, str(clip.get("path", ""))) if clip else None,
            }
        )
    return rows


def collect(
    folder: Path,
    manifest: dict[str, Any] | None,
    snapshot: Mapping[str, Any] | None = None,
    history: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Everything the report shows about one run, as plain data.

    Args:
        folder: the run's output folder (links are made relative to it).
        manifest: the run's manifest.json (the respond node's ``final``), None when missing.
        snapshot: ``values`` (the graph state), ``next`` and ``interrupts`` from the
            checkpointer, or just ``values`` when called inside the run; optional.
        history: earlier checkpoints, oldest first, each with ``values``, ``next`` and
            ``created_at`` (epoch seconds); they give the plan versions and node timings.
    """
    folder = folder.resolve()  # once: every link is checked against it
    snap = plain(dict(snapshot or {}))
    values = _dict(snap.get("values"))
    man = _dict(manifest)
    # Only the plan (once per version) and the times are read from each checkpoint: converting
    # whole states of hundreds of checkpoints dominated `animagent report`.
    hist: list[dict[str, Any]] = []
    versions: dict[int, dict[str, Any]] = {}
    for h in history:
        values_h = h.get("values")
        raw_plan = values_h.get("plan") if isinstance(values_h, Mapping) else None
        number = getattr(raw_plan, "version", None)
        if isinstance(raw_plan, Mapping):
            number = raw_plan.get("version")
        key = int(_num(number) or 1)
        if raw_plan is not None and key not in versions:
            p = _dict(plain(raw_plan))
            if p.get("steps"):
                versions[key] = p
        hist.append({"next": list(h.get("next") or []), "created_at": h.get("created_at")})
    status, status_note = _status(manifest, snap)
    plan = _dict(values.get("plan"))
    steps = [_dict(s) for s in _list(plan.get("steps")) or _list(man.get("plan"))]
    results = {str(k): _dict(v) for k, v in _dict(values.get("results")).items()}
    evaluations = {str(k): _dict(v) for k, v in _dict(values.get("evaluations")).items()}
    scores = {str(k): _num(v) for k, v in _dict(man.get("scores")).items()}
    made = _dict(man.get("steps"))
    reflections = [_dict(r) for r in _list(values.get("reflections"))]

    # The artifact list: the manifest's, else the latest results', else nothing.
    raw_artifacts = [_dict(a) for a in _list(man.get("artifacts"))]
    if not raw_artifacts:
        for sid, result in results.items():
            raw_artifacts += [{**_dict(a), "step": sid} for a in _list(result.get("artifacts"))]
    artifacts = []
    for a in raw_artifacts:
        rel = str(a.get("path", ""))
        kind = media_kind(rel, str(a.get("kind", "")))
        meta = _dict(a.get("meta"))
        artifacts.append(_file(folder, rel, kind=kind, step=str(a.get("step", "")), meta=meta))
    listed = {a["path"] for a in artifacts}
    other_files = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # .steps: the run's own
        base = os.path.relpath(here, folder).replace(os.sep, "/")
        for name in sorted(names):
            rel = name if base == "." else f"{base}/{name}"
            if not name.startswith(".") and rel not in listed and rel not in _OWN:
                other_files.append(_file(folder, rel, kind=media_kind(rel)))

    step_status: dict[str, str] = {}
    rows = []
    for s in steps:
        sid = str(s.get("id", ""))
        result = results.get(sid, {})
        evaluation = evaluations.get(sid, {})
        state = str(result.get("status") or ("done" if sid in made else "not run"))
        step_status[sid] = state
        rows.append(
            {
                "id": sid,
                "tool": str(s.get("tool", "")),
                "purpose": str(s.get("purpose", "")),
                "args": json.dumps(
                    result.get("args") or s.get("args") or {}, indent=1, default=str
                ),
                "depends_on": [str(d) for d in _list(s.get("depends_on"))],
                "status": state,
                "attempts": result.get("attempt") or _dict(made.get(sid)).get("attempts"),
                "score": _num(evaluation.get("score")) if evaluation else scores.get(sid),
                "reasons": [str(r) for r in _list(evaluation.get("reasons"))],
                "checks": _dict(evaluation.get("checks")),
                "error": str(result.get("error", "")),
                "seconds": _num(result.get("seconds")),
                "lessons": [
                    f"attempt {r.get('attempt')}: {r.get('action')} - {r.get('lesson')}"
                    for r in reflections
                    if r.get("step_id") == sid
                ],
                "files": [a for a in artifacts if a["step"] == sid],
            }
        )
    # Steps of earlier plan versions that ran but are not in the final plan.
    replaced = [
        {"id": sid, "tool": str(r.get("tool", "")), "status": str(r.get("status", ""))}
        for sid, r in results.items()
        if sid not in step_status
    ]

    if plan.get("steps"):
        versions[int(_num(plan.get("version")) or 1)] = plan
    plan_versions = [
        {
            "version": v,
            "strategy": str(p.get("strategy", "")),
            "rationale": str(p.get("rationale", "")),
            "steps": [f"{s.get('id')}:{s.get('tool')}" for s in _list(p.get("steps"))],
        }
        for v, p in sorted(versions.items())
    ]
    thoughts = [_dict(t) for t in _list(values.get("thoughts"))] or [
        {"node": "", "text": str(t)} for t in _list(man.get("thoughts"))
    ]
    decisions = [_dict(d) for d in _list(values.get("decisions")) or _list(man.get("decisions"))]
    timings, timing_note = _timings(thoughts, hist)
    intent = _dict(man.get("intent")) or _dict(values.get("intent"))
    request = str(man.get("request") or values.get("request") or "")
    not_done = [x if isinstance(x, dict) else {"what": str(x)} for x in _list(man.get("not_done"))]
    deliverables = [d for d in _list(man.get("deliverables")) if isinstance(d, dict)]
    questions = [
        str(_dict(i.get("value")).get("question", i.get("value", "")))
        for i in _list(snap.get("interrupts"))
        if isinstance(i, dict)
    ]
    missing = []
    if manifest is None:
        missing.append("manifest.json: the run did not reach its final report")
    if not steps:
        missing.append("a plan: the run stopped before planning, or nothing needed to be made")
    if not artifacts and not other_files:
        missing.append("files: this run made none")
    finished = _num(man.get("finished_at"))
    started = next((_num(t.get("at")) for t in thoughts if _num(t.get("at")) is not None), None)
    return {
        "thread_id": str(man.get("thread_id") or folder.name),
        "folder": folder.name,
        "request": request,
        "status": status,
        "status_note": status_note,
        "finished_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(finished))
        if finished
        else "",
        "duration": (finished - started) if finished and started else None,
        # The intent's own question is shown under "Waiting for an answer" only when asked.
        "intent": {k: _brief(v) for k, v in intent.items() if k != "question" and _brief(v)},
        "strategy": str(man.get("strategy") or plan.get("strategy") or ""),
        "plan_version": int(_num(plan.get("version")) or 1) if steps else 0,
        "plan_versions": plan_versions,
        "repairs": [str(r) for r in _list(man.get("plan_repairs")) or _list(plan.get("repairs"))],
        "graph": _graph(steps, step_status),
        "steps": rows,
        "replaced": replaced,
        "artifacts": artifacts,
        "other_files": other_files,
        "images": [a for a in artifacts + other_files if a["kind"] == "image"],
        "audio": [
            a for a in artifacts if a["kind"] == "audio" and not a["path"].startswith("voice/")
        ],
        "videos": [a for a in artifacts + other_files if a["kind"] == "video"],
        "script": _script(folder, results, artifacts),
        "thoughts": thoughts,
        "decisions": decisions,
        "llm": _llm(decisions),
        "timings": timings,
        "timing_note": timing_note,
        "not_done": not_done,
        "deliverables": deliverables,
        "deliverable_columns": list(dict.fromkeys(k for d in deliverables for k in d)),
        "questions": questions,
        "clarifications": [_dict(c) for c in _list(values.get("clarifications"))],
        "learned": [str(x) for x in _list(man.get("learned"))],
        "summary": str(man.get("summary", "")),
        "missing": missing,
    }


def run_folders(outputs_dir: Path) -> dict[str, Path]:
    """Every run folder under ``outputs_dir``, keyed by the thread id its manifest names.

    A run written to a custom subfolder (``output_subdir``) is found by its manifest's
    ``thread_id``; a folder without a manifest is keyed by its own name.
    """
    found: dict[str, Path] = {}
    if not outputs_dir.is_dir():
        return found
    for folder in sorted(p for p in outputs_dir.iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        manifest = read_manifest(folder)
        thread = str((manifest or {}).get("thread_id") or folder.name)
        # The folder named after the thread wins over a custom subfolder of the same thread.
        if thread not in found or folder.name == thread:
            found[thread] = folder
    return found


def find_run_folder(outputs_dir: Path, thread_id: str) -> Path | None:
    """``outputs_dir/<thread>``, else the folder whose manifest names ``thread_id``."""
    direct = outputs_dir / safe_name(thread_id, 120)
    if direct.is_dir():
        return direct
    return run_folders(outputs_dir).get(thread_id)
