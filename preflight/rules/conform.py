"""One fix plan per video, and the exact ffmpeg command that carries it out.

Pure functions over plain media facts (and `finding_fix`, which reads a rule's file memo);
nothing here runs ffmpeg or touches files. Every change a take needs — rotate, scale and pad,
frame rate, deinterlace, trim, codecs, container — goes into **one** plan and one ffmpeg
command; what no command can repair (a take that is too short; an error of a rule the plan
does not cover, such as a missing face) is `FixPlan.unfixable` and `blockers`. VID and PRS
findings suggest the same ``preflight fix FILE -o OUT`` line (`fix_line`), which runs that
command with the bundled ffmpeg; the command itself is in their ``details["ffmpeg"]``.

    >>> plan = plan_for(facts, edition="standard")
    >>> shell_line(ffmpeg_args(Path("in.mov"), Path("out.mp4"), plan))

Targets (constraints §3.1, §3.2): MP4 container; display size one of
`preflight.metastudio.ALLOWED_SIZES` (orientation kept); duration within the edition pack's
VID007 limits; frame rate ≥ 25 fps, constant; progressive scan. Streams are copied when the codecs
allow (H.264/H.265 video, AAC audio); otherwise video is encoded with libx264 and audio
with AAC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from preflight import shell
from preflight.errors import PreflightError
from preflight.metastudio import ALLOWED_SIZES
from preflight.model import Severity

if TYPE_CHECKING:
    from preflight.inspect.probe import VideoProbe
    from preflight.model import Finding
    from preflight.rules.base import FileContext

#: Lowest accepted frame rate and the rate slower videos are converted to (constraints §3.1).
MIN_FPS = 25.0
TARGET_FPS = 25
#: Trimmed output ends this many seconds before the limit, so that audio/video tails that
#: run a few milliseconds past the cut cannot push the result over it.
TRIM_MARGIN = 1.0
COPY_VIDEO_CODECS = frozenset({"h264", "hevc"})
COPY_AUDIO_CODECS = frozenset({"aac"})
MP4_NAMES = frozenset({"mp4", "mpeg-4", "isom", "iso base media"})
#: H.264 8-bit 4:2:0 (plays everywhere, §3.1). CRF 17 keeps the picture visually lossless for
#: training; "veryfast" keeps a 10-minute 4K re-encode to a reasonable wait on a laptop.
X264_ARGS = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "17", "-pix_fmt", "yuv420p")
AAC_ARGS = ("-c:a", "aac", "-b:a", "192k")
#: Said when a take under 1080p is scaled up: the review accepts the size (44005901 is about
#: the exact size), but the shooting guides ask for footage recorded at 1080P or higher.
UPSCALE_NOTE = (" (scaled up from {short}p: accepted, but the shooting guide asks for footage "
                "recorded at 1080P or higher, so a new take looks sharper)")
#: Scan types MediaInfo reports for interlaced video.
INTERLACED_SCANS = frozenset({"interlaced", "mbaff", "paff"})

Action = Literal["copy", "encode", "none"]


@dataclass(frozen=True)
class FixPlan:
    """What has to change to make one video conform.

    ``video``/``audio`` say whether a stream is copied, re-encoded or (audio only) absent.
    ``width``/``height`` is the display size to scale and pad to (``None``: keep).
    ``trim`` is the output duration in seconds (``None``: keep). ``fps`` is the frame rate
    to convert to (``None``: keep). ``reasons`` lists every change for people;
    ``unfixable`` lists problems no command can fix (a too-short video).
    ``rotate`` turns the picture clockwise by 90, 180 or 270 degrees (a take shot sideways).
    ``deinterlace`` runs yadif first (an interlaced source).
    """

    video: Action = "copy"
    audio: Action = "copy"
    width: int | None = None
    height: int | None = None
    trim: float | None = None
    fps: int | None = None
    container: str = "mp4"
    rotate: int = 0
    deinterlace: bool = False
    reasons: tuple[str, ...] = ()
    unfixable: tuple[str, ...] = ()

    @property
    def needed(self) -> bool:
        """True when the input does not conform as it is."""
        return bool(self.reasons)

    @property
    def remux_only(self) -> bool:
        """True when no stream is re-encoded (a fast, lossless copy)."""
        return self.video != "encode" and self.audio != "encode"


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        result = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return result if result is None or math.isfinite(result) else None


def nearest_size(width: int, height: int) -> tuple[int, int]:
    """The allowed display size closest to ``width``x``height`` with the same orientation.

    Landscape (or square) goes to 1920x1080 / 3840x2160, portrait to 1080x1920 / 2160x3840;
    of the two, the one whose long side is nearest on a log scale (ties go to 1080p).
    """
    landscape = width >= height
    long_side = max(width, height, 1)
    candidates = [s for s in ALLOWED_SIZES if (s[0] >= s[1]) == landscape]
    return min(candidates, key=lambda s: (abs(math.log(long_side / max(s))), max(s)))


def probe_facts(probe: VideoProbe) -> dict[str, Any]:
    """The facts `plan_for` reads, from a video probe (its header facts, frame-rate mode and
    scan type)."""
    return {**probe.facts(), "frame_rate_mode": probe.frame_rate_mode,
            "scan_type": probe.scan_type}


def duration_limits(edition: str) -> tuple[float, float]:
    """(min, max) duration in seconds for an edition: VID007's options in its pack."""
    from preflight.rules.config import Config, resolve

    opts = resolve(edition, Config())["VID007"].options
    return float(opts["min_seconds"]), float(opts["max_seconds"])


