import threading
import time
import wave
from pathlib import Path

import pytest

from services.gpu import GpuLease, Residency, probe_gpu
from tools.registry import ToolArgumentError, ToolContext, default_registry
from tools.scene import assemble_scene
from tools.voice import check_voice, synthesize_voice


def test_registry_schemas_hide_infrastructure() -> None:
    registry = default_registry()
    spec = registry.get("write_dialogue")
    assert spec is not None
    props = spec.arg_schema()["properties"]
    assert "ctx" not in props and props["characters"]["type"] == "array"
    assert "Names of the characters" in props["characters"]["description"]
    with pytest.raises(ToolArgumentError, match="characters"):
        spec.validate({"premise": "x"})
    unavailable = registry.unavailable()
    assert "ANIMAGENT_IMAGE__MODEL_PATH" in unavailable["generate_image"]
    assert "synthesize_voice" not in unavailable  # espeak-ng is installed by make setup


def test_espeak_voices_and_scene(tmp_path: Path) -> None:
    ctx = ToolContext(run_dir=tmp_path)
    lines = [
        {"character": "Luca", "text": "The sea is warm tonight."},
        {"character": "Alberto", "text": "Race you to the rocks!"},
    ]
    out = synthesize_voice(lines, ctx=ctx)
    clips = out["clips"]
    assert [c["voice"] for c in clips][0] != [c["voice"] for c in clips][1]
    assert all(c["seconds"] > 0.5 for c in clips)
    assert all(check_voice({"lines": lines}, out).values())
    scene = assemble_scene(clips, pause_ms=500, ctx=ctx)
    with wave.open(str(tmp_path / "scene.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
    assert seconds == pytest.approx(sum(c["seconds"] for c in clips) + 0.5, abs=0.01)
    assert scene["seconds"] == pytest.approx(seconds, abs=0.01)
    srt = (tmp_path / "scene.srt").read_text()
    assert "Luca: The sea is warm tonight." in srt and "-->" in srt


def test_missing_espeak_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMAGENT_VOICE__ESPEAK_BINARY", "no-such-espeak")
    from configs.settings import get_settings

    get_settings.cache_clear()
    with pytest.raises(Exception, match="apt-get install espeak-ng"):
        synthesize_voice([{"character": "A", "text": "hi"}], ctx=ToolContext(run_dir=tmp_path))


def test_lease_serializes_threads(tmp_path: Path) -> None:
    lease = GpuLease(tmp_path / "gpu.lock", timeout_s=5)

    def job(i: int) -> None:
        with lease.hold(f"j{i}"):
            time.sleep(0.02)

    threads = [threading.Thread(target=job, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lease.max_active == 1 and len(lease.jobs) == 4


def test_residency_evicts_least_recently_used() -> None:
    res = Residency(budget_gb=16)
    res.get("sdxl", 10, lambda: "A")
    res.get("sovits", 4, lambda: "B")
    res.get("sdxl", 10, lambda: "A2")  # hit: no reload, becomes most recent
    assert res.loads == 2
    res.get("controlnet", 5, lambda: "C")  # 19 GB > 16: evict sovits (LRU), not sdxl
    assert res.evictions == ["sovits"] and res.resident() == ["sdxl", "controlnet"]
    res.free_all()
    assert res.resident() == [] and res.used_gb == 0


def test_no_gpu_is_reported_not_raised() -> None:
    info = probe_gpu()
    assert info.available or "no GPU" in info.reason or "nvidia-ml-py" in info.reason


def test_text_judge_reads_text_only(fake: object) -> None:
    """Audio is scored by its checks; dialogue (text) also gets the LLM judge."""
    from nodes.evaluate import judge_step
    from services.fake_llm import FakeChatModel
    from state import StepResult

    assert isinstance(fake, FakeChatModel)
    lines = [{"character": "Luca", "text": "The sea is warm tonight."}]
    voice = StepResult(
        step_id="voices",
        tool="synthesize_voice",
        status="done",
        args={"lines": lines},
        output={"clips": [{"path": "a.wav", "seconds": 1.6, "text": lines[0]["text"]}]},
    )
    evaluation, decision = judge_step(voice, "a beach scene", 0.7)
    assert decision is None and fake.calls_for("Judgement") == []
    assert evaluation.passed and evaluation.score == 1.0 and evaluation.checks

    broken = voice.model_copy(update={"output": {"clips": []}})
    evaluation, _ = judge_step(broken, "a beach scene", 0.7)
    assert not evaluation.passed and evaluation.score <= 0.3

    text = StepResult(
        step_id="dialogue",
        tool="write_dialogue",
        status="done",
        args={"premise": "beach", "characters": ["Luca"]},
        output={"lines": lines, "characters": ["Luca"], "title": "Sea", "script": "x"},
    )
    judge_step(text, "a beach scene", 0.7)
    assert len(fake.calls_for("Judgement")) == 1


def test_step_record_is_trusted_only_with_its_files(tmp_path: Path) -> None:
    """After a power loss a record may outlive its files: then the step runs again."""
    from services.outputs import load_step_record, save_step_record
    from state import Artifact, StepResult

    (tmp_path / "line-1.wav").write_bytes(b"RIFF....")
    result = StepResult(
        step_id="voices",
        tool="synthesize_voice",
        status="done",
        artifacts=[Artifact(path="line-1.wav", kind="audio")],
    )
    save_step_record(tmp_path, result)
    assert load_step_record(tmp_path, "voices", 1) == result
    (tmp_path / "line-1.wav").write_bytes(b"")  # torn: empty after the crash
    assert load_step_record(tmp_path, "voices", 1) is None
    (tmp_path / "line-1.wav").unlink()
    assert load_step_record(tmp_path, "voices", 1) is None


def test_tone_changes_the_delivery(tmp_path: Path) -> None:
    line = [{"character": "Luca", "text": "We are going to Portorosso tomorrow morning!"}]
    seconds = {}
    for tone in ("", "excited", "sad"):
        ctx = ToolContext(run_dir=tmp_path / (tone or "neutral"))
        out = synthesize_voice(line, tone=tone, ctx=ctx)
        assert out["clips"][0]["tone"] == tone
        seconds[tone] = out["clips"][0]["seconds"]
    assert seconds["excited"] < seconds[""] < seconds["sad"]


def test_the_planner_hands_the_tone_to_the_voice() -> None:
    from planning.build import Builder
    from planning.constraints import read_constraints
    from state import Intent

    text = "Have Massimo greet Luca in an excited voice"
    c = read_constraints(text)
    intent = Intent(goal=text, deliverables=["voice"], characters=c.speakers, constraints=c)
    registry = default_registry()
    builder = Builder(registry, {"write_dialogue", "synthesize_voice"}, {}, intent, text)
    drafts = builder.build()
    assert [d.tool for d in drafts] == ["write_dialogue", "synthesize_voice"]
    assert drafts[1].args["tone"] == "excited" and drafts[0].args["mood"] == "excited"


def test_a_line_that_describes_its_own_speaker_is_not_dialogue() -> None:
    """ "Luca is a curious boy", labelled Luca, is narration: the dialogue check fails it."""
    from tools.dialogue import _repair_lines, check_dialogue, described

    narrated = {"character": "Luca", "text": "<p>Luca is a curious boy from the harbour.</p>"}
    assert (
        _repair_lines([narrated], ["Luca"])[0]["text"] == "Luca is a curious boy from the harbour."
    )
    assert described(narrated)
    assert described({"character": "Luca", "text": "LUCA AND ALBERTO ARE ON THE BEACH."})
    told = {"character": "Luca", "text": "At sunset, Luca and Alberto talked about dreams."}
    assert described(told)
    assert not described({"character": "Luca", "text": "Luca, is that you?"})
    assert not described({"character": "Luca", "text": "Alberto is braver than me."})
    assert not described({"character": "Narrator", "text": "Narrator is a role."})
    spoken = [
        {"character": "Luca", "text": "Look at the sun, it is sinking!"},
        {"character": "Alberto", "text": "Race you to the rocks."},
    ]
    args = {"characters": ["Luca", "Alberto"], "n_lines": 2}
    assert check_dialogue(args, {"lines": spoken})["spoken_not_described"]
    told = [narrated, spoken[1]]
    assert not check_dialogue(args, {"lines": told})["spoken_not_described"]
