"""Green-screen measurements on sampled frames.

Pixels are classified in HSV: hue is unaffected by the overall brightness of the light, and
saturation barely changes with lighting fall-off or vignetting, so a chroma-green screen stays
"green" from its bright centre to its darker corners. Very dark pixels (value below
`min_value`) carry no reliable hue and count as neither green nor blue.

Per frame we measure the green (and blue) share of a border ring (outer `ring` fraction of the
short side), of each side of that ring, and of the whole frame; the spread of brightness inside
the green mask; the subject (everything not green) — its area, bounding box, whether it reaches
the top/left/right edge — and how much green there is in the middle of the subject.

Calibration (tests/media/test_green_calibration.py, 180x320 frames like the sampled ones):
passing: flat keys #00B140, #00FF00, #3DBE5A, each also with Gaussian noise σ=10; a vertical
gradient ±30 %; radial vignetting (corners at 55 %); lighting fall-off to 45 % across the frame;
vignetting + fall-off + JPEG q70 — all with a presenter-shaped subject. Border ring green share
0.88 for all of them (the subject's body takes the bottom edge), minimum side share 1.0.
Failing: an office scene (beige wall, window, wood desk, grey cabinet, a green plant) ring 0.05;
blue keys #0047BB / #1E5AE6 ring blue 0.99; a screen covering 60 % of the width ring 0.46 with the
right side at 0.01. Hence `ring_min` 0.6 and `side_min` 0.35 (the worst passing side is 1.0; the
bottom side is not required since the body covers it). Uneven light: see GRN004.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    BoolArray = npt.NDArray[np.bool_]
    FloatArray = npt.NDArray[np.float32]


#: A green pixel this much brighter or darker than the green around it is "unevenly lit".
UNEVEN_DEVIATION = 0.15


@dataclass(frozen=True)
class Params:
    """Colour classification thresholds (shared by every GRN rule)."""

    hue_min: float = 70.0
    hue_max: float = 170.0
    blue_hue_min: float = 185.0
    blue_hue_max: float = 260.0
    min_saturation: float = 0.25
    min_value: float = 0.12
    ring: float = 0.06

    @classmethod
    def from_options(cls, opts: Any) -> Params:
        """Take the colour options of a GRN rule."""
        return cls(**{k: float(opts[k]) for k in cls.__dataclass_fields__ if k in opts})


@dataclass(frozen=True)
class FrameGreen:
    """Green-screen measurements of one frame (fractions are 0..1)."""

    time: float
    ring_green: float
    ring_blue: float
    sides: dict[str, float]
    coverage: float
    luma_spread: float  # share of the green off its smooth lighting (GRN004)
    subject_fraction: float
    subject_box: tuple[int, int, int, int] | None
    touches: tuple[str, ...]
    green_on_subject: float
    mask: Any

    def kind(self, ring_min: float, side_min: float, side_full: float) -> str:
        """green | blue | partial | none for this frame."""
        lr = (self.sides["top"], self.sides["left"], self.sides["right"])
        if self.ring_green >= ring_min and min(lr) >= side_min:
            return "green"
        if self.ring_blue >= ring_min:
            return "blue"
        if max(self.sides.values()) >= side_full:
            return "partial"
        return "none"


def hsv(rgb: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Hue (degrees), saturation and value of an RGB uint8 image."""
    import numpy as np

    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx = x.max(axis=2)
    mn = x.min(axis=2)
    d = mx - mn
    safe = np.where(d > 1e-6, d, 1.0)
    h = np.where(mx == r, ((g - b) / safe) % 6.0,
                 np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)) * 60.0
    h = np.where(d > 1e-6, h, 0.0)
    s = np.where(mx > 1e-6, d / np.where(mx > 1e-6, mx, 1.0), 0.0)
    return h.astype(np.float32), s.astype(np.float32), mx.astype(np.float32)


def masks(rgb: Any, p: Params) -> tuple[BoolArray, BoolArray, BoolArray, FloatArray]:
    """(green, blue, greenish, value): chroma masks and the brightness channel."""
    h, s, v = hsv(rgb)
    lit = v >= p.min_value
    green = lit & (s >= p.min_saturation) & (h >= p.hue_min) & (h <= p.hue_max)
    blue = lit & (s >= p.min_saturation) & (h >= p.blue_hue_min) & (h <= p.blue_hue_max)
    greenish = lit & (s >= p.min_saturation * 0.6) & (h >= p.hue_min) & (h <= p.hue_max)
    return green, blue, greenish, v