#: Degrees clockwise -> ffmpeg filters that turn the picture so.
ROTATIONS: Mapping[int, tuple[str, ...]] = {
    0: (), 90: ("transpose=1",), 180: ("transpose=1", "transpose=1"), 270: ("transpose=2",)}


def plan_for(
    facts: Mapping[str, Any],
    *,
    edition: str,
    min_duration: float | None = None,
    max_duration: float | None = None,
    rotate: int = 0,
) -> FixPlan:
    """Decide what to change, from plain media facts.

    ``facts`` keys: container, video_codec, audio_codec (or None), width, height (coded),
    display_width, display_height (after rotation), rotation, duration, fps, and optionally
    bit_depth / pix_fmt / frame_rate_mode (VFR) / scan_type (interlaced). Missing or unknown
    values are left alone rather than guessed.
    ``min_duration``/``max_duration`` override the edition's limits (constraints §3.1/§3.2); a
    ``max_duration`` given alone drops the minimum. Trims end 1 s before the maximum.
    ``rotate`` (degrees clockwise: 90, 180, 270) turns the picture as displayed.
    """
    reasons: list[str] = []
    rotate %= 360
    if rotate not in ROTATIONS:
        raise ValueError(f"rotate must be one of 0, 90, 180, 270 (got {rotate})")
    unfixable: list[str] = []
    lo, hi = duration_limits(edition)
    if max_duration is not None:
        hi = max_duration
        lo = 0.0 if min_duration is None else min_duration
    elif min_duration is not None:
        lo = min_duration

    container = str(facts.get("container") or "").lower()
    if container not in MP4_NAMES:
        reasons.append(f"container is {container or 'unknown'}, not MP4: remux to MP4")

    encode_video = False
    vcodec = str(facts.get("video_codec") or "").lower()
    if vcodec not in COPY_VIDEO_CODECS:
        encode_video = True
        reasons.append(f"video codec {vcodec or 'unknown'} is not H.264/H.265: encode H.264")
    pix_fmt = str(facts.get("pix_fmt") or "")
    if pix_fmt and not pix_fmt.startswith(("yuv420p", "yuvj420p", "nv12", "p010")):
        encode_video = True
        reasons.append(f"pixel format {pix_fmt} is not 4:2:0: encode H.264 yuv420p")

    width = height = None
    dw = _int(facts.get("display_width")) or _int(facts.get("width"))
    dh = _int(facts.get("display_height")) or _int(facts.get("height"))
    encode_video = encode_video or bool(rotate)
    if rotate:
        reasons.append(f"the presenter is not upright: turn the picture {rotate}° clockwise")
        if rotate in (90, 270) and dw and dh:
            dw, dh = dh, dw
    if dw and dh and (dw, dh) not in ALLOWED_SIZES:
        width, height = nearest_size(dw, dh)
        encode_video = True
        reasons.append(f"size {dw}x{dh} is not accepted: scale and pad to {width}x{height}"
                       + (UPSCALE_NOTE.format(short=min(dw, dh)) if min(dw, dh) < 1080 else ""))

    deinterlace = str(facts.get("scan_type") or "").lower() in INTERLACED_SCANS
    if deinterlace:
        encode_video = True
        reasons.append(f"scan is {facts.get('scan_type')}: deinterlace (yadif)")

    fps = None
    rate = _float(facts.get("fps"))
    if rate is not None and rate < MIN_FPS - 0.01:
        fps = TARGET_FPS
        encode_video = True
        reasons.append(f"frame rate {rate:g} fps is below {MIN_FPS:g}: convert to {TARGET_FPS} fps")
    elif str(facts.get("frame_rate_mode") or "").upper() == "VFR":
        fps = TARGET_FPS if rate is None else round(rate)
        encode_video = True
        reasons.append(f"frame rate is variable: convert to a constant {fps} fps")

    trim = None
    duration = _float(facts.get("duration"))
    if duration is not None and duration > hi:
        trim = max(hi - TRIM_MARGIN, lo, hi / 2)
        reasons.append(f"duration {duration:.1f} s is over {hi:g} s: keep the first {trim:g} s")
    elif duration is not None and duration < lo:
        unfixable.append(f"duration {duration:.1f} s is under {lo:g} s: record a longer take")

    acodec = facts.get("audio_codec")
    audio: Action
    if not acodec:
        audio = "none"
    elif str(acodec).lower() in COPY_AUDIO_CODECS:
        audio = "copy"
    else:
        audio = "encode"
        reasons.append(f"audio codec {acodec} is not AAC: encode AAC")

    return FixPlan(
        video="encode" if encode_video else "copy",
        audio=audio,
        width=width,
        height=height,
        trim=trim,
        fps=fps,
        rotate=rotate,
        deinterlace=deinterlace,
        reasons=tuple(reasons),
        unfixable=tuple(unfixable),
    )


