"""A child process for test_crash_resume: run (or resume) the director graph, maybe die mid-run.

Usage: python crash_child.py run|resume THREAD_ID WORK_DIR DURABILITY

WORK_DIR holds ``counter.txt`` (one line per tool execution: the step's tool name) and, when
``kill.flag`` exists, the second tool SIGKILLs this very process after logging itself: a real
crash, with no exception handler, no ``finally`` and no checkpoint flush. The graph uses a
SQLite checkpointer file under WORK_DIR/data, the FakeChatModel and three test tools that
replace the built-in dialogue, voice and scene tools, so the template plan has three steps
s1 -> s2 -> s3 that run in three separate supersteps.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.registry import ToolContext  # noqa: E402  (needs the project root on sys.path)


def _log(work: Path, name: str) -> None:
    with open(work / "counter.txt", "a", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def install_tools(work: Path) -> None:
    """Replace the three template tools in the process-wide registry with counting fakes."""
    from tools.registry import default_registry, make_spec

    def write_dialogue(
        characters: list[str],
        premise: str,
        setting: str = "",
        mood: str = "",
        ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
    ) -> dict[str, Any]:
        """Write lines (test double).

        Args:
            characters: Who speaks.
            premise: What happens.
            setting: Where.
            mood: The tone.
        """
        _log(work, "write_dialogue")
        return {"lines": [{"character": c, "text": f"Hello from {c}."} for c in characters]}

    def synthesize_voice(
        lines: list[dict[str, str]],
        ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
    ) -> dict[str, Any]:
        """Voice the lines (test double; dies here while kill.flag exists).

        Args:
            lines: The lines to voice.
        """
        _log(work, "synthesize_voice")
        flag = work / "kill.flag"
        if flag.exists():
            flag.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        return {"clips": [{"path": f"voice/{i:02d}.wav"} for i, _ in enumerate(lines)]}

    def assemble_scene(
        clips: list[dict[str, Any]],
        ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
    ) -> dict[str, Any]:
        """Assemble the scene (test double).

        Args:
            clips: The voice clips in order.
        """
        _log(work, "assemble_scene")
        return {"scene": "scene.wav", "n_clips": len(clips)}

    registry = default_registry()
    # The doubles declare the same types as the real tools, so the planner builds the same plan.
    registry.add(
        make_spec(write_dialogue, category="text", produces={"lines": "dialogue"}, makes="dialogue")
    )
    registry.add(
        make_spec(
            synthesize_voice,
            category="audio",
            consumes={"lines": "dialogue"},
            produces={"clips": "audio"},
            makes="voice",
        )
    )
    registry.add(
        make_spec(
            assemble_scene,
            category="audio",
            consumes={"clips": "audio"},
            produces={"scene": "scene"},
            makes="scene",
        )
    )


def fake_model() -> Any:
    """The FakeChatModel with a confident three-deliverable intent and a passing judge."""
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


def main(argv: list[str]) -> int:
    """Run or resume one thread; return the process exit status."""
    mode, thread_id, work_dir, durability = argv
    work = Path(work_dir)
    os.environ["ANIMAGENT_DATA_DIR"] = str(work / "data")
    os.environ["ANIMAGENT_OUTPUTS_DIR"] = str(work / "outputs")
    os.environ["ANIMAGENT_CHECKPOINT__BACKEND"] = "sqlite"
    os.environ["ANIMAGENT_KNOWLEDGE__ENABLED"] = "false"
    from configs.settings import get_settings
    from graph.builder import build_graph
    from graph.persistence import open_checkpointer
    from services.llm import override_models
    from state import Context

    get_settings.cache_clear()
    install_tools(work)
    config = {"configurable": {"thread_id": thread_id}}
    context = Context(strategy="plan_execute", proceed_on_guess=True)
    with open_checkpointer(get_settings()) as saver, override_models(fake_model()):
        graph = build_graph(checkpointer=saver)
        payload = {"request": "Create a short scene where Luca and Alberto talk on the beach"}
        graph.invoke(
            payload if mode == "run" else None,
            config,
            context=context,
            durability=durability,
        )
        state = graph.get_state(config)
        print("NEXT", list(state.next))
        print("FINAL", bool(state.values.get("final")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
