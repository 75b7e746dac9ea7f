"""Where a run's files go, written so that a crash never leaves half a file.

Each finished step attempt is also recorded as ``.steps/<step>-<attempt>.json``: a resumed run
finds it and reuses the result instead of running the tool again.

Every path a run writes goes through ``run_dir`` (ids checked against ``ID_PATTERN``) and
``inside`` (the resolved path must stay in the run folder), so a thread id such as ``..``, an
absolute name, or a symlink planted in the outputs folder cannot make a run write elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from configs.settings import Settings, get_settings
from state.models import StepResult

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""Thread and step ids: a letter or digit first (so never ``.`` or ``..``), at most 128 chars."""
_NAME_BYTES = 255  # the longest file name Linux, macOS and Windows file systems all accept


class UnsafePathError(ValueError):
    """An id or a file name would put a file outside its run folder; the message says why."""


def check_id(value: str, what: str = "thread id") -> str:
    """``value`` if it is a valid id, else raise UnsafePathError naming the rule."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        shown = repr(value)[:80]
        raise UnsafePathError(
            f"invalid {what} {shown}: use 1-128 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit (e.g. scene-01)."
        )
    return value


def safe_name(text: str, limit: int = 60) -> str:
    """A file-name-safe slug of ``text`` (never empty, never ``.`` or ``..``)."""
    return _SAFE.sub("_", text).strip("_.")[:limit] or "x"


def inside(root: Path, name: str | Path) -> Path:
    """``root / name``, refused unless it resolves to a place inside ``root``.

    ``name`` is relative (``voice/01.wav``); an absolute name, a ``..`` part, a NUL byte, a
    part longer than 255 bytes, or a symlink (at any level) that leads out of ``root`` raise
    UnsafePathError. The returned path is the unresolved ``root / name``: atomic writes then
    replace a symlink at the last part instead of writing through it.
    """
    text = str(name)
    if "\x00" in text:
        raise UnsafePathError(f"file name {text!r} contains a NUL byte.")
    rel = Path(text)
    if not text or rel.is_absolute() or rel.anchor:
        raise UnsafePathError(f"file name {text!r} must be relative to the run folder.")
    if any(part == ".." for part in rel.parts):
        raise UnsafePathError(f"file name {text!r} must not contain '..'.")
    if any(len(part.encode("utf-8", "surrogatepass")) > _NAME_BYTES for part in rel.parts):
        raise UnsafePathError(f"file name {text[:60]!r}... has a part over {_NAME_BYTES} bytes.")
    base = root.resolve()
    target = root / rel
    if not target.resolve().is_relative_to(base):
        raise UnsafePathError(
            f"{target} leads outside the run folder {base} (through a symlink): remove the link."
        )
    return target


def run_dir(thread_id: str, settings: Settings | None = None) -> Path:
    """The output folder of one run (thread): ``outputs_dir/<thread_id>``.

    Raises:
        UnsafePathError: ``thread_id`` breaks ``ID_PATTERN``, or the folder is a symlink that
            leads out of the outputs folder.
    """
    root = Path((settings or get_settings()).outputs_dir).expanduser()
    return inside(root, check_id(thread_id))


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temp file and an atomic rename.

    A reader never sees a half-written file, and the file survives a crash of the process
    (kill, out of memory): that is what resuming a run needs. ``durable=True`` also fsyncs,
    for power loss; outputs do not, because after a power loss a step whose files are missing
    or torn simply runs again (``load_step_record`` verifies them). See ADR 0008.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically (UTF-8, indented)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return atomic_write_bytes(path, text.encode("utf-8"))


def _record_path(folder: Path, step_id: str, attempt: int) -> Path:
    return folder / ".steps" / f"{safe_name(step_id)}-{attempt}.json"


def save_step_record(folder: Path, result: StepResult) -> Path:
    """Persist a finished step attempt (after its files are written)."""
    path = _record_path(folder, result.step_id, result.attempt)
    return atomic_write_bytes(path, result.model_dump_json().encode("utf-8"))


def load_step_record(folder: Path, step_id: str, attempt: int) -> StepResult | None:
    """A previously finished attempt of this step, if the run already made it."""
    path = _record_path(folder, step_id, attempt)
    if not path.is_file():
        return None
    try:
        record = StepResult.model_validate_json(path.read_text("utf-8"))
    except ValueError:
        return None  # unreadable record: run the step again rather than trust it
    for artifact in record.artifacts:  # a record is only as good as the files it names
        made = folder / artifact.path
        if not made.is_file() or made.stat().st_size == 0:
            return None
    return record


def forget_step_record(folder: Path, step_id: str, attempt: int) -> None:
    """Remove a step record so the attempt runs again (after an out-of-memory failure)."""
    _record_path(folder, step_id, attempt).unlink(missing_ok=True)
