"""Canny edges in numpy: ControlNet's canny conditioning with no detector weights to download.

The classic four stages: Gaussian smoothing, Sobel gradients, non-maximum suppression along
the gradient direction, then double thresholds joined by hysteresis. Thresholds are fractions
of the strongest gradient, so the result does not depend on the image's contrast.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _sobel(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.pad(gray, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return gx, gy


def _thin(mag: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Keep a pixel only where it is the maximum along its gradient direction."""
    angle = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
    p = np.pad(mag, 1)
    h, w = mag.shape

    def at(dy: int, dx: int) -> np.ndarray:
        return p[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    pairs = [
        ((angle < 22.5) | (angle >= 157.5), at(0, -1), at(0, 1)),
        ((angle >= 22.5) & (angle < 67.5), at(-1, 1), at(1, -1)),
        ((angle >= 67.5) & (angle < 112.5), at(-1, 0), at(1, 0)),
        ((angle >= 112.5) & (angle < 157.5), at(-1, -1), at(1, 1)),
    ]
    keep = np.zeros_like(mag, dtype=bool)
    for mask, a, b in pairs:
        keep |= mask & (mag >= a) & (mag >= b)
    return np.where(keep, mag, 0.0)


def _hysteresis(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Grow strong edges into the weak ones they touch (8-connected) until nothing changes."""
    edges = strong.copy()
    for _ in range(max(edges.shape)):
        p = np.pad(edges, 1)
        grown = np.zeros_like(edges)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                grown |= p[1 + dy : 1 + dy + edges.shape[0], 1 + dx : 1 + dx + edges.shape[1]]
        grown &= weak
        grown |= edges
        if np.array_equal(grown, edges):
            break
        edges = grown
    return edges


def canny_array(gray: np.ndarray, low: float = 0.1, high: float = 0.25) -> np.ndarray:
    """A boolean edge map of a 2-D float image (already smoothed)."""
    gx, gy = _sobel(gray.astype(np.float64))
    mag = np.hypot(gx, gy)
    peak = float(mag.max())
    if peak <= 0:
        return np.zeros(gray.shape, dtype=bool)
    thin = _thin(mag, gx, gy) / peak
    return _hysteresis(thin >= high, thin >= low)


def canny(image: Any, low: float = 0.1, high: float = 0.25, blur: float = 1.4) -> Any:
    """A PIL image -> its Canny edges as a white-on-black RGB PIL image (ControlNet's input)."""
    from PIL import Image, ImageFilter

    gray = image.convert("L").filter(ImageFilter.GaussianBlur(blur))
    edges = canny_array(np.asarray(gray, dtype=np.float64), low, high)
    return Image.fromarray((edges * 255).astype(np.uint8)).convert("RGB")
