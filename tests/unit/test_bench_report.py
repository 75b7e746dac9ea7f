"""The benchmark report: sections are replaced independently; hand-written text stays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.all import as_markdown, replace_section, update_report
from benchmarks.common import stats


def test_replace_section_keeps_other_text_and_sections() -> None:
    text = "# B\n\nHand-written intro.\n\n<!-- bench:a:start -->\nold a\n<!-- bench:a:end -->\n"
    text = replace_section(text, "b", "new b")
    text = replace_section(text, "a", "new a")
    assert "Hand-written intro." in text and "old a" not in text
    assert text.index("new a") < text.index("new b")
    assert text.count("<!-- bench:a:start -->") == 1


def test_update_report_creates_then_updates(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    update_report({"x": "first"}, report)
    report.write_text(report.read_text() + "\nA note by a person.\n")
    update_report({"x": "second"}, report)
    body = report.read_text()
    assert "second" in body and "first" not in body and "A note by a person." in body
    assert "<!-- bench:machine:start -->" in body


def test_results_without_markdown_become_a_table() -> None:
    assert "| node_f1 | 0.5 |" in as_markdown({"node_f1": 0.5, "nested": {"a": 1}})


def test_stats_median_and_iqr() -> None:
    s = stats([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s["median"] == 3.0 and s["iqr"] == 2.0 and s["n"] == 5


def test_isolate_outputs_restores_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One benchmark's settings (knowledge off) must not leak into the next one."""
    from benchmarks.common import isolate_outputs
    from configs.settings import get_settings

    monkeypatch.delenv("ANIMAGENT_KNOWLEDGE__ENABLED", raising=False)
    get_settings.cache_clear()
    before = get_settings().outputs_dir
    with isolate_outputs(tmp_path, ANIMAGENT_KNOWLEDGE__ENABLED="false"):
        assert get_settings().knowledge.enabled is False
        assert str(get_settings().outputs_dir).startswith(str(tmp_path))
    assert "ANIMAGENT_KNOWLEDGE__ENABLED" not in os.environ
    assert get_settings().knowledge.enabled is True and get_settings().outputs_dir == before
