"""Where a run's files go, written so that a crash never leaves half a file.

Each finished step attempt is also recorded as ``.steps/<step>-<attempt>.json``: a resumed run
finds it and reuses the result instead of running the tool again.
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


def safe_name(text: str, limit: int = 60) -> str:
    """A file-name-safe slug of ``text``."""
    return _SAFE.sub("_", text).strip("_")[:limit] or "x"


def run_dir(thread_id: str, settings: Settings | None = None) -> Path:
    """The output folder of one run (thread): ``outputs_dir/<thread_id>``."""
    root = Path((settings or get_settings()).outputs_dir).expanduser()
    return root / safe_name(thread_id, 120)


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
