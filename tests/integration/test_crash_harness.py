"""The crash harness itself: a few seeded SIGKILL trials through the real CLI, then resume.

The full figure (50 trials) comes from `python -m benchmarks.crash_harness` and is quoted in
docs/reliability.md; this test keeps the harness honest and the guarantee checked in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.crash_harness import markdown, run_harness

pytestmark = pytest.mark.integration


def test_killed_runs_resume_to_identical_deliverables(tmp_path: Path) -> None:
    report = run_harness(trials=2, seed=11, work_dir=tmp_path)
    assert set(report.reference) == {
        "dialogue.json",
        "voice/00.wav",
        "voice/01.wav",
        "scene.wav",
    }
    totals = report.totals
    assert totals["trials"] == 2 and totals["failed_to_finish"] == 0
    assert totals["identical"] == 2
    assert totals["duplicated_heavy_steps"] == 0
    assert totals["lost_outputs"] == 0 and totals["corrupt_outputs"] == 0
    assert [t.seed for t in report.trials] == [11, 12]  # seeds recorded for a rerun
    assert "finished steps executed again" in markdown(report)
