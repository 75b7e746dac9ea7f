"""Crash harness: SIGKILL real `animagent run` processes at random points, resume, compare.

    python -m benchmarks.crash_harness [--trials 50] [--seed 0] [--json PATH] [--markdown]

Each trial starts the real CLI (``cli.main.app``: ``animagent run ... --guess``) in a child
process with a scripted model (``FakeChatModel``) and three instrumented tools standing in for
the template plan (dialogue -> voice -> scene; the voice step is *heavy*, so it runs in the GPU
lane). The parent SIGKILLs the child after a delay drawn from the trial's seed (uniform over the
length of an uninterrupted run), then runs ``animagent resume THREAD`` until it exits (or
``animagent run`` again with the same thread id, when the kill came before the first
checkpoint, as a person would). The trial then compares the run folder with an uninterrupted
reference run:

- **identical**: the run finished and every deliverable named in its manifest has the same
  bytes (sha256) as the reference's;
- **duplicated**: a step attempt whose completion was recorded (its ``.steps`` record, written
  right after the tool returned) when the process died, yet whose tool started again later;
- **lost**: a deliverable of the reference that the resumed run's manifest or folder lacks;
- **corrupt**: a deliverable present but with other bytes (a torn or half-written file).

``run_harness`` is the reusable entry point (the lead's durability figures use it). The
instrumented tools write through ``ToolContext.path`` and ``atomic_write_bytes``, like the real
ones, and log every start and end to ``tools.log`` with fsync, so the count survives SIGKILL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg

from tools.registry import ToolContext

THREAD = "crash-trial"
REQUEST = "Create a short scene where Luca and Alberto talk on the beach at sunset"
ROOT = Path(__file__).resolve().parents[1]
VOICE_BYTES = 512 * 1024  # big enough that a kill can land inside a write
HEAVY_TOOLS = frozenset({"synthesize_voice"})


# ---------------------------------------------------------------- child process (one CLI run)


def _log(work: Path, event: str, step: str, attempt: int, tool: str) -> None:
    with open(work / "tools.log", "a", encoding="utf-8") as fh:
        fh.write(f"{event} {step} {attempt} {tool} {os.getpid()}\n")
        fh.flush()
        os.fsync(fh.fileno())


def _install_tools(work: Path) -> None:
    """Replace the template's three tools with deterministic, logging stand-ins."""
    from services.outputs import atomic_write_bytes
    from tools.registry import default_registry, make_spec

    def _pause(seconds: float) -> None:
        time.sleep(seconds)  # a window for the kill to land inside the tool

    def write_dialogue(
        characters: list[str],
        premise: str,
        setting: str = "",
        mood: str = "",
        ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
    ) -> dict[str, Any]:
        """Write the lines (harness stand-in).

        Args:
            characters: Who speaks.
            premise: What happens.
            setting: Where.
            mood: The tone.
        """
        assert ctx is not None
        _log(work, "start", ctx.step_id, ctx.attempt, "write_dialogue")
        _pause(0.2)
        lines = [{"character": c, "text": f"{c} talks about the sea."} for c in characters]
        atomic_write_bytes(ctx.path("dialogue.json"), json.dumps(lines, indent=2).encode())
        _log(work, "end", ctx.step_id, ctx.attempt, "write_dialogue")
        return {"lines": lines, "artifacts": [{"path": "dialogue.json", "kind": "json"}]}

    def synthesize_voice(
        lines: list[dict[str, str]],
        ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
    ) -> dict[str, Any]:
        """Voice the lines (harness stand-in; heavy: runs in the GPU lane).

        Args:
            lines: The lines to voice.
        """
        assert ctx is not None
        _log(work, "start", ctx.step_id, ctx.attempt, "synthesize_voice")
        clips, artifacts = [], []
        for i, line in enumerate(lines):
            _pause(0.1)
            seed = hashlib.sha256(json.dumps(line, sort_keys=True).encode()).digest()
            data = (seed * (VOICE_BYTES // len(seed) + 1))[:VOICE_BYTES]
            path = f"voice/{i:02d}.wav"
            atomic_write_bytes(ctx.path(path), data)
            clips.append({"path": path})
            artifacts.append({"path": path, "kind": "audio"})
        _log(work, "end", ctx.step_id, ctx.attempt, "synthesize_voice")
        return {"clips": clips, "artifacts": artifacts}

    def assemble_scene(
        clips: list[dict[str, Any]],
        ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
    ) -> dict[str, Any]:
        """Assemble the scene (harness stand-in).

        Args:
            clips: The voice clips in order.
        """
        assert ctx is not None
        _log(work, "start", ctx.step_id, ctx.attempt, "assemble_scene")
        _pause(0.2)
        data = b"".join(ctx.path(c["path"]).read_bytes() for c in clips)
        atomic_write_bytes(ctx.path("scene.wav"), data)
        _log(work, "end", ctx.step_id, ctx.attempt, "assemble_scene")
        return {"audio": "scene.wav", "artifacts": [{"path": "scene.wav", "kind": "audio"}]}

    registry = default_registry()
    registry.add(
        make_spec(
            write_dialogue,
            category="text",
            produces={"lines": "dialogue"},
            makes="dialogue",
        )
    )
    registry.add(
        make_spec(
            synthesize_voice,
            category="voice",
            heavy=True,
            consumes={"lines": "dialogue"},
            produces={"clips": "audio"},
            makes="voice",
        )
    )
    registry.add(
        make_spec(
            assemble_scene,
            category="editing",
            consumes={"clips": "audio"},
            produces={"audio": "scene"},
            makes="scene",
        )
    )


def _fake_model() -> Any:
    from services.fake_llm import FakeChatModel

    return FakeChatModel(
        scripts={
            "IntentDraft": {
                "goal": "Luca and Alberto talk on the beach at sunset",
                "deliverables": ["dialogue", "voice", "scene"],
                "characters": ["Luca", "Alberto"],
                "setting": "on the beach at sunset",
                "mood": "warm",
                "needs_web": False,
                "confidence": 0.95,
                "question": "",
            },
            "Judgement": {"score": 1.0, "reasons": ["fine"]},
        }
    )


def child_main(mode: str, work: Path) -> int:
    """Run the real CLI once in this process (``run`` or ``resume``); return its exit code."""
    from cli.main import app
    from services.llm import override_models

    _install_tools(work)
    args = (
        ["run", REQUEST, "--thread-id", THREAD, "--guess", "--strategy", "plan_execute"]
        if mode == "run"
        else ["resume", THREAD]
    )
    with override_models(_fake_model()):
        try:
            app(args=args, prog_name="animagent")
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


# ---------------------------------------------------------------- parent (the harness)


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ANIMAGENT_")}
    env.update(
        {
            "ANIMAGENT_OUTPUTS_DIR": str(work / "outputs"),
            "ANIMAGENT_DATA_DIR": str(work / "data"),
            "ANIMAGENT_CHECKPOINT__BACKEND": "sqlite",
            "ANIMAGENT_KNOWLEDGE__ENABLED": "false",
            "ANIMAGENT_ALLOW_MODEL_REQUESTS": "0",
            "OMP_NUM_THREADS": "1",
        }
    )
    return env


def _spawn(mode: str, work: Path) -> subprocess.Popen[bytes]:
    with open(work / f"{mode}.err", "ab") as err:  # the child keeps its own copy of the fd
        return subprocess.Popen(
            [sys.executable, "-m", "benchmarks.crash_harness", "--child", mode, str(work)],
            cwd=ROOT,
            env=_env(work),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _finish(proc: subprocess.Popen[bytes], timeout: float) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -1


def _deliverables(work: Path) -> dict[str, str] | None:
    """Manifest artifact path -> sha256 of the file ('' when missing); None without manifest."""
    folder = work / "outputs" / THREAD
    try:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    out = {}
    for artifact in manifest.get("artifacts", []):
        path = folder / artifact["path"]
        out[artifact["path"]] = (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        )
    return out


def _records(work: Path) -> set[tuple[str, int]]:
    """(step, attempt) of every step record on disk: attempts whose completion was recorded."""
    folder = work / "outputs" / THREAD / ".steps"
    found = set()
    for path in folder.glob("*.json") if folder.is_dir() else []:
        step, _, attempt = path.stem.rpartition("-")
        found.add((step, int(attempt)))
    return found


def _log_lines(work: Path) -> list[tuple[str, str, int, str]]:
    """(event, step, attempt, tool) per logged tool start and end, in order."""
    path = work / "tools.log"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text("utf-8").splitlines():
        parts = line.split()
        if len(parts) == 5:
            out.append((parts[0], parts[1], int(parts[2]), parts[3]))
    return out


@dataclass
class Trial:
    """One kill-and-resume trial."""

    seed: int
    kill_after_s: float
    killed: bool  # False when the run had already finished before the kill time
    killed_in_step: str  # the tool step running at the kill ('' between steps)
    resumes: int
    exit_code: int
    identical: bool
    duplicated: list[str] = field(default_factory=list)
    duplicated_heavy: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class HarnessReport:
    """All trials plus the totals the docs quote."""

    trials: list[Trial]
    reference_seconds: float
    reference: dict[str, str]
    seed: int

    @property
    def totals(self) -> dict[str, int]:
        """Counts over all trials."""
        t = self.trials
        return {
            "trials": len(t),
            "killed": sum(x.killed for x in t),
            "identical": sum(x.identical for x in t),
            "duplicated_steps": sum(len(x.duplicated) for x in t),
            "duplicated_heavy_steps": sum(len(x.duplicated_heavy) for x in t),
            "lost_outputs": sum(len(x.lost) for x in t),
            "corrupt_outputs": sum(len(x.corrupt) for x in t),
            "failed_to_finish": sum(x.exit_code not in FINISHED for x in t),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (results file)."""
        return {
            "seed": self.seed,
            "reference_seconds": round(self.reference_seconds, 2),
            "reference": self.reference,
            "totals": self.totals,
            "trials": [asdict(t) for t in self.trials],
        }


FINISHED = (0, 5)
"""Exit codes of a run that reached its final report: complete (0) or honestly incomplete (5)."""


def _reference(base: Path, timeout: float) -> tuple[dict[str, str], float, float, int]:
    """Deliverables of an uninterrupted run, its length, when its first tool started, its exit."""
    work = base / "reference"
    work.mkdir(parents=True)
    started = time.perf_counter()
    proc = _spawn("run", work)
    first_tool = 0.0
    while proc.poll() is None and time.perf_counter() - started < timeout:
        if not first_tool and (work / "tools.log").exists():
            first_tool = time.perf_counter() - started
        time.sleep(0.02)
    code = _finish(proc, 1.0)
    seconds = time.perf_counter() - started
    found = _deliverables(work)
    if code not in FINISHED or not found or "" in found.values():
        err = (work / "run.err").read_text("utf-8", "replace")[-2000:]
        raise RuntimeError(f"the uninterrupted reference run failed (exit {code}): {err}")
    return found, seconds, first_tool or seconds / 2, code


def run_trial(
    base: Path,
    seed: int,
    reference: dict[str, str],
    window: tuple[float, float],
    timeout: float,
    reference_code: int = 0,
) -> Trial:
    """One trial: run, SIGKILL after a seeded delay, resume until done, compare.

    ``window`` is (first tool start, end) of the reference run. Most of a run's wall time on a
    cold process is imports, so 85% of the kills are drawn over the window where the graph
    runs (understand, plan, the three tools, respond) and 15% over the start-up before it.
    """
    rng = random.Random(seed)
    work = base / f"trial-{seed}"
    work.mkdir(parents=True)
    first_tool, ref_s = window
    early = rng.random() < 0.15
    kill_after = rng.uniform(0.0, first_tool) if early else rng.uniform(first_tool * 0.8, ref_s)
    started = time.perf_counter()
    proc = _spawn("run", work)
    try:
        code: int | None = proc.wait(kill_after)
    except subprocess.TimeoutExpired:
        code = None
    killed = code is None
    in_step = ""
    if killed:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        starts = [(s, a) for e, s, a, _ in _log_lines(work) if e == "start"]
        ends = {(s, a) for e, s, a, _ in _log_lines(work) if e == "end"}
        open_steps = [f"{s}#{a}" for s, a in starts if (s, a) not in ends]
        in_step = open_steps[-1] if open_steps else ""
        code = -9
    recorded_at_kill = _records(work)
    lines_at_kill = len(_log_lines(work))
    resumes = 0
    while code not in FINISHED and resumes < 3:
        resumes += 1
        code = _finish(_spawn("resume", work), timeout)
        if code == 2:  # killed before the first checkpoint: no such thread yet; run it again
            code = _finish(_spawn("run", work), timeout)
    found = _deliverables(work) or {}
    after = _log_lines(work)[lines_at_kill:]
    duplicated = sorted(
        {f"{s}#{a}" for e, s, a, _ in after if e == "start" and (s, a) in recorded_at_kill}
    )
    heavy_steps = {s for _, s, _, tool in _log_lines(work) if tool in HEAVY_TOOLS}
    return Trial(
        seed=seed,
        kill_after_s=round(kill_after, 3),
        killed=killed,
        killed_in_step=in_step,
        resumes=resumes,
        exit_code=int(code),
        identical=code == reference_code and found == reference,
        duplicated=duplicated,
        duplicated_heavy=[d for d in duplicated if d.split("#")[0] in heavy_steps],
        lost=sorted(p for p in reference if not found.get(p)),
        corrupt=sorted(p for p in reference if found.get(p) and found[p] != reference[p]),
        seconds=round(time.perf_counter() - started, 2),
    )


def run_harness(
    trials: int = 50, seed: int = 0, work_dir: Path | None = None, timeout: float = 120.0
) -> HarnessReport:
    """Run the reference and ``trials`` kill-and-resume trials (seeds seed..seed+trials-1)."""
    with tempfile.TemporaryDirectory(prefix="animagent-crash-") as tmp:
        base = Path(work_dir) if work_dir is not None else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        reference, ref_s, first_tool, ref_code = _reference(base, timeout)
        window = (first_tool, ref_s)
        done = [
            run_trial(base, seed + i, reference, window, timeout, ref_code) for i in range(trials)
        ]
        return HarnessReport(done, ref_s, reference, seed)


def markdown(report: HarnessReport) -> str:
    """The figures as a Markdown table (for docs/reliability.md)."""
    t = report.totals
    rows = [
        ("trials (seeds)", f"{t['trials']} ({report.seed}..{report.seed + t['trials'] - 1})"),
        ("killed mid-run (the rest had finished first)", str(t["killed"])),
        ("finished with deliverables identical to an uninterrupted run", str(t["identical"])),
        ("did not finish after 3 resumes", str(t["failed_to_finish"])),
        (
            "finished steps executed again (all / heavy)",
            f"{t['duplicated_steps']} / {t['duplicated_heavy_steps']}",
        ),
        ("outputs lost", str(t["lost_outputs"])),
        ("outputs corrupt", str(t["corrupt_outputs"])),
        ("uninterrupted run (s, process start to exit)", f"{report.reference_seconds:.1f}"),
    ]
    kills: dict[str, int] = {}
    for trial in report.trials:
        if trial.killed:
            where = trial.killed_in_step.split("#")[0] or "between steps"
            kills[where] = kills.get(where, 0) + 1
    lines = ["| measure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    lines.append("")
    lines.append(
        "Where the kills landed: " + ", ".join(f"{k}: {v}" for k, v in sorted(kills.items()))
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI: run the harness and print (or save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="Write every trial to this JSON file.")
    parser.add_argument("--work-dir", type=Path, help="Keep the trial folders here.")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child[0], Path(args.child[1]))
    report = run_harness(args.trials, args.seed, args.work_dir)
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(markdown(report))
    bad = report.totals
    return (
        1 if bad["duplicated_heavy_steps"] or bad["lost_outputs"] or bad["corrupt_outputs"] else 0
    )


if __name__ == "__main__":
    raise SystemExit(main())
