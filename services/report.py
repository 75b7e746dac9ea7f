"""The HTML run report: ``outputs/<thread>/report.html``, one self-contained page per run.

Rendered with Jinja2 (autoescaping on: request text and model output are data, never markup)
from what ``services.run_view.collect`` gathered. No CDN, no script: the plan is inline SVG,
styles are inline, media are relative links to files inside the run folder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from services.outputs import atomic_write_bytes
from services.run_view import collect, read_manifest

REPORT_NAME = "report.html"
_log = logging.getLogger(__name__)


def report_environment() -> Environment:
    """The Jinja2 environment of the report (autoescaping on; compiling the page costs ~0.2 s).

    A caller that writes many reports (a server, a benchmark) keeps one and passes it in.
    """
    env = Environment(
        loader=PackageLoader("services", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["secs"] = lambda v: "-" if v is None else f"{float(v):.2f} s"
    env.filters["score"] = lambda v: "-" if v is None else f"{float(v):.2f}"
    env.filters["size"] = _size
    return env


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def render_report(view: Mapping[str, Any], env: Environment | None = None) -> str:
    """The report page for a collected run view."""
    template = (env or report_environment()).get_template("report.html.j2")
    return template.render(run=view)


def write_report(
    folder: Path,
    manifest: dict[str, Any] | None = None,
    snapshot: Mapping[str, Any] | None = None,
    history: Iterable[Mapping[str, Any]] = (),
    env: Environment | None = None,
) -> Path:
    """Write ``folder/report.html``; the manifest is read from the folder when not given."""
    if manifest is None:
        manifest = read_manifest(folder)
    view = collect(folder, manifest, snapshot, history)
    return atomic_write_bytes(folder / REPORT_NAME, render_report(view, env).encode("utf-8"))


def write_report_safely(
    folder: Path, manifest: dict[str, Any], values: Mapping[str, Any]
) -> Path | None:
    """The end-of-run hook: write the report, and never let a report problem fail the run."""
    try:
        return write_report(folder, manifest, {"values": values})
    except Exception as exc:  # the run's own files matter more than its report
        _log.warning("report.html not written for %s: %s: %s", folder, type(exc).__name__, exc)
        return None
