"""Frame sampling with PyAV: seek to K evenly spaced key frames, decode each once, scale down.

Never decodes the whole file: each sample is one seek plus the decode of the key frame found
there (with a packet budget, so a corrupt file cannot make it spin).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.errors import ProbeError
from preflight.inspect import reason

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

DEFAULT_COUNT = 8
DEFAULT_MAX_SIDE = 320
#: Packets read after one seek before giving up on that sample.
PACKET_BUDGET = 400


@dataclass(frozen=True)
class Frame:
    """One sampled frame: its time in seconds and RGB pixels as displayed (rotation applied)."""

    time: float
    rgb: npt.NDArray[np.uint8]
    #: The same frame's brightness (Y plane) as displayed, at up to `DETAIL_SIDE` pixels: the
    #: presenter checks look for small faces in it (None when not kept).
    luma: npt.NDArray[np.uint8] | None = None


@dataclass(frozen=True)
class FrameSample:
    """The frames sampled from one video and the positions that could not be decoded."""

    path: Path
    frames: tuple[Frame, ...]
    failed: tuple[float, ...] = ()
    errors: tuple[str, ...] = field(default=())


_collector: contextvars.ContextVar[dict[Path, FrameSample] | None] = contextvars.ContextVar(
    "preflight_frame_collector", default=None
)


@contextlib.contextmanager
def collecting() -> Iterator[dict[Path, FrameSample]]:
    """Record every `FrameSample` made inside the block (used to draw contact sheets)."""
    seen: dict[Path, FrameSample] = {}
    token = _collector.set(seen)
    try:
        yield seen
    finally:
        _collector.reset(token)


def _scaled_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(w, h, 1))
    return max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)


#: Longest side of the brightness kept per sampled frame for the face search: a face of 4 %
#: of a 1080-line frame is 43 px there.
DETAIL_SIDE = 2048
_Y_FIRST = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12",
            "nv21", "gray", "yuv411p", "yuv440p")


def _luma(frame: Any) -> npt.NDArray[np.uint8]:
    """The decoded frame's brightness at up to `DETAIL_SIDE` pixels: the Y plane as decoded
    (no conversion) for 8-bit YUV, else converted; halved (2x2 means) while too large."""
    import numpy as np

    w, h = int(frame.width), int(frame.height)
    y = None
    if frame.format.name in _Y_FIRST:
        plane = frame.planes[0]
        rows = plane.buffer_size // max(1, plane.line_size)
        if rows >= h and plane.line_size >= w:
            y = np.frombuffer(plane, np.uint8)[:rows * plane.line_size].reshape(
                rows, plane.line_size)[:h, :w]
    if y is None:  # 10-bit, RGB, paletted, an unusual layout: one conversion
        y = frame.reformat(format="gray").to_ndarray()
    while max(y.shape) > DETAIL_SIDE:
        y = y[:y.shape[0] // 2 * 2, :y.shape[1] // 2 * 2].astype(np.uint16)
        y = ((y[0::2, 0::2] + y[1::2, 0::2] + y[0::2, 1::2] + y[1::2, 1::2] + 2) // 4)
    return np.array(y, dtype=np.uint8)  # a copy: the decoder reuses its buffers


def _decode_at(container: Any, stream: Any, target: float, max_side: int) -> Any:
    """Seek to the key frame at or before `target` seconds and decode one frame."""
    import numpy as np

    tb = float(stream.time_base)
    start = float(stream.start_time or 0) * tb
    container.seek(int((start + target) / tb), stream=stream, backward=True, any_frame=False)
    for n, packet in enumerate(container.demux(stream)):
        if n > PACKET_BUDGET:
            break
        for frame in packet.decode():
            w, h = _scaled_size(frame.width, frame.height, max_side)
            rgb = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
            luma = _luma(frame)
            rot = int(getattr(frame, "rotation", 0) or 0) % 360
            if rot:
                rgb = np.ascontiguousarray(np.rot90(rgb, k=rot // 90))
                luma = np.ascontiguousarray(np.rot90(luma, k=rot // 90))
            t = float(frame.time) - start if frame.time is not None else target
            return Frame(time=max(0.0, t), rgb=rgb, luma=luma)
    return None


#: Frames above DCI 8K (8192x4320) are never decoded: the size is judged from the header alone,
#: and one such frame (10-bit 4:4:4) costs gigabytes to decode.
MAX_FRAME_PIXELS = 8192 * 4320


def check_frame_size(path: Path, width: int | None, height: int | None) -> None:
    """Refuse frames larger than 8K before anything decodes them.

    :raises ProbeError: ``width x height`` over `MAX_FRAME_PIXELS`.
    """
    if width and height and width * height > MAX_FRAME_PIXELS:
        raise ProbeError(path, f"frames of {width}x{height} are larger than 8K "
                         f"({MAX_FRAME_PIXELS:,} pixels); not decoded")


def open_video(path: Path, *, header_checked: bool = False) -> Any:
    """Open a media file with PyAV (the caller closes it).

    FFmpeg's stream probe decodes the first frames, so the frame size is read from the
    container header (pymediainfo) first, unless the caller did that (`header_checked`).

    :raises ProbeError: frames over 8K, or FFmpeg cannot open it.
    """
    import av

    if not header_checked:
        from preflight.inspect.probe import probe_video

        try:
            header = probe_video(path)
        except ProbeError:
            header = None  # FFmpeg says below what the file is
        if header is not None:
            check_frame_size(path, header.width, header.height)
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise ProbeError(path, f"cannot be opened as video: {reason(exc)}") from None


def sample_frames(path: Path, *, count: int = DEFAULT_COUNT, max_side: int = DEFAULT_MAX_SIDE,
                  duration: float | None = None, container: Any = None,
                  collect: bool = True) -> FrameSample:
    """Decode `count` frames spread evenly over the video, scaled to ≤ `max_side` pixels.

    `container` is an already open PyAV container of `path` (left open), else the file is
    opened and closed here. `collect=False` keeps the sample off a contact sheet's record
    (one extra frame looked at by a rule).

    :raises ProbeError: the file cannot be opened by FFmpeg, has no video stream, or not a
        single frame decodes.
    """
    import av

    count, max_side = max(1, count), max(16, max_side)
    own = container is None
    if own:
        container = open_video(path)
    frames: list[Frame] = []
    failed: list[float] = []
    errors: list[str] = []
    try:
        if not container.streams.video:
            raise ProbeError(path, "has no video stream")
        stream = container.streams.video[0]
        check_frame_size(path, stream.codec_context.width, stream.codec_context.height)
        stream.thread_type = "SLICE"
        if duration is None or duration <= 0:
            duration = (container.duration or 0) / 1_000_000 or None
        if not duration:
            raise ProbeError(path, "has no known duration")
        for i in range(count):
            target = duration * (i + 0.5) / count
            try:
                got = _decode_at(container, stream, target, max_side)
            except (av.FFmpegError, OSError, ValueError, IndexError, RuntimeError) as exc:
                got = None
                errors.append(reason(exc))
            if got is None:
                failed.append(target)
            else:
                frames.append(got)
    finally:
        if own:
            container.close()
    if not frames:
        why = f": {errors[0]}" if errors else ""
        raise ProbeError(path, f"no video frame could be decoded{why}")
    sample = FrameSample(path, tuple(frames), tuple(failed), tuple(errors))
    seen = _collector.get() if collect else None
    if seen is not None:
        seen[path] = sample
    return sample

