"""synthesize_voice: one WAV per dialogue line.

Backends: espeak-ng (embedded default, a distinct voice per character) or a GPT-SoVITS
api_v2 server. GPT-SoVITS weights are global to its server, so voice jobs are serialized and
each names its weights before speaking.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import wave
from pathlib import Path
from typing import Annotated, Any

import httpx
from langchain_core.tools import InjectedToolArg

from configs.settings import Settings, get_settings
from services.outputs import atomic_write_bytes, safe_name
from tools.registry import (
    Availability,
    ToolContext,
    ToolRegistry,
    ToolUnavailableError,
    make_spec,
)

_SOVITS_LOCK = threading.Lock()


def wav_seconds(path: Path) -> float:
    """Duration of a PCM WAV file in seconds."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


def voice_for(character: str, cast: list[str], settings: Settings) -> str:
    """A stable espeak voice per character: its position in the cast picks the variant."""
    voices = settings.voice.espeak_voices
    index = cast.index(character) if character in cast else len(cast)
    return voices[index % len(voices)]


# How a tone word changes espeak-ng's delivery: (words-per-minute factor, pitch 0-99,
# amplitude 0-200). Unknown tones speak neutrally; the tone is still recorded with the clip.
TONES: dict[str, tuple[float, int, int]] = {
    "excited": (1.2, 70, 150),
    "happy": (1.1, 65, 120),
    "cheerful": (1.1, 65, 120),
    "angry": (1.1, 40, 180),
    "furious": (1.15, 35, 190),
    "sad": (0.8, 35, 80),
    "tired": (0.8, 40, 70),
    "calm": (0.9, 45, 90),
    "nervous": (1.2, 60, 90),
    "scared": (1.25, 70, 90),
    "whispered": (0.9, 45, 40),
    "quiet": (0.9, 45, 50),
}
NEUTRAL = (1.0, 50, 100)


