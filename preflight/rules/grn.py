"""GRN rules: the green screen behind the presenter, measured on the sampled frames
(constraints §1.3 R4/R5, §3.1). See `preflight.inspect.green` for the measurements and how the
default thresholds were calibrated. Only the training video is judged; jobs with
`is_background_replacement = false` (real scene, every Flexus job) need no green screen."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from statistics import median
from typing import TYPE_CHECKING, Any

from preflight.inspect import shared
from preflight.model import Severity
from preflight.rules.base import Fact, FileContext, Option, Options, file_rule

if TYPE_CHECKING:
    from preflight.inspect.green import FrameGreen

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
GREEN_SLOTS = ("training_video",)

#: Colour classification, shared by every GRN rule (see preflight.inspect.green).
COLOUR = {
    "hue_min": Option(70.0, "Lowest hue (degrees) counted as green."),
    "hue_max": Option(170.0, "Highest hue (degrees) counted as green."),
    "blue_hue_min": Option(185.0, "Lowest hue (degrees) counted as blue."),
    "blue_hue_max": Option(260.0, "Highest hue (degrees) counted as blue."),
    "min_saturation": Option(0.25, "Least HSV saturation of a key-coloured pixel."),
    "min_value": Option(0.12, "Least HSV value (brightness); darker pixels have no reliable hue."),
    "ring": Option(0.06, "Width of the border ring, as a fraction of the short side."),
}
#: How a frame's background is classified, shared by GRN001-GRN003 and GRN008.
BACKGROUND = {
    "ring_min": Option(0.6, "Least green share of the border ring for a green frame."),
    "side_min": Option(0.35, "Least green share of the top, left and right sides of the ring."),
    "side_full": Option(0.8, "A side this green makes a non-green frame 'partly green'."),
    "frame_fraction": Option(0.5, "Share of sampled frames that must have a green background."),
}


def _opts(*groups: dict[str, Option], **extra: Option) -> dict[str, Option]:
    out: dict[str, Option] = {}
    for g in groups:
        out.update(g)
    out.update(extra)
    return out


def _results(ctx: FileContext, opts: Options) -> Sequence[FrameGreen] | None:
    res: Sequence[FrameGreen] | None = shared.green_results(ctx, opts)
    return res or None


def _verdict(ctx: FileContext, opts: Options) -> tuple[str, dict[str, int], Sequence[FrameGreen]]:
    from preflight.inspect.green import verdict

    res = _results(ctx, opts)
    if res is None:
        return "unknown", {}, ()
    v, counts = verdict(res, float(opts["ring_min"]), float(opts["side_min"]),
                        float(opts["side_full"]), float(opts["frame_fraction"]))
    return v, counts, res


def _required(ctx: FileContext) -> bool:
    return ctx.job.flag("is_background_replacement")


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _ring(res: Sequence[FrameGreen]) -> str:
    return ", ".join(_pct(r.ring_green) for r in res)


def _green_frames(ctx: FileContext, opts: Options) -> list[FrameGreen]:
    """Frames with a green background, when the video as a whole is green-screened."""
    v, _, res = _verdict(ctx, opts)
    if v != "green":
        return []
    return [r for r in res if r.kind(float(opts["ring_min"]), float(opts["side_min"]),
                                     float(opts["side_full"])) == "green"]


def _details(counts: dict[str, int], res: Sequence[FrameGreen]) -> dict[str, Any]:
    return {"frames": counts, "ring_green": [round(r.ring_green, 3) for r in res],
            "coverage": [round(r.coverage, 3) for r in res]}


@file_rule("GRN001", "green-screen-missing", E,
           "With background replacement, the background is a green screen in most frames.",
           "§1.3 R4, §3.1", slots=GREEN_SLOTS, options=_opts(COLOUR, BACKGROUND))
def green_missing(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """`is_background_replacement` defaults to true, and then the training video must be shot
    on a green screen. A frame counts as green-screened when at least `ring_min` of its border
    ring is chroma green (and each of the top, left and right sides at least `side_min`);
    at least `frame_fraction` of the sampled frames must be. For a real-scene video send
    `is_background_replacement = false`."""
    if not _required(ctx):
        return
    v, counts, res = _verdict(ctx, opts)
    if v == "none":
        yield Fact(
            f"{ctx.path.name}: background is not a green screen in {len(res) - counts['green']} "
            f"of {len(res)} sampled frames (green share of the border: {_ring(res)}); shoot on "
            "a green screen or set is_background_replacement = false for a real scene",
            details=_details(counts, res))


@file_rule("GRN002", "blue-screen", E,
           "A blue screen is not supported: only green allows background replacement.",
           "§1.3 R5", slots=GREEN_SLOTS, options=_opts(COLOUR, BACKGROUND))
def blue_screen(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """R5: only a green screen allows background replacement; a blue screen does not."""
    if not _required(ctx):
        return
    v, counts, res = _verdict(ctx, opts)
    if v == "blue":
        blue = ", ".join(_pct(r.ring_blue) for r in res)
        yield Fact(
            f"{ctx.path.name}: the background is a BLUE screen ({counts['blue']} of {len(res)} "
            f"frames; blue share of the border: {blue}); only a green screen is supported for "
            "background replacement", details=_details(counts, res))


@file_rule("GRN003", "green-screen-partial", E,
           "The green screen fills the whole frame border, not just part of it.",
           "§1.3 R4, §3.1", slots=GREEN_SLOTS, options=_opts(COLOUR, BACKGROUND))
def green_partial(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """A screen that is too narrow or badly framed leaves the studio visible at one or more
    sides; the matting then keeps those parts. Fires when most frames have a side at least
    `side_full` green while the border as a whole is not."""
    if not _required(ctx):
        return
    v, counts, res = _verdict(ctx, opts)
    if v != "partial":
        return
    side_min = float(opts["side_min"])
    bad = sorted({s for r in res for s, x in r.sides.items() if x < side_min and s != "bottom"})
    sides = "; ".join(f"{s} {_pct(median(r.sides[s] for r in res))}"
                      for s in ("top", "left", "right", "bottom"))
    yield Fact(
        f"{ctx.path.name}: the green screen covers only part of the frame border "
        f"(median green share per side: {sides}); not green at: {', '.join(bad) or 'corners'}",
        details=_details(counts, res))


@file_rule("GRN004", "green-uneven", W,
           "The green screen is evenly lit (no strong shadows or wrinkles).", "§3.1",
           slots=GREEN_SLOTS, options=_opts(COLOUR, BACKGROUND, max_uneven=Option(
               0.15, "Largest share of the green screen off its smooth lighting by > 15 %.")))
def green_uneven(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Light the subject first, then the screen, without shadows (§3.1). The brightness of the
    green is fitted with a smooth (quadratic) surface, which follows gradients, fall-off and
    vignetting; the share of green pixels more than 15 % off that surface are shadows, folds
    and wrinkles (median over the green frames). Calibration (180x320 frames, noise σ=10):
    flat 0.00–0.02, vignetting to 55 % 0.04, fall-off to 45 % 0.09; a shadow at 60 % over a
    third of the screen 0.23, at 45 % 0.35, wrinkles ±25 % 0.54."""
    if not _required(ctx):
        return
    frames = _green_frames(ctx, opts)
    if not frames:
        return
    share = median(r.luma_spread for r in frames)
    if share > float(opts["max_uneven"]):
        yield Fact(f"{ctx.path.name}: the green screen is unevenly lit ({_pct(share)} of it is "
                   "more than 15 % off smooth lighting); light it evenly, remove shadows and "
                   "wrinkles", details={"uneven_share": share})