def analyse_frame(rgb: Any, time: float, p: Params) -> FrameGreen:
    """Measure one RGB frame."""
    import numpy as np

    green, blue, greenish, v = masks(rgb, p)
    hgt, wid = green.shape
    r = max(2, round(min(hgt, wid) * p.ring))
    ring = np.zeros_like(green)
    ring[:r, :] = ring[-r:, :] = True
    ring[:, :r] = ring[:, -r:] = True
    sides = {
        "top": float(green[:r, :].mean()), "bottom": float(green[-r:, :].mean()),
        "left": float(green[:, :r].mean()), "right": float(green[:, -r:].mean()),
    }
    spread = _local_spread(v, green)
    subject = ~green
    subject_fraction = float(subject.mean())
    rows = np.flatnonzero(subject.mean(axis=1) > 0.02)
    cols = np.flatnonzero(subject.mean(axis=0) > 0.02)
    box = None
    on_subject = 0.0
    touches: list[str] = []
    if rows.size and cols.size:
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        box = (x0, y0, x1, y1)
        # The body hangs below the head: take the columns of the top of the subject and look
        # for green from just under the head down (a keyed-out green shirt leaves it green).
        head = subject[y0:y0 + max(2, int(hgt * 0.08)), :]
        hcols = np.flatnonzero(head.mean(axis=0) > 0.2)
        if hcols.size:
            hx0, hx1 = int(hcols[0]), int(hcols[-1]) + 1
            iy0, iy1 = y0 + int(hgt * 0.2), min(hgt, y0 + int(hgt * 0.65))
            inner = greenish[iy0:iy1, hx0:hx1]
            on_subject = float(inner.mean()) if inner.size else 0.0
        edge = max(1, r // 3)
        strips = {"top": subject[:edge, :], "left": subject[:, :edge],
                  "right": subject[:, -edge:]}
        touches = [k for k, s in strips.items() if float(s.mean()) > 0.05]
    return FrameGreen(
        time=time, ring_green=float(green[ring].mean()), ring_blue=float(blue[ring].mean()),
        sides=sides, coverage=float(green.mean()), luma_spread=spread,
        subject_fraction=subject_fraction, subject_box=box, touches=tuple(touches),
        green_on_subject=on_subject, mask=green,
    )


def _local_spread(v: Any, mask: Any) -> float:
    """Share of the green screen that is unevenly lit, once the smooth lighting is removed.

    The brightness of the green pixels is fitted with a quadratic surface in x and y (which
    follows gradients, lighting fall-off and vignetting exactly); pixels more than
    `UNEVEN_DEVIATION` brighter or darker than the fit are shadows, folds or wrinkles.
    """
    import numpy as np

    ys, xs = np.nonzero(mask)
    if ys.size < 50:
        return 0.0
    step = max(1, ys.size // 6000)
    ys, xs = ys[::step], xs[::step]
    h, w = mask.shape
    x = xs.astype(np.float32) / max(w - 1, 1) * 2 - 1
    y = ys.astype(np.float32) / max(h - 1, 1) * 2 - 1
    a = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    val = v[ys, xs].astype(np.float32)
    try:  # normal equations: a 6x6 solve is much cheaper than a general least-squares call
        coef = np.linalg.solve(a.T @ a, a.T @ val)
    except np.linalg.LinAlgError:
        return 0.0
    fit = np.maximum(a @ coef, 1e-3)
    return float((np.abs(val / fit - 1.0) > UNEVEN_DEVIATION).mean())


def analyse(frames: Sequence[Any], p: Params) -> tuple[FrameGreen, ...]:
    """Measure every sampled frame (objects with `.rgb` and `.time`)."""
    return tuple(analyse_frame(f.rgb, f.time, p) for f in frames)


def verdict(results: Sequence[FrameGreen], ring_min: float, side_min: float, side_full: float,
            frame_fraction: float) -> tuple[str, dict[str, int]]:
    """The background over all frames: green | blue | partial | none, plus per-kind counts."""
    counts = {"green": 0, "blue": 0, "partial": 0, "none": 0}
    for fr in results:
        counts[fr.kind(ring_min, side_min, side_full)] += 1
    n = max(1, len(results))
    if counts["green"] / n >= frame_fraction:
        return "green", counts
    rest = {k: c for k, c in counts.items() if k != "green"}
    if counts["blue"] and counts["blue"] >= max(rest.values()):
        return "blue", counts
    if counts["partial"] and counts["partial"] >= counts["none"]:
        return "partial", counts
    return "none", counts
