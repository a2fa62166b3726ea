"""VID rules: the training and action videos — container, codec, size, duration, frame rate,
scan, dynamic range and audio track (constraints §3.1–§3.3). One header probe (pymediainfo) and one
frame sampling (PyAV) per file are shared by all rules through the file memo."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from preflight import metastudio
from preflight.inspect import shared
from preflight.model import Severity
from preflight.rules.base import Fact, FileContext, Option, Options, file_rule
from preflight.rules.gates import lfs_gate, readable_gate

if TYPE_CHECKING:
    from preflight.inspect.probe import VideoProbe

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
VIDEO_SLOTS = ("training_video", "action_video")
HDR_TRANSFERS = ("PQ", "HLG", "SMPTE ST 2084", "ARIB STD-B67", "BT.2100")


def mmss(seconds: float) -> str:
    """Seconds as m:ss (or m:ss.s when not whole)."""
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f}" if abs(s - round(s)) > 0.05 else f"{int(m)}:{round(s):02d}"


def _probe(ctx: FileContext) -> VideoProbe | None:
    """The probe, or None when the gate (VID002) has reported why there is none."""
    p = shared.video_probe(ctx).value
    return p if p is not None and p.video_tracks else None


def _fix(ctx: FileContext, details: dict[str, Any], opts: Options | None = None
         ) -> dict[str, Any]:
    """``fix`` and ``details`` of a finding: the one fix plan of this video
    (`preflight.rules.conform.finding_fix`)."""
    from preflight.rules.conform import finding_fix

    limits = None
    if opts is not None and "min_seconds" in opts:
        limits = (float(opts["min_seconds"]), float(opts["max_seconds"]))
    return finding_fix(ctx, details, limits)


def _name(ctx: FileContext) -> str:
    return f"{ctx.slot} {ctx.path.name}"


@file_rule("VID002", "video-parse", E,
           "The video can be parsed and decoded (not truncated, not another kind of file).",
           "§3.1", slots=VIDEO_SLOTS, gate=True, options={
               "frames": Option(8, "How many frames to sample, evenly spaced over the video."),
               "max_side": Option(320, "Sampled frames are scaled to at most this many pixels."),
           })
def video_parse(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The file must be a complete, decodable video: the header is read with MediaInfo, then
    `frames` key frames spread over the whole duration are decoded with FFmpeg (PyAV). A zero-byte,
    truncated, corrupt or non-video file (say, a text file named .mp4) stops here with the reason,
    and the other VID and GRN rules skip it."""
    got = shared.video_probe(ctx)
    if got.error is not None or got.value is None:
        detail = got.error.detail if got.error else "cannot be parsed"
        yield Fact(f"{_name(ctx)} {detail}", details={"problem": detail})
        return
    probe = got.value
    if probe.truncated:
        yield Fact(
            f"{_name(ctx)} is truncated: the file ends before the data its header announces "
            f"({probe.file_size} bytes); copy or export it again",
            details={"problem": "truncated", "size": probe.file_size})
        return
    if not probe.video_tracks:
        what = f" ({probe.general_format} data)" if probe.general_format else ""
        yield Fact(f"{_name(ctx)} has no video track{what}",
                   details={"problem": "no video track", "format": probe.general_format})
        return
    frames = shared.video_frames(ctx, int(opts["frames"]), int(opts["max_side"]))
    if frames.error is not None or frames.value is None:
        detail = frames.error.detail if frames.error else "no frame decodes"
        yield Fact(f"{_name(ctx)} cannot be decoded: {detail}", details={"problem": detail})
        return
    if frames.value.failed:
        at = ", ".join(mmss(t) for t in frames.value.failed)
        yield Fact(f"{_name(ctx)} is corrupt: no frame decodes near {at}",
                   details={"problem": "undecodable frames", "at": list(frames.value.failed)})


@file_rule("VID003", "video-container", E,
           "The video is really an MP4 (read from the file's brand, not its name).", "§3.1",
           slots=VIDEO_SLOTS)