def video_filter(plan: FixPlan) -> str | None:
    """The ``-vf`` chain for the plan (deinterlace, rotate, scale + pad keeping aspect, fps),
    or None."""
    filters: list[str] = ["yadif"] if plan.deinterlace else []
    filters += ROTATIONS[plan.rotate]
    if plan.width and plan.height:
        w, h = plan.width, plan.height
        filters += [
            f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2",
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2",
            "setsar=1",
        ]
    if plan.fps:
        filters.append(f"fps={plan.fps}")
    return ",".join(filters) or None


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def ffmpeg_args(
    src: Path,
    dst: Path,
    plan: FixPlan,
    ffmpeg: str = "ffmpeg",
    *,
    overwrite: bool = False,
    progress: bool = False,
) -> list[str]:
    """The ffmpeg argument vector (program first) that turns ``src`` into a conforming ``dst``.

    ``overwrite`` passes ``-y`` (else ``-n``: never replace an existing file);
    ``progress`` adds ``-progress pipe:1 -nostats`` for machine-readable progress.

    :raises PreflightError: ``dst`` is ``src``; the input is never written over.
    """
    if _same_file(Path(src), Path(dst)):
        raise PreflightError(f"output {dst} is the input file; choose another output path")
    args = [ffmpeg, "-hide_banner", "-nostdin", "-y" if overwrite else "-n"]
    if progress:
        args += ["-progress", "pipe:1", "-nostats"]
    args += ["-i", shell.path_arg(src), "-map", "0:v:0"]
    if plan.audio != "none":
        args += ["-map", "0:a:0?"]
    args += ["-dn", "-sn"]
    if plan.trim is not None:
        args += ["-t", f"{plan.trim:g}"]
    vf = video_filter(plan)
    if plan.video == "encode":
        if vf:
            args += ["-vf", vf]
        args += list(X264_ARGS)
    else:
        args += ["-c:v", "copy"]
    if plan.audio == "encode":
        args += list(AAC_ARGS)
    elif plan.audio == "copy":
        args += ["-c:a", "copy"]
    args += ["-movflags", "+faststart", "-f", plan.container, shell.path_arg(dst)]
    return args


def shell_line(args: list[str], sh: shell.Shell | None = None) -> str:
    """The argument vector as one copy-pasteable line for the user's shell (`preflight.shell`)."""
    return shell.join(args, sh)


def fix_command(
    facts: Mapping[str, Any], src: Path, *, edition: str, dst: Path | None = None
) -> str | None:
    """The shell line for a finding's ``fix`` field, or None when nothing needs fixing.

    ``dst`` defaults to ``<stem>.fixed.mp4`` next to the input.
    """
    plan = plan_for(facts, edition=edition)
    if not plan.needed:
        return None
    src = Path(src)
    out = dst if dst is not None else fixed_name(src)
    return shell_line(ffmpeg_args(src, out, plan))


def fixed_name(src: Path) -> Path:
    """The default output of a fix: ``take3.mov`` -> ``take3.fixed.mp4`` next to it."""
    return src.with_name(src.stem + ".fixed.mp4")


