"""Per-file memo helpers: one probe, one frame sampling and one audio measurement per file,
shared by every rule. A failure is memoised too (as the `ProbeError`), so it is reported once by
the family's gate and the other rules simply skip the file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from preflight.errors import ProbeError

if TYPE_CHECKING:
    from preflight.inspect.audio import AudioInfo, Levels
    from preflight.inspect.frames import FrameSample
    from preflight.inspect.image import ImageInfo, PdfInfo
    from preflight.inspect.probe import VideoProbe

T = TypeVar("T")


class FileContext(Protocol):
    """What the helpers need of their caller: the file, and a per-file memo."""

    @property
    def path(self) -> Path:
        """The file."""

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute once per file and share."""


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A computed value or the `ProbeError` that prevented it."""

    value: T | None
    error: ProbeError | None = None


def _not_regular(ctx: FileContext) -> str | None:
    """Why the file must not be opened at all (a FIFO or device would block or never end)."""
    import stat

    try:
        st = ctx.path.stat()
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_size == 0:
        return "is empty (0 bytes)"
    return None


def memo(ctx: FileContext, key: str, fn: Callable[[], T]) -> Outcome[T]:
    """Compute once per file; failures become an `Outcome` carrying the error."""

    def run() -> Outcome[T]:
        problem = _not_regular(ctx)
        if problem:
            return Outcome(None, ProbeError(ctx.path, problem))
        try:
            return Outcome(fn())
        except ProbeError as exc:
            return Outcome(None, exc)
        except (MemoryError, RecursionError) as exc:
            return Outcome(None, ProbeError(ctx.path,
                                            f"cannot be inspected: {type(exc).__name__}"))
        except Exception as exc:  # bad media must never escape as a traceback
            return Outcome(None, ProbeError(ctx.path, f"cannot be inspected: {exc}"))

    return ctx.memo(key, run)


def video_probe(ctx: FileContext) -> Outcome[VideoProbe]:
    """The pymediainfo probe of this file."""
    from preflight.inspect.probe import probe_video

    return memo(ctx, "probe", lambda: probe_video(ctx.path))


def _refuse_huge_frames(ctx: FileContext, probe: VideoProbe | None) -> None:
    """Judge the frame size from the container header (pymediainfo) before FFmpeg opens the
    file at all: opening it probes the streams by decoding their first frames.

    :raises ProbeError: frames larger than `MAX_FRAME_PIXELS`.
    """
    from preflight.inspect.frames import check_frame_size

    if probe is not None:
        check_frame_size(ctx.path, probe.width, probe.height)


def video_frames(ctx: FileContext, count: int = 8, max_side: int = 320) -> Outcome[FrameSample]:
    """The sampled frames of this file (the first call's count/size win).

    The audio-track levels are measured through the same open container and memoised too.
    """
    from preflight.inspect.audio import video_track_levels
    from preflight.inspect.frames import open_video, sample_frames

    def run() -> FrameSample:
        probe = video_probe(ctx).value
        duration = probe.duration if probe is not None else None
        _refuse_huge_frames(ctx, probe)
        container = open_video(ctx.path, header_checked=True)
        try:
            sample = sample_frames(ctx.path, count=count, max_side=max_side, duration=duration,
                                   container=container)
            if probe is not None and probe.audio_tracks:
                memo(ctx, "video-audio", lambda: video_track_levels(
                    ctx.path, duration, container=container))
        finally:
            container.close()
        return sample

    return memo(ctx, "frames", run)


def video_audio(ctx: FileContext) -> Outcome[Levels | None]:
    """Levels of the video's audio track (None when it has none)."""
    from preflight.inspect.audio import video_track_levels

    def run() -> Levels | None:
        probe = video_probe(ctx).value
        _refuse_huge_frames(ctx, probe)
        return video_track_levels(ctx.path, probe.duration if probe else None)

    return memo(ctx, "video-audio", run)


def audio_file(ctx: FileContext) -> Outcome[AudioInfo]:
    """The decoded standalone audio file."""
    from preflight.inspect.audio import analyse_audio_file

    return memo(ctx, "audio", lambda: analyse_audio_file(ctx.path))


def image_file(ctx: FileContext, max_pixels: int,
               allow_pdf: bool = False) -> Outcome[ImageInfo | PdfInfo]:
    """The decoded image, or the checked PDF where a PDF is allowed (the grant letter)."""
    from preflight.inspect.image import inspect_image, inspect_pdf, is_pdf

    def run() -> ImageInfo | PdfInfo:
        if allow_pdf and is_pdf(ctx.path):
            return inspect_pdf(ctx.path)
        return inspect_image(ctx.path, max_pixels=max_pixels)

    return memo(ctx, "image", run)



def _usable_frames(ctx: FileContext) -> FrameSample | None:
    """The sampled frames of a video with a video track that is not cut short, else None."""
    probe = video_probe(ctx).value
    if probe is None or not probe.video_tracks or probe.truncated:
        return None
    return video_frames(ctx).value


def green_results(ctx: FileContext, opts: Any) -> Any:
    """Per-frame green measurements for this file with these colour options (None if no frames)."""
    from preflight.inspect.green import Params

    return _green(ctx, Params.from_options(opts))


def _green(ctx: FileContext, params: Any) -> Any:
    """The green measurements of the sampled frames with `params`, made once per file."""
    from preflight.inspect.green import analyse

    frames = _usable_frames(ctx)
    if frames is None:
        return None

    def run() -> Any:
        got = analyse(frames.frames, params)
        _green_done(ctx)[params] = got
        return got

    return ctx.memo(f"green:{params}", run)


def _green_done(ctx: FileContext) -> dict[Any, Any]:
    """The green measurements made so far for this file, by their `Params`."""
    done: dict[Any, Any] = ctx.memo("green-done", dict)
    return done


def subject_regions(ctx: FileContext, count: int) -> list[Any] | None:
    """Where each sampled frame is not chroma green (the subject's box; an empty box when the
    frame is all green), measured with the default key colours — the same measurement the GRN
    rules make with their defaults, made here when they have not (so the presenter rules see
    the same regions whichever rules run); None without usable frames."""
    from preflight.inspect.green import Params

    frames = _usable_frames(ctx)
    res = _green(ctx, Params()) if frames is not None else None
    if res is None or len(res) != count:
        return None
    return [r.subject_box if r.subject_box is not None else (0, 0, 0, 0) for r in res]


def presenter(ctx: FileContext, min_face: float) -> Any:
    """The presenter analysis of this video (`preflight.inspect.presenter.Presenter`), made
    once per file and face floor and shared by every presenter rule, or None when the video
    has no usable frames."""
    from preflight.inspect.face import note
    from preflight.inspect.presenter import analyse

    frames = _usable_frames(ctx)
    if frames is None:
        return None

    def run() -> Any:
        got = analyse(frames.frames, subject_regions(ctx, len(frames.frames)), min_face)
        note(ctx.path, faces=got.frames, orientation=got.turns, floor=got.floor)
        return got

    return ctx.memo(f"presenter:{min_face}", run)


def presenter_height(ctx: FileContext, min_face: float) -> float | None:
    """The presenter's face height share measured at every scale
    (`preflight.inspect.presenter.measured_share`), once per file and face floor."""
    from preflight.inspect.presenter import measured_share

    p = presenter(ctx, min_face)
    frames = _usable_frames(ctx)
    if p is None or frames is None:
        return None
    got: float | None = ctx.memo(f"presenter-height:{min_face}",
                                 lambda: measured_share(frames.frames, p))
    return got


def video_frame_at(ctx: FileContext, seconds: float, max_side: int) -> Any:
    """One more frame of this video near `seconds`, as displayed (a `Frame`, or None)."""
    from preflight.inspect.frames import sample_frames

    probe = video_probe(ctx).value
    if probe is None or not probe.duration:
        return None
    dur = float(probe.duration)
    # sample_frames takes the middle of [0, duration/count]: aim that middle at `seconds`
    # (within the video; the span may pass its end, only its middle is sought).
    span = 2 * min(dur, max(0.01, seconds))
    got = memo(ctx, f"frame:{round(seconds, 2)}:{max_side}", lambda: sample_frames(
        ctx.path, count=1, max_side=max_side, duration=span, collect=False))
    return got.value.frames[0] if got.value is not None else None


def video_quiet(ctx: FileContext, quiet_dbfs: float, coarse: float, fine: float) -> Any:
    """The longest quiet run of the video's audio track (`QuietRun`), None without a track."""
    from preflight.inspect.audio import longest_quiet

    def run() -> Any:
        probe = video_probe(ctx).value
        return longest_quiet(ctx.path, probe.duration if probe else None,
                             quiet_dbfs=quiet_dbfs, coarse=coarse, fine=fine)

    return memo(ctx, f"quiet:{quiet_dbfs}:{coarse}:{fine}", run)


def photo(ctx: FileContext, max_pixels: int) -> Outcome[Any]:
    """The image as displayed, RGB, at most 1280 px (for face detection)."""
    from preflight.inspect.face import shared_photo

    return memo(ctx, "photo", lambda: shared_photo(ctx.path, max_pixels))


def photo_faces(ctx: FileContext, max_pixels: int, upsample: int) -> Any:
    """Faces in the image (a tuple of `Box`), or None when it cannot be decoded."""
    from preflight.inspect.face import photo_faces as search

    if photo(ctx, max_pixels).value is None:
        return None
    return ctx.memo(f"photo-faces:{upsample}",
                    lambda: search(ctx.path, max_pixels, upsample)[1])