def video_container(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The API accepts MP4 only. The container is read from the file itself (the `ftyp` brand of
    an ISO file, or the format signature), so a QuickTime MOV or a Matroska file renamed to
    `.mp4` is caught; the fix remuxes without re-encoding when the codecs allow it."""
    p = _probe(ctx)
    if p is None or p.container == "mp4":
        return
    label = {"mov": "a QuickTime MOV", "matroska": "a Matroska (MKV)", "webm": "a WebM",
             "avi": "an AVI"}.get(p.container, f"a {p.general_format}")
    brand = f" (brand {p.brand!r})" if p.brand and p.container == "mov" else ""
    named = f", although named {ctx.path.suffix}" if ctx.path.suffix.lower() == ".mp4" else ""
    yield Fact(f"{_name(ctx)} is {label} file{brand}{named}; the API accepts MP4 only",
               **_fix(ctx, {"container": p.container, "brand": p.brand}))


@file_rule("VID004", "video-codec", E, "The video codec is H.264 or H.265.", "§3.1",
           slots=VIDEO_SLOTS, inferred=True)
def video_codec(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The source asks for a "mainstream codec that plays in the Windows built-in player"
    (vendor camera codecs fail the review) and says H.265 is accepted; reading "mainstream" as
    H.264/H.265 is ours. ProRes, DNxHD, MJPEG... are reported; the fix re-encodes to H.264."""
    p = _probe(ctx)
    if p is None or p.video_codec in ("h264", "hevc"):
        return
    yield Fact(f"{_name(ctx)} video codec is {p.video_format or 'unknown'}; use H.264 (or H.265)",
               **_fix(ctx, {"codec": p.video_codec}))


@file_rule("VID005", "video-hevc-preview", INFO,
           "H.265 is accepted, but the console preview may not play it.", "§3.1",
           slots=VIDEO_SLOTS)
def video_hevc(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """H.265 passes the review, but the MetaStudio console preview fails in browsers on PCs
    without HEVC hardware decoding; H.264 plays everywhere."""
    p = _probe(ctx)
    if p is not None and p.video_codec == "hevc":
        yield Fact(f"{_name(ctx)} is H.265: accepted, but the console preview may not play it")


@file_rule("VID006", "video-resolution", E,
           "The displayed size is exactly 1920x1080, 1080x1920, 3840x2160 or 2160x3840.",
           "§3.1, §7.2", slots=VIDEO_SLOTS, options={
               "sizes": Option(list(metastudio.ALLOWED_SIZE_NAMES),
                               "Accepted display sizes (WIDTHxHEIGHT)."),
           })
def video_resolution(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The automatic review accepts exactly four frame sizes (error 44005901); "≥1080P" in the
    console text is looser than the check. The size is taken *as displayed*: a 1920x1080 stream
    with 90° rotation metadata is a 1080x1920 portrait video and passes. A display matrix
    that is not a quarter turn (45°, 315°...) has no upright frame size at all: players show
    it tilted or ignore it, so it fails too."""
    p = _probe(ctx)
    if p is None or not p.display_width or not p.display_height:
        return
    if p.rotation % 90:
        yield Fact(f"{_name(ctx)} has a display matrix that turns it {p.rotation}° (not a "
                   "quarter turn): it is shown tilted, or the turn is ignored; re-encode it "
                   "upright without rotation metadata",
                   details={"rotation": p.rotation, "width": p.width, "height": p.height})
        return
    size = f"{p.display_width}x{p.display_height}"
    if size in list(opts["sizes"]):
        return
    rot = f" (coded {p.width}x{p.height}, rotated {p.rotation}°)" if p.rotation else ""
    yield Fact(f"{_name(ctx)} is {size}{rot}; the review accepts only "
               f"{', '.join(opts['sizes'])}",
               **_fix(ctx, {"width": p.display_width, "height": p.display_height}))


@file_rule("VID007", "video-duration", E,
           "The duration is within the edition's limits (standard 3:00–10:00).",
           "§3.1, §3.2", slots=VIDEO_SLOTS, options={
               "min_seconds": Option(180.0, "Shortest accepted duration in seconds (inclusive)."),
               "max_seconds": Option(600.0, "Longest accepted duration in seconds (inclusive)."),
           })
def video_duration(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Standard edition: at least 3 and at most 10 minutes, else the audit fails (§3.1);
    Flexus: 1–5 minutes (§3.2, set in the flexus pack). Too long is fixed by trimming; too
    short needs a new take."""
    p = _probe(ctx)
    if p is None or p.duration is None:
        return
    lo, hi = float(opts["min_seconds"]), float(opts["max_seconds"])
    d = p.duration
    if d < lo - 0.05:
        yield Fact(f"{_name(ctx)} lasts {mmss(d)}, shorter than {mmss(lo)} (limits "
                   f"{mmss(lo)}–{mmss(hi)}); record a longer take", details={"duration": d})
    elif d > hi + 0.05:
        yield Fact(f"{_name(ctx)} lasts {mmss(d)}, longer than {mmss(hi)} (limits "
                   f"{mmss(lo)}–{mmss(hi)})", **_fix(ctx, {"duration": d}, opts))


@file_rule("VID015", "flexus-duration-api-floor", W,
           "A Flexus take under 3:00 meets the Flexus guide but not the API's generic 3–10 min.",
           "§3.2, §3.1, §7.3", slots=("training_video",), options={
               "api_min_seconds": Option(180.0, "The API text's shortest video in seconds."),
           })
def flexus_duration_floor(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The Flexus guide asks for a 1–5 min real-scene video (§3.2), while the create API's
    generic text says the training video must last 3–10 min "otherwise the audit fails"
    (§3.1). The sources contradict each other: VID007 keeps the Flexus 1–5 min limit, and this
    warning says that a take under 3:00 risks the review if the generic text is enforced.
    Off outside the Flexus editions."""
    p = _probe(ctx)
    if p is None or p.duration is None:
        return
    floor = float(opts["api_min_seconds"])
    if p.duration < floor - 0.05:
        yield Fact(
            f"{_name(ctx)} lasts {mmss(p.duration)}: the Flexus guide accepts 1–5 min "
            f"(\"1~5 minutes real-scene video\"), but the API text says the video must last "
            f"\"≥ 3 min and ≤ 10 min, otherwise the audit fails\"; a take of "
            f"{mmss(floor)}–5:00 satisfies both", details={"duration": p.duration})


@file_rule("VID008", "video-frame-rate", W, "The frame rate is at least 25 fps.", "§3.1",
           slots=VIDEO_SLOTS, options={
               "min_fps": Option(25.0, "Lowest frame rate without a warning."),
           })
def video_frame_rate(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The shooting guide asks for "4K/25fps or above"; generated avatar videos are 25 fps."""
    p = _probe(ctx)
    if p is None or p.fps is None:
        return
    if p.fps < float(opts["min_fps"]) - 0.01:
        yield Fact(f"{_name(ctx)} is {p.fps:g} fps; shoot at {float(opts['min_fps']):g} fps "
                   "or more", **_fix(ctx, {"fps": p.fps}))


@file_rule("VID009", "video-variable-frame-rate", INFO,
           "The video has a constant frame rate.", "§3.1", slots=VIDEO_SLOTS, inferred=True)
def video_vfr(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Phones often record variable frame rate; training expects steady timing (inferred from
    the fixed-rate shooting spec)."""
    p = _probe(ctx)
    if p is not None and (p.frame_rate_mode or "").upper() == "VFR":
        yield Fact(f"{_name(ctx)} has a variable frame rate",
                   **_fix(ctx, {"frame_rate_mode": p.frame_rate_mode}))


@file_rule("VID010", "video-interlaced", W, "The video is progressive, not interlaced.",
           "§3.1", slots=VIDEO_SLOTS, inferred=True)
def video_interlaced(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Interlaced footage (broadcast cameras) shows combing on motion and is not the
    documented shooting spec; deinterlace it."""
    p = _probe(ctx)
    if p is not None and (p.scan_type or "").lower() in ("interlaced", "mbaff", "paff"):
        yield Fact(f"{_name(ctx)} is interlaced ({p.scan_type})",
                   **_fix(ctx, {"scan_type": p.scan_type}))


@file_rule("VID011", "video-hdr", W, "The video is SDR 8-bit (not HDR or 10-bit).", "§3.1",
           slots=VIDEO_SLOTS, inferred=True)
def video_hdr(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Phones record HDR (HLG/PQ, 10-bit) by default; the shooting spec is standard SDR video,
    and HDR footage looks washed out when treated as SDR."""
    p = _probe(ctx)
    if p is None:
        return
    reasons = []
    if p.hdr_format:
        reasons.append(f"HDR format {p.hdr_format}")
    if p.transfer and any(t in p.transfer for t in HDR_TRANSFERS):
        reasons.append(f"transfer {p.transfer}")
    if p.bit_depth and p.bit_depth > 8:
        reasons.append(f"{p.bit_depth}-bit")
    if reasons:
        yield Fact(f"{_name(ctx)} is not SDR 8-bit ({', '.join(reasons)}); shoot SDR",
                   details={"bit_depth": p.bit_depth, "hdr": p.hdr_format})


def _voice_from_video(ctx: FileContext) -> bool:
    src = ctx.job.body.get("audio_source_type", "VIDEO")
    return (ctx.slot == "training_video" and src == "VIDEO"
            and not ctx.job.flag("is_only_human_model"))


@file_rule("VID012", "video-audio-track", E,
           "When the voice comes from the video (audio_source_type VIDEO), it has an audio track.",
           "§1.2, §3.1", slots=("training_video",), inferred=True)
def video_audio_track(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """With `audio_source_type = "VIDEO"` (or omitted) the voice is extracted from the training
    video, which therefore needs its sound."""
    p = _probe(ctx)
    if p is not None and _voice_from_video(ctx) and not p.audio_tracks:
        yield Fact(f"{_name(ctx)} has no audio track, but the voice is taken from the video "
                   '(audio_source_type VIDEO); keep the sound or use audio_source_type = "AUDIO"')


@file_rule("VID013", "video-audio-silent", E,
           "The video's audio track is not silent when the voice comes from the video.",
           "§1.2, §3.1", slots=("training_video",), inferred=True, options={
               "silence_dbfs": Option(-50.0, "Loudest 50 ms block below this (dBFS) = silent."),
           })
def video_audio_silent(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """An audio track of digital silence (a muted recording) gives nothing to train a voice on.
    Levels are measured on 8 windows of 0.5 s spread over the video."""
    p = _probe(ctx)
    if p is None or not p.audio_tracks or not _voice_from_video(ctx):
        return
    got = shared.video_audio(ctx)
    lv = got.value
    if got.error is not None:
        yield Fact(f"{_name(ctx)} audio track cannot be decoded: {got.error.detail}")
    elif lv is not None and lv.loudest_block_dbfs < float(opts["silence_dbfs"]):
        yield Fact(f"{_name(ctx)} audio track is silent (loudest {lv.loudest_block_dbfs:.0f} "
                   f"dBFS in {lv.seconds_measured:.0f} s measured)",
                   details={"loudest_dbfs": lv.loudest_block_dbfs})


@file_rule("VID014", "video-audio-clipping", W, "The video's audio track does not clip.",
           "§3.1", slots=("training_video",), inferred=True, options={
               "max_clipped": Option(0.001, "Largest share of samples at full scale."),
           })
def video_audio_clipping(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Clipped (distorted) speech degrades the cloned voice; lower the recording gain."""
    p = _probe(ctx)
    if p is None or not p.audio_tracks or not _voice_from_video(ctx):
        return
    lv = shared.video_audio(ctx).value
    if lv is not None and lv.clipped_fraction > float(opts["max_clipped"]):
        yield Fact(f"{_name(ctx)} audio clips: {lv.clipped_fraction:.2%} of samples at full "
                   "scale", details={"clipped_fraction": lv.clipped_fraction})


video_readable = readable_gate(
    "VID001", "video-file-readable",
    "The video file exists, is a regular file, readable and not empty.", "§3.1", "VID")
video_lfs = lfs_gate(
    "VID090", "video-lfs-pointer",
    "The video is a Git LFS pointer, not the media: reported, not checked.", "§3.1", "VID")

RULES = (video_readable, video_lfs, video_parse, video_container, video_codec, video_hevc,
         video_resolution,
         video_duration, flexus_duration_floor, video_frame_rate, video_vfr, video_interlaced,
         video_hdr,
         video_audio_track, video_audio_silent, video_audio_clipping)