def fix_line(src: Path, *, edition: str = "standard", dst: Path | None = None,
             rotate: int = 0, sh: shell.Shell | None = None,
             slot: str = "training_video") -> str:
    """The ``preflight fix`` command line (quoted for the user's shell) that makes ``src``
    conform. A name that starts with ``-`` is written ``./-name`` so it is not read as an
    option."""
    args = ["preflight", "fix", shell.path_arg(src)]
    if edition != "standard":
        args += ["--edition", edition]
    if rotate:
        args += ["--rotate", str(rotate)]
    if slot != "training_video":
        args += ["--slot", slot]
    out = dst if dst is not None else fixed_name(src)
    return shell_line([*args, "-o", shell.path_arg(out)], sh)


#: Rules whose findings the plan repairs (VID007 only when too long: a short take is in
#: `FixPlan.unfixable`). Any other error finding on the take blocks the fix.
REPAIRED = frozenset({"VID003", "VID004", "VID006", "VID007", "VID008", "VID009", "VID010",
                      "PRS002"})
#: Quarter turns PRS002 finds (counter-clockwise as displayed) -> degrees clockwise that
#: make the presenter upright.
UPRIGHT_DEGREES: Mapping[int, int] = {1: 270, 2: 180, 3: 90}
#: File-memo key of PRS002's verdict (quarter turns, or None) for the fix line.
#: The smallest face the upright test looks for, as a share of the displayed height (PRS002's
#: default `min_face`).
UPRIGHT_FLOOR = 0.04


def blockers(plan: FixPlan, findings: Iterable[Finding]) -> tuple[str, ...]:
    """What no fix can repair, first the plan's own (a too-short take), then every error
    finding of a rule the plan does not cover (``PRS001 …: no face``), once per code — and a
    PRS002 whose turn the plan does not make (``--rotate 0`` given)."""
    out = list(plan.unfixable)
    seen: set[str] = set()
    for f in findings:
        if f.severity is not Severity.ERROR or f.code in seen:
            continue
        turn = rotation_of([f]) if f.code == "PRS002" else plan.rotate
        if f.code not in REPAIRED or turn != plan.rotate:
            seen.add(f.code)
            hint = f" (--rotate {turn} turns it upright)" if turn != plan.rotate else ""
            out.append(f"{f.code} {f.name}: {f.message}{hint}")
    return tuple(out)


def rotation_of(findings: Iterable[Finding]) -> int:
    """Degrees clockwise that make the presenter upright, from a PRS002 finding (0: none)."""
    for f in findings:
        if f.code == "PRS002":
            try:
                return int(f.details.get("rotate_degrees_clockwise") or 0)
            except (TypeError, ValueError):
                return 0
    return 0


def finding_fix(ctx: FileContext, details: Mapping[str, Any],
                limits: tuple[float, float] | None = None) -> dict[str, Any]:
    """``fix`` and ``details`` of a VID or PRS finding on a video: the one ``preflight fix``
    line for this file (with ``--rotate`` when the file's one presenter analysis finds the
    presenter sideways, whichever rules are selected, so a finding says the same under
    ``--select``/``--ignore``) and the raw ffmpeg command of the whole plan in
    ``details["ffmpeg"]``. Nothing when no command helps."""
    from preflight.inspect import shared
    from preflight.inspect.face import unavailable

    probe = shared.video_probe(ctx).value
    if probe is None or not probe.video_tracks:
        return {"details": dict(details)}

    def build() -> tuple[str, str] | None:
        turns: int | None = None
        if ctx.slot == "training_video" and unavailable() is None:
            analysis = shared.presenter(ctx, UPRIGHT_FLOOR)
            turns = analysis.turns if analysis is not None and analysis.frames else None
        rotate = UPRIGHT_DEGREES.get(turns or 0, 0)
        lo, hi = limits if limits is not None else (None, None)
        plan = plan_for(probe_facts(probe), edition=ctx.job.edition, min_duration=lo,
                        max_duration=hi, rotate=rotate)
        if not plan.needed:
            return None
        dst = fixed_name(ctx.path)
        return (fix_line(ctx.path, edition=ctx.job.edition, dst=dst, rotate=rotate,
                         slot=ctx.slot),
                shell_line(ffmpeg_args(ctx.path, dst, plan)))

    got = ctx.memo(f"fix-plan:{limits}", build)
    if got is None:
        return {"details": dict(details)}
    return {"fix": got[0], "details": {**details, "ffmpeg": got[1]}}
