"""Shared fixtures: every test gets its own outputs and data folders and fresh settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LANGSMITH_TRACING", "false")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point outputs and data at a temp folder and reload settings around each test."""
    from configs.settings import get_settings

    monkeypatch.setenv("ANIMAGENT_OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("ANIMAGENT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
