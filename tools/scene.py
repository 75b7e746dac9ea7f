"""assemble_scene: voice clips end to end into one scene track with subtitles, and an MP4.

When the scene has pictures, each shot is held while its line plays (``services.video``).
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg

from services.outputs import atomic_write_bytes
from tools.registry import ToolContext, ToolRegistry, make_spec


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _image_path(item: Any) -> str:
    """An image reference: a path, or a generate_image output ({"image": path, ...})."""
    if isinstance(item, dict):
        return str(item.get("image") or item.get("path") or "")
    return item if isinstance(item, str) else ""  # a model may fill the slot with null


def assemble_scene(
    clips: list[dict[str, Any]],
    pause_ms: int = 350,
    images: list[Any] | str | None = None,
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Join voice clips into one scene track with subtitles; with images, also an MP4.

    Args:
        clips: Voice clips in speaking order, each with "path", "character" and "text".
        pause_ms: Silence between lines in milliseconds.
        images: One still per line, in order (paths or generate_image outputs; one path is
            a list of one); each is held while its line plays, the last for any lines left.
    """
    assert ctx is not None
    if not clips:
        raise ValueError("assemble_scene needs at least one voice clip")
    frames: list[bytes] = []
    params = None
    cues, cursor = [], 0.0
    holds: list[float] = []  # how long each line's shot stays on screen
    for i, clip in enumerate(clips, start=1):
        with wave.open(str(ctx.run_dir / clip["path"]), "rb") as wav:
            if params is None:
                params = wav.getparams()
            elif (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) != (
                params.framerate,
                params.sampwidth,
                params.nchannels,
            ):
                raise ValueError(f"clip {clip['path']} has a different audio format")
            data = wav.readframes(wav.getnframes())
            seconds = wav.getnframes() / wav.getframerate()
        frames.append(data)
        cues.append(
            f"{i}\n{_srt_time(cursor)} --> {_srt_time(cursor + seconds)}\n"
            f"{clip.get('character', '')}: {clip.get('text', '')}\n"
        )
        cursor += seconds
        holds.append(seconds)
        if i < len(clips):
            silence = int(params.framerate * pause_ms / 1000) * params.sampwidth * params.nchannels
            frames.append(b"\x00" * silence)
            cursor += pause_ms / 1000
            holds[-1] += pause_ms / 1000
    assert params is not None
    out = ctx.path("scene.wav")
    tmp = out.with_suffix(".tmp.wav")
    with wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(params.nchannels)
        wav.setsampwidth(params.sampwidth)
        wav.setframerate(params.framerate)
        wav.writeframes(b"".join(frames))
    tmp.replace(out)
    atomic_write_bytes(ctx.path("scene.srt"), "\n".join(cues).encode("utf-8"))
    result: dict[str, Any] = {
        "audio": "scene.wav",
        "subtitles": "scene.srt",
        "seconds": round(cursor, 3),
        "lines": len(clips),
        "artifacts": [
            {"path": "scene.wav", "kind": "audio", "meta": {"seconds": round(cursor, 3)}},
            {"path": "scene.srt", "kind": "text"},
        ],
    }
    listed = [images] if isinstance(images, str | dict) else list(images or [])
    stills = [p for p in (_image_path(i) for i in listed) if p]
    if stills:
        from services.video import Shot, make_mp4

        paths = [Path(p) if Path(p).is_absolute() else ctx.run_dir / p for p in stills]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ValueError(f"assemble_scene: image(s) not found: {', '.join(missing)}")
        shots = [Shot(paths[min(i, len(paths) - 1)], hold) for i, hold in enumerate(holds)]
        make_mp4(shots, out, ctx.path("scene.srt"), ctx.path("scene.mp4"))
        result["video"] = "scene.mp4"
        result["shots"] = len(shots)
        result["artifacts"].insert(
            0,
            {"path": "scene.mp4", "kind": "video", "meta": {"seconds": round(cursor, 3)}},
        )
    return result


def check_scene(args: dict[str, Any], output: dict[str, Any]) -> dict[str, bool]:
    """Every clip made it in, and the track is as long as its clips."""
    total = sum(float(c.get("seconds", 0)) for c in args.get("clips", []))
    return {
        "all_lines": output.get("lines") == len(args.get("clips", [])),
        "length_matches": float(output.get("seconds", 0)) >= total * 0.99,
    }


def register(registry: ToolRegistry) -> None:
    """Add assemble_scene."""
    registry.add(
        make_spec(
            assemble_scene,
            category="editing",
            est_seconds=0.2,
            outputs=("audio", "subtitles", "seconds", "video"),
            consumes={"clips": "audio", "images": "image"},
            produces={"audio": "scene", "video": "scene"},
            makes="scene",
            hints=("scene", "episode", "sketch", "assemble"),
            topics=("ffmpeg", "SRT"),
            check=check_scene,
            judged=False,  # audio: its checks score it
        )
    )
