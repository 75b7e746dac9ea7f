"""The CLI end to end, in subprocesses: the demo on the real embedded model, and the non-TTY
pause-and-resume path (exit 3 with the exact resume command, then exit 0).

The pause-and-resume test talks to a loopback fake OpenAI server (llm.provider=openai): it
checks the CLI's exit codes and its resume command, not the model, and stays fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from fake_openai import fake_openai_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEMO = "Create a short scene where Luca and Alberto talk on the beach at sunset"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ANIMAGENT_OUTPUTS_DIR": str(tmp_path / "outputs"),
        "ANIMAGENT_DATA_DIR": str(tmp_path / "data"),
        "ANIMAGENT_KNOWLEDGE__ENABLED": "false",  # the knowledge base has its own tests
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LANGSMITH_TRACING": "false",
        **extra,
    }
    env.pop("ANIMAGENT_ALLOW_MODEL_REQUESTS", None)  # these runs are meant to use a model
    return env


def _cli(args: list[str], env: dict[str, str], timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,  # no TTY: an interrupt must exit 3, not prompt
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _check_outputs(run_dir: Path) -> dict[str, object]:
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["artifacts"], manifest
    lines = json.loads((run_dir / "dialogue.json").read_text(encoding="utf-8"))["lines"]
    assert len(lines) >= 2, lines
    wavs = sorted((run_dir / "voice").glob("*.wav"))
    assert wavs, f"no voice clips in {run_dir / 'voice'}"
    for path in wavs:
        with wave.open(str(path)) as wav:  # raises on a file that is not a WAV
            seconds = wav.getnframes() / wav.getframerate()
        assert seconds > 0.3, (path.name, seconds)
    listed = {a["path"] for a in manifest["artifacts"]}  # type: ignore[union-attr]
    assert {f"voice/{p.name}" for p in wavs} <= listed
    return manifest


def test_demo_on_the_embedded_model(tmp_path: Path) -> None:
    # A 135M model may write or judge below the bar: the run must then say so (exit 5), and
    # whatever it reports as made must exist. One retry keeps the run bounded on a loaded CPU.
    env = _env(tmp_path, ANIMAGENT_AGENT__MAX_ITERATIONS="1", ANIMAGENT_LLM__THREADS="1")
    done = _cli(["run", DEMO, "--thread-id", "demo"], env, timeout=900)
    run_dir = tmp_path / "outputs" / "demo"
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["request"] == DEMO
    expected = 0 if manifest["status"] == "complete" else 5
    assert done.returncode == expected, done.stdout[-3000:] + done.stderr[-3000:]
    kinds = {d["kind"]: d for d in manifest["deliverables"]}
    assert set(kinds) == {"dialogue", "voice", "image", "scene"}
    assert kinds["image"]["status"] == "unavailable" and done.returncode == 5  # no weights here
    for kind, entry in kinds.items():
        if entry["status"] != "made":
            assert any(line.startswith(kind) for line in manifest["not_done"]), manifest
            assert entry["reason"], entry
    if kinds["dialogue"]["status"] == "made":
        lines = json.loads((run_dir / "dialogue.json").read_text(encoding="utf-8"))["lines"]
        assert len(lines) >= 2 and all(ln["text"].strip() for ln in lines), lines
    if kinds["voice"]["status"] == "made":
        _check_outputs(run_dir)
    assert str(run_dir / "manifest.json") in done.stdout


@pytest.mark.parametrize(
    "thread_args",
    [
        pytest.param([], id="new-thread"),
        pytest.param(
            ["--thread-id", "0b7c9a52-1f0e-4d8a-9c3e-5a6b7c8d9e0f"],
            id="uuid-thread",
        ),
    ],
)
def test_no_tty_pause_exits_3_with_the_resume_command(
    tmp_path: Path, thread_args: list[str]
) -> None:
    with fake_openai_server() as (llm_url, calls):
        env = _env(
            tmp_path,
            ANIMAGENT_LLM__PROVIDER="openai",
            ANIMAGENT_LLM__BASE_URL=llm_url,
            ANIMAGENT_LLM__MODEL="fake",
        )
        paused = _cli(["run", "hmm", *thread_args], env, timeout=120)
        assert paused.returncode == 3, paused.stdout[-3000:] + paused.stderr[-3000:]
        match = re.search(r'animagent resume (\S+) --answer "\.\.\."', paused.stdout)
        assert match, paused.stdout
        thread = match.group(1)
        if thread_args:
            assert thread == thread_args[1]
        assert not (tmp_path / "outputs" / thread / "manifest.json").exists()

        answer = "a short radio scene where Luca and Alberto talk on the beach"
        done = _cli(["resume", thread, "--answer", answer], env, timeout=120)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        manifest = _check_outputs(tmp_path / "outputs" / thread)
        assert manifest["request"] == f"hmm {answer}"
        # Asked once; after the answer the words settle the intent (no second reading).
        assert calls.count("IntentDraft") == 1
