"""Measurable checks of a generated image, for when no vision model is configured.

They catch the failures a person notices first: a file that does not open, the wrong size,
a blank or flat picture (a NaN-ed fp16 decode comes out black), the same picture again after
a retry. Near duplicates use a 64-bit difference hash (dHash): robust to re-encoding, cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

MIN_STD = 4.0
"""Pixel standard deviation (0..255) below which an image counts as blank or uniform."""
DUPLICATE_BITS = 4
"""dHash Hamming distance at or below which two images are the same picture."""


def dhash(image: Any) -> int:
    """A 64-bit difference hash of a PIL image (or of an image file's path)."""
    from PIL import Image

    if isinstance(image, Path):
        with Image.open(image) as img:
            return dhash(img.copy())
    small = np.asarray(image.convert("L").resize((9, 8), Image.Resampling.BILINEAR), dtype=float)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def measure(path: Path, width: int, height: int, earlier: list[Path]) -> dict[str, Any]:
    """Facts about the image at ``path`` (never raises: a broken file is a fact too)."""
    from PIL import Image, UnidentifiedImageError

    facts: dict[str, Any] = {"decodes": False, "size_ok": False, "std": 0.0, "duplicate_of": ""}
    try:
        with Image.open(path) as img:
            img.load()
            facts["size"] = [img.width, img.height]
            rgb = img.convert("RGB")
            pixels = np.asarray(rgb, dtype=float)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        facts["error"] = str(exc)[:200]
        return facts
    facts["decodes"] = True
    facts["size_ok"] = facts["size"] == [width, height]
    facts["std"] = round(float(pixels.std()), 2)
    mine = dhash(rgb)
    facts["dhash"] = f"{mine:016x}"
    for other in earlier:
        try:
            if bin(mine ^ dhash(other)).count("1") <= DUPLICATE_BITS:
                facts["duplicate_of"] = other.name
                break
        except (OSError, UnidentifiedImageError):
            continue
    return facts


def passed(facts: dict[str, Any]) -> dict[str, bool]:
    """Check name -> passed, from ``measure``'s facts."""
    return {
        "decodes": bool(facts.get("decodes")),
        "requested_size": bool(facts.get("size_ok")),
        "not_blank": float(facts.get("std") or 0.0) >= MIN_STD,
        "not_a_repeat": not facts.get("duplicate_of"),
    }