@file_rule("GRN005", "green-on-subject", W,
           "No green clothing or green spill on the presenter.", "§3.1", slots=GREEN_SLOTS,
           options=_opts(COLOUR, BACKGROUND, max_green_on_subject=Option(
               0.25, "Largest greenish share of the body region under the head.")))
def green_on_subject(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """No green (or transparent) clothing (§3.1): it is keyed out with the background. The body
    region under the head (the head's width, from 20 % to 65 % of the frame height below the top
    of the subject) is checked for greenish pixels, which also catches strong green spill from
    a screen too close behind. Calibration: a presenter with a neck 0.07–0.08, a green shirt
    0.94."""
    if not _required(ctx):
        return
    frames = _green_frames(ctx, opts)
    limit = float(opts["max_green_on_subject"])
    hit = [r for r in frames if r.subject_box and r.green_on_subject > limit]
    if frames and len(hit) * 2 >= len(frames):
        share = median(r.green_on_subject for r in hit)
        yield Fact(f"{ctx.path.name}: green on the presenter ({_pct(share)} of the middle of the "
                   f"subject in {len(hit)} of {len(frames)} frames): green clothing or spill "
                   "will be keyed out", details={"green_on_subject": share})


@file_rule("GRN006", "subject-touches-edge", W,
           "The presenter does not touch the top, left or right edge of the frame.", "§3.1",
           slots=GREEN_SLOTS, inferred=True, options=_opts(COLOUR, BACKGROUND))
def subject_edge(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """A head or arms cut by the frame edge cannot be placed on a new background cleanly
    (the bottom edge is expected to cut a half-body shot and is not checked)."""
    if not _required(ctx):
        return
    frames = _green_frames(ctx, opts)
    sides = [s for s in ("top", "left", "right")
             if frames and sum(s in r.touches for r in frames) * 2 >= len(frames)]
    if sides:
        yield Fact(f"{ctx.path.name}: the presenter touches the {' and '.join(sides)} edge of "
                   "the frame; leave space around the head and arms", details={"sides": sides})


@file_rule("GRN007", "subject-too-small", W, "The presenter fills enough of the frame.",
           "§3.1, §3.2", slots=GREEN_SLOTS, inferred=True, options=_opts(
               COLOUR, BACKGROUND, min_subject=Option(
                   0.05, "Least share of the frame covered by the (non-green) subject.")))
def subject_small(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """A small figure in a large green frame leaves few pixels for the face (Flexus asks the
    face to fill more than 1/5 of the frame, §3.2)."""
    if not _required(ctx):
        return
    frames = _green_frames(ctx, opts)
    if not frames:
        return
    share = median(r.subject_fraction for r in frames)
    if share < float(opts["min_subject"]):
        yield Fact(f"{ctx.path.name}: the presenter covers only {_pct(share)} of the frame; "
                   "move the camera closer", details={"subject_fraction": share})


@file_rule("GRN008", "green-without-replacement", INFO,
           "The video looks green-screened but is_background_replacement is false.",
           "§1.3 R4", slots=GREEN_SLOTS, options=_opts(COLOUR, BACKGROUND))
def green_without_replacement(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """A green-screen take sent with `is_background_replacement = false` keeps the green
    background in every generated video; maybe the flag was meant to be true."""
    if _required(ctx):
        return
    v, counts, res = _verdict(ctx, opts)
    if v == "green":
        yield Fact(f"{ctx.path.name}: looks shot on a green screen ({counts['green']} of "
                   f"{len(res)} frames) but is_background_replacement is false; the green "
                   "background will stay", details=_details(counts, res))


RULES = (green_missing, blue_screen, green_partial, green_uneven, green_on_subject,
         subject_edge, subject_small, green_without_replacement)