def _espeak(
    text: str, voice: str, speed: int, out: Path, settings: Settings, tone: str = ""
) -> None:
    binary = shutil.which(settings.voice.espeak_binary)
    if binary is None:
        raise ToolUnavailableError(
            f"{settings.voice.espeak_binary} not found: install it (apt-get install espeak-ng; "
            "`make setup` does) or set ANIMAGENT_VOICE__BACKEND=gpt_sovits."
        )
    tmp = out.with_suffix(".tmp.wav")
    factor, pitch, amplitude = TONES.get(tone.lower(), NEUTRAL)
    wpm = max(80, min(450, int(speed * factor)))
    proc = subprocess.run(
        [
            binary,
            "-v",
            voice,
            "-s",
            str(wpm),
            "-p",
            str(pitch),
            "-a",
            str(amplitude),
            "-w",
            str(tmp),
            "--",
            text,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"espeak-ng failed ({proc.returncode}): {proc.stderr.strip()[:200]}")
    tmp.replace(out)


_LOADED: dict[str, str] = {}


def _sovits(text: str, character: str, out: Path, settings: Settings, tone: str = "") -> str:
    """Speak one line through a GPT-SoVITS api_v2 server; return the voice used.

    A tone picks the character's reference clip for that tone (``"Luca:excited"``) when the
    settings name one: GPT-SoVITS imitates the delivery of its reference audio.
    """
    voices = settings.voice.gpt_sovits_voices
    voice = (
        (voices.get(f"{character}:{tone}") if tone else None)
        or voices.get(character)
        or voices.get("default")
    )
    if voice is None:
        raise ToolUnavailableError(
            f"no GPT-SoVITS voice for {character!r}: set voice.gpt_sovits_voices.{character}"
            ".ref_audio_path (or a 'default' voice) in configs/agent.yaml"
        )
    base = (settings.voice.gpt_sovits_url or "").rstrip("/")
    with _SOVITS_LOCK, httpx.Client(base_url=base, timeout=300) as client:
        for kind, path in (("gpt", voice.gpt_weights), ("sovits", voice.sovits_weights)):
            if path and _LOADED.get(f"{base}:{kind}") != path:
                reply = client.get(f"/set_{kind}_weights", params={"weights_path": path})
                if reply.status_code != 200:
                    raise RuntimeError(
                        f"GPT-SoVITS refused {kind} weights {path}: {reply.text[:200]}"
                    )
                _LOADED[f"{base}:{kind}"] = path
        reply = client.post(
            "/tts",
            json={
                "text": text,
                "text_lang": settings.voice.text_lang,
                "ref_audio_path": voice.ref_audio_path,
                "prompt_text": voice.prompt_text,
                "prompt_lang": voice.prompt_lang,
                "media_type": "wav",
                "streaming_mode": False,
            },
        )
        if reply.status_code != 200:
            raise RuntimeError(f"GPT-SoVITS /tts answered {reply.status_code}: {reply.text[:200]}")
        atomic_write_bytes(out, reply.content)
    return Path(voice.ref_audio_path).stem


def synthesize_voice(
    lines: list[dict[str, str]],
    speed: int = 0,
    tone: str = "",
    ctx: Annotated[ToolContext | None, InjectedToolArg] = None,
) -> dict[str, Any]:
    """Speak each dialogue line into its own WAV file, one voice per character.

    Args:
        lines: The dialogue lines, each {"character": name, "text": words}.
        speed: Words per minute (0 = the configured default).
        tone: How the lines are delivered (e.g. excited, angry, sad, whispered).
    """
    assert ctx is not None
    settings = ctx.settings
    cast: list[str] = []
    for line in lines:
        if line.get("character") and line["character"] not in cast:
            cast.append(line["character"])
    wpm = speed or settings.voice.speed_wpm
    clips = []
    for i, line in enumerate(lines, start=1):
        text = str(line.get("text", "")).strip()
        if not text:
            continue
        who = str(line.get("character", "narrator"))
        out = ctx.path(f"voice/{i:02d}_{safe_name(who, 24).lower()}.wav")
        out.parent.mkdir(parents=True, exist_ok=True)
        if settings.voice.backend == "gpt_sovits":
            voice = _sovits(text, who, out, settings, tone)
        else:
            voice = voice_for(who, cast, settings)
            _espeak(text, voice, wpm, out, settings, tone)
        clips.append(
            {
                "path": str(out.relative_to(ctx.run_dir)),
                "character": who,
                "text": text,
                "voice": voice,
                "tone": tone,
                "seconds": round(wav_seconds(out), 3),
            }
        )
        ctx.progress(i / max(1, len(lines)), f"voice line {i}/{len(lines)}")
    return {
        "clips": clips,
        "backend": settings.voice.backend,
        "artifacts": [
            {"path": c["path"], "kind": "audio", "meta": {"seconds": c["seconds"]}} for c in clips
        ],
    }


def check_voice(args: dict[str, Any], output: dict[str, Any]) -> dict[str, bool]:
    """One clip per non-empty line, each with a plausible duration for its words."""
    clips = output.get("clips", [])
    wanted = [ln for ln in args.get("lines", []) if str(ln.get("text", "")).strip()]
    plausible = all(
        0.25 * len(c["text"].split()) * 0.2 <= c["seconds"] <= 2.0 + 1.5 * len(c["text"].split())
        for c in clips
    )
    return {"one_clip_per_line": len(clips) == len(wanted) > 0, "durations_plausible": plausible}


def improve_voice(args: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """Slower, clearer speech."""
    return {
        **args,
        "speed": max(110, int(args.get("speed") or get_settings().voice.speed_wpm) - 25),
    }


def probe_voice(settings: Settings) -> Availability:
    """espeak-ng on PATH, or a reachable GPT-SoVITS server."""
    if settings.voice.backend == "gpt_sovits":
        url = settings.voice.gpt_sovits_url
        if not url:
            return Availability(
                False, "voice.backend is gpt_sovits: set ANIMAGENT_VOICE__GPT_SOVITS_URL"
            )
        try:
            httpx.get(url, timeout=2.0)
        except httpx.HTTPError as exc:
            return Availability(False, f"GPT-SoVITS server {url} unreachable ({exc})")
        return Availability(True)
    if shutil.which(settings.voice.espeak_binary) is None:
        return Availability(
            False, "espeak-ng is not installed: apt-get install espeak-ng (make setup does)"
        )
    return Availability(True)


def register(registry: ToolRegistry) -> None:
    """Add synthesize_voice (heavy when a GPT-SoVITS server does the work)."""
    registry.add(
        make_spec(
            synthesize_voice,
            category="voice",
            heavy=get_settings().voice.backend == "gpt_sovits",
            vram_gb=4.0 if get_settings().voice.backend == "gpt_sovits" else 0.0,
            est_seconds=1.0,
            model=f"voice:{get_settings().voice.backend}",
            outputs=("clips",),
            consumes={"lines": "dialogue"},
            produces={"clips": "audio"},
            makes="voice",
            hints=("voice", "speak", "say", "read aloud", "narrate", "audio"),
            topics=("GPT-SoVITS", "espeak-ng", "text-to-speech", "TTS", "voice cloning"),
            probe=probe_voice,
            check=check_voice,
            improve=improve_voice,
            judged=False,  # audio: its checks score it
        )
    )
