"""Stills + a sound track + subtitles -> one MP4, with the ffmpeg inside the imageio-ffmpeg wheel.

Each shot is a still held for a given time (ffmpeg's concat demuxer with ``duration``), the
video is H.264 (yuv420p, so every player opens it), the audio AAC, and the subtitles a
``mov_text`` stream a player can switch on. Nothing is downloaded: the binary ships in the wheel.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path


class VideoError(RuntimeError):
    """ffmpeg is missing or refused the job; the message says what to do."""


def ffmpeg_binary() -> str:
    """The ffmpeg executable shipped in the imageio-ffmpeg wheel."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise VideoError(
            "making an MP4 needs the imageio-ffmpeg package (pip install imageio-ffmpeg; "
            "`make setup` installs it)"
        ) from exc
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True)
class Shot:
    """One still and how long it stays on screen."""

    image: Path
    seconds: float


def _even(value: int) -> int:
    return max(2, value - value % 2)  # H.264 in yuv420p needs even sides


def make_mp4(
    shots: list[Shot], audio: Path, subtitles: Path | None, out: Path, fps: int = 25
) -> Path:
    """Write ``out`` (atomically: a temp file renamed when ffmpeg succeeded)."""
    from PIL import Image

    if not shots:
        raise VideoError("a video needs at least one image")
    with Image.open(shots[0].image) as first:
        width, height = _even(first.width), _even(first.height)
    listing = out.with_suffix(".concat.txt")
    lines = ["ffconcat version 1.0"]
    for shot in shots:
        lines += [f"file '{shot.image.resolve().as_posix()}'", f"duration {shot.seconds:.3f}"]
    # The concat demuxer ignores the last entry's duration unless the file is listed again.
    lines.append(f"file '{shots[-1].image.resolve().as_posix()}'")
    listing.write_text("\n".join(lines) + "\n")
    tmp = out.with_suffix(".tmp.mp4")
    cmd = [ffmpeg_binary(), "-y", "-loglevel", "error", "-f", "concat", "-safe", "0"]
    cmd += ["-i", str(listing), "-i", str(audio)]
    if subtitles is not None:
        cmd += ["-i", str(subtitles)]
    cmd += ["-map", "0:v", "-map", "1:a"] + (["-map", "2:s"] if subtitles is not None else [])
    cmd += [
        "-vf",
        f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,format=yuv420p",
        "-r",
        str(fps),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "stillimage",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
    ]
    if subtitles is not None:
        cmd += ["-c:s", "mov_text"]
    cmd += ["-shortest", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    finally:
        listing.unlink(missing_ok=True)
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise VideoError(f"ffmpeg could not make {out.name}: {proc.stderr.strip()[-300:]}")
    tmp.replace(out)
    return out


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg reads back from a media file."""

    seconds: float
    streams: list[str]
    """Stream kinds with codec, e.g. ["video:h264", "audio:aac", "subtitle:mov_text"]."""


def probe(path: Path) -> MediaInfo:
    """Duration and streams of a media file, read with ``ffmpeg -i`` (the wheel has no ffprobe)."""
    proc = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    text = proc.stderr
    match = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    if match is None:
        raise VideoError(f"ffmpeg cannot read {path.name}: {text.strip()[-200:]}")
    h, m, s = match.groups()
    streams = [
        f"{kind.lower()}:{codec}"
        for kind, codec in re.findall(r"Stream #\d+:\d+.*?: (Video|Audio|Subtitle): (\w+)", text)
    ]
    return MediaInfo(seconds=int(h) * 3600 + int(m) * 60 + float(s), streams=streams)
