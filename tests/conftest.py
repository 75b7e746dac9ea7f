"""Shared fixtures: every test gets its own outputs and data folders and fresh settings.

Tests hold on any machine: no ``ANIMAGENT_*`` variable of the person running them and no
``.env`` file in the working directory reaches a test (``isolated_dirs``), and a test that
needs a port nobody answers on gets one it holds (``refused_url``), not an assumed-closed one.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA_LOCATIONS = {
    "ANIMAGENT_TASKBENCH_DIR",
    "ANIMAGENT_BFCL_DIR",
    "ANIMAGENT_BENCH_POSTGRES",
    "ANIMAGENT_REPORT_SCREENSHOT",
}

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LANGSMITH_TRACING", "false")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point outputs and data at a temp folder and reload settings around each test."""
    from configs.settings import Settings, get_settings

    for name in list(os.environ):
        # Data and result locations (TaskBench, BFCL, a benchmark Postgres, the report
        # screenshot) are kept: CI and a person refreshing docs set them on purpose.
        if name.upper().startswith("ANIMAGENT_") and name.upper() not in DATA_LOCATIONS:
            monkeypatch.delenv(name)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    monkeypatch.setenv("ANIMAGENT_OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("ANIMAGENT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` on a port this test holds (bound, never listening).

    A bound socket that does not listen refuses connections at once, and no other process can
    take the port while the test runs, unlike "port 9 is surely closed".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
