"""Audio decoding with PyAV: format, rate, channels, duration and levels (peak, loudest block,
clipped samples). Standalone files are decoded whole (bounded by `max_seconds`); a video's audio
track is measured on evenly spaced windows, never decoded whole."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.errors import ProbeError
from preflight.inspect import reason
from preflight.safeio import open_regular

#: Container format names (FFmpeg demuxers) accepted as WAV or MP3.
AUDIO_FORMATS = {"wav": "WAV", "mp3": "MP3"}
BLOCK_SECONDS = 0.05
CLIP_LEVEL = 0.999


@dataclass(frozen=True)
class Levels:
    """Levels measured on decoded samples (all channels); dBFS values are ≤ 0."""

    peak_dbfs: float
    loudest_block_dbfs: float
    clipped_fraction: float
    seconds_measured: float


@dataclass(frozen=True)
class AudioInfo:
    """A decoded audio file."""

    path: Path
    format: str
    codec: str
    sample_rate: int
    channels: int
    duration: float
    levels: Levels


def dbfs(x: float) -> float:
    """Amplitude (0..1) as dBFS, floored at -120."""
    return 20 * math.log10(x) if x > 1e-6 else -120.0


def _samples(frame: Any) -> Any:
    """A decoded audio frame as float32 (channels, samples) in -1..1; None when empty."""
    import numpy as np

    data = frame.to_ndarray()
    if data.size == 0:
        return None
    if data.dtype == np.uint8:
        x = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype.kind == "i":
        x = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
    else:
        x = data.astype(np.float32, copy=False)
    channels = len(frame.layout.channels) or 1
    return x.reshape(channels, -1) if frame.format.is_planar else x.reshape(-1, channels).T


def _loudest_block(mono: Any, rate: int) -> float:
    """RMS of the loudest `BLOCK_SECONDS` block of per-sample peaks `mono` at `rate` (of the
    whole stretch when it is shorter than one block)."""
    import numpy as np

    block = max(1, int(rate * BLOCK_SECONDS))
    n = (mono.size // block) * block
    if not n:
        return float(np.sqrt((mono ** 2).mean()))
    return float(np.sqrt((mono[:n].reshape(-1, block) ** 2).mean(axis=1)).max())


class _Loudest:
    """Only the loudest block of the frames fed, each stretch at one sample rate apart (as
    `_Meter` measures it, without its running totals): what the silent-run search needs for
    every window."""

    def __init__(self) -> None:
        self._stretches: list[tuple[int, list[Any]]] = []

    def add(self, frame: Any) -> None:
        """Keep one decoded frame."""
        x = _samples(frame)
        if x is None:
            return
        rate = frame.sample_rate or 1
        if not self._stretches or self._stretches[-1][0] != rate:
            self._stretches.append((rate, []))
        self._stretches[-1][1].append(x)

    def dbfs(self) -> float | None:
        """The loudest block in dBFS; None when nothing was fed."""
        import numpy as np

        if not self._stretches:
            return None
        levels = []
        for rate, parts in self._stretches:
            x = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
            levels.append(_loudest_block(np.abs(np.nan_to_num(x, nan=0.0)).max(axis=0), rate))
        return dbfs(max(levels))


class _Meter:
    """Accumulates peak, loudest 50 ms block RMS and clipped-sample count.

    Decoded frames are buffered and measured in chunks of about a million samples, so the
    per-frame cost stays low and memory stays bounded.
    """

    CHUNK = 1 << 20

    def __init__(self) -> None:
        self.peak = 0.0
        self.loudest = 0.0
        self.clipped = 0
        self.samples = 0
        self.seconds = 0.0
        self._buf: list[Any] = []
        self._buffered = 0
        self._rate = 0

    def add(self, frame: Any) -> None:
        """Buffer one decoded frame (as per-sample peak over channels, in -1..1 units)."""
        x = _samples(frame)
        if x is None:
            return
        rate = frame.sample_rate or 1
        if rate != self._rate:
            self.flush()
            self._rate = rate
        self._buf.append(x)
        self._buffered += x.size
        self.seconds += frame.samples / rate
        if self._buffered >= self.CHUNK:
            self.flush()

    def flush(self) -> None:
        """Measure the buffered samples."""
        import numpy as np

        if not self._buf:
            return
        x = np.abs(np.nan_to_num(np.concatenate(self._buf, axis=1), nan=0.0))
        self._buf, self._buffered = [], 0
        self.clipped += int((x >= CLIP_LEVEL).sum())
        self.samples += int(x.size)
        mono = x.max(axis=0)
        self.peak = max(self.peak, float(mono.max()))
        self.loudest = max(self.loudest, _loudest_block(mono, self._rate or 1))

    def levels(self) -> Levels:
        """The measurements so far."""
        self.flush()
        return Levels(dbfs(self.peak), dbfs(self.loudest),
                      self.clipped / self.samples if self.samples else 0.0, self.seconds)


def _open(path: Path, *, audio_only: bool = False) -> Any:
    """Open with PyAV. `audio_only`: FFmpeg's stream probe decodes no video frame (a 4K frame
    costs more than the audio windows read later) and reads only the header when that
    describes the audio track (MP4/MOV do; other containers are probed as usual), and the
    demuxer skips every other stream's packets instead of reading them (a 60 Mb/s track holds
    megabytes around each window)."""
    import av

    def opened(options: dict[str, str] | None) -> Any:
        try:
            return av.open(str(path), mode="r", metadata_errors="ignore", options=options)
        except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
            raise ProbeError(path, f"is not an audio file FFmpeg can read ({reason(exc)})") \
                from None

    if not audio_only:
        return opened(None)
    # skip_frame only reaches the probe's own decoders; the audio decoders ignore it.
    container = opened({"skip_frame": "all", "probesize": "32", "analyzeduration": "0"})
    audio = container.streams.audio
    if not audio or not audio[0].codec_context.sample_rate:
        container.close()
        container = opened({"skip_frame": "all"})
    keep = container.streams.audio[0] if container.streams.audio else None
    for stream in container.streams:
        if stream is not keep:
            stream.discard = av.stream.Discard.all
    return container


def analyse_audio_file(path: Path, *, max_seconds: float = 1800.0) -> AudioInfo:
    """Decode a standalone WAV/MP3 file and measure it.

    :raises ProbeError: not WAV/MP3, no audio stream, or undecodable.
    """
    import av

    container = _open(path)
    try:
        fmt_names = set(container.format.name.split(","))
        fmt = next((AUDIO_FORMATS[n] for n in fmt_names if n in AUDIO_FORMATS), None)
        if fmt is None:
            raise ProbeError(path, f"is not WAV or MP3 (detected format: {container.format.name})")
        if not container.streams.audio:
            raise ProbeError(path, f"{fmt} file without an audio stream")
        stream = container.streams.audio[0]
        meter = _Meter()
        try:
            for frame in container.decode(stream):
                meter.add(frame)
                if meter.seconds > max_seconds:
                    break
        except (av.FFmpegError, ValueError) as exc:
            meter.flush()
            if meter.samples == 0:
                raise ProbeError(path, f"{fmt} audio cannot be decoded: {reason(exc)}") from None
        meter.flush()
        if meter.samples == 0:
            raise ProbeError(path, f"{fmt} file contains no audio samples")
        ctx = stream.codec_context
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        if container.duration and not duration:
            duration = container.duration / 1_000_000
        if fmt == "WAV":
            short = wav_shortfall(path)
            if short is not None:
                said, present = short
                raise ProbeError(path, f"WAV is truncated: its header says {said:.1f} s but only "
                                 f"{present:.1f} s of samples are present")
        return AudioInfo(
            path=path, format=fmt, codec=str(ctx.name), sample_rate=int(ctx.sample_rate or 0),
            channels=int(ctx.channels or 0), duration=max(duration, meter.seconds),
            levels=meter.levels(),
        )
    finally:
        container.close()


def wav_shortfall(path: Path) -> tuple[float, float] | None:
    """(seconds the header's ``data`` chunk announces, seconds present) when a RIFF/WAVE file
    holds fewer bytes than its header says (FFmpeg silently clamps to the file size); None
    when complete, streamed (size 0 or 0xFFFFFFFF) or not parseable."""
    import struct

    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if fh.read(12)[8:12] != b"WAVE":
            return None
        byte_rate, pos = 0, 12
        for _ in range(64):  # chunks before "data"; a real file has two or three
            fh.seek(pos)
            head = fh.read(8)
            if len(head) < 8:
                return None
            kind, length = head[:4], struct.unpack("<I", head[4:])[0]
            if kind == b"fmt ":
                fmt = fh.read(16)
                if len(fmt) < 12:
                    return None
                byte_rate = struct.unpack("<I", fmt[8:12])[0]
            elif kind == b"data":
                present = size - pos - 8
                if not byte_rate or length in (0, 0xFFFFFFFF) or length <= present:
                    return None
                if (length - present) / byte_rate < 0.1:
                    return None  # a few samples short: not worth a finding
                return length / byte_rate, present / byte_rate
            pos += 8 + length + (length & 1)
    return None


def _windows(duration: float, count: int, seconds: float) -> Iterable[float]:
    if duration <= count * seconds:
        return [0.0]
    return [duration * (i + 0.5) / count - seconds / 2 for i in range(count)]


def video_track_levels(path: Path, duration: float | None, *, count: int = 8,
                       seconds: float = 0.5, container: Any = None) -> Levels | None:
    """Levels of a video's first audio track on `count` windows of `seconds`; None without one.

    `container` is an already open PyAV container of `path` (left open).

    :raises ProbeError: the file cannot be opened or the track cannot be decoded.
    """

    own = container is None
    if own:
        container = _open(path)
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        dur = duration or (container.duration or 0) / 1_000_000
        meter = _Meter()
        for start in _windows(dur, count, seconds):
            # the first window reads on to the packet cap: the track's start is measured whole
            if _feed_window(container, stream, meter, start, seconds, max_packets=2000,
                            stop_when_full=start > 0):
                meter.flush()
        if meter.samples == 0:
            raise ProbeError(path, "the audio track cannot be decoded")
        return meter.levels()
    finally:
        if own:
            container.close()


@dataclass(frozen=True)
class QuietRun:
    """The longest stretch found where the audio stays below the speech threshold."""

    start: float
    end: float
    #: Spacing of the measurements that bound it (the run is known to about this much).
    resolution: float

    @property
    def seconds(self) -> float:
        """Length of the run."""
        return max(0.0, self.end - self.start)


def _feed_window(container: Any, stream: Any, meter: _Meter | _Loudest, start: float,
                 seconds: float, *, max_packets: int, stop_when_full: bool = True) -> bool:
    """Seek to `start` and feed `meter` about `seconds` of audio (at most `max_packets`
    packets; with `stop_when_full` off, up to the cap). False when FFmpeg cannot decode there."""
    import av

    tb = float(stream.time_base or 0) or 1 / 48000
    got = 0.0
    try:
        container.seek(max(0, int(start / tb)), stream=stream, backward=True)
        for n, packet in enumerate(container.demux(stream)):
            if n > max_packets:
                break
            for frame in packet.decode():
                meter.add(frame)
                got += frame.samples / (frame.sample_rate or 1)
            if got >= seconds and stop_when_full:
                break
    except (av.FFmpegError, ValueError):
        return False
    return True


def _window_dbfs(container: Any, stream: Any, start: float, seconds: float) -> float | None:
    """Loudest 50 ms block (dBFS) of `seconds` of audio from `start`; None if undecodable."""
    loudest = _Loudest()
    if not _feed_window(container, stream, loudest, start, seconds, max_packets=400):
        return None
    return loudest.dbfs()


def longest_quiet(path: Path, duration: float | None, *, quiet_dbfs: float, coarse: float,
                  fine: float = 1.0, window: float = 0.1, refine: int = 3) -> QuietRun | None:
    """The longest run where nobody speaks in a video's audio track (None without one).

    Short windows are measured every `coarse` seconds (a run of 2 x `coarse` always holds two
    quiet ones), then the `refine` longest quiet stretches are measured again every `fine`
    seconds between the loud windows around them. Never decodes the whole track.

    :raises ProbeError: the file cannot be opened, or no window of the track decodes.
    """
    container = _open(path, audio_only=True)
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        dur = duration or (container.duration or 0) / 1_000_000
        if dur <= 0:
            raise ProbeError(path, "has no known duration")
        coarse, fine = max(coarse, 0.5), max(min(fine, coarse), 0.1)

        def quiet_at(times: list[float]) -> list[bool | None]:
            out: list[bool | None] = []
            for t in times:
                level = _window_dbfs(container, stream, t, window)
                out.append(None if level is None else level < quiet_dbfs)
            return out

        grid = [t * coarse for t in range(int(max(0.0, dur - window) // coarse) + 1)]
        flags = quiet_at(grid)
        if all(f is None for f in flags):
            raise ProbeError(path, "the audio track cannot be decoded")
        runs = _runs(grid, flags)
        best = QuietRun(0.0, 0.0, coarse)
        for first, last in sorted(runs, key=lambda r: r[0] - r[1])[:refine]:
            lo = grid[first - 1] if first > 0 else 0.0
            hi = grid[last + 1] if last + 1 < len(grid) else dur
            n = int((hi - lo) // fine)
            times = [lo + i * fine for i in range(n + 1) if lo + i * fine <= dur - window]
            sub = _runs(times, quiet_at(times))
            for a, b in sub:
                start = times[a] if a > 0 else (lo if first > 0 else 0.0)
                end = min(dur, times[b] + fine) if b + 1 < len(times) else \
                    (hi if last + 1 < len(grid) else dur)
                if end - start > best.seconds:
                    best = QuietRun(start, end, fine)
        return best
    finally:
        container.close()


def _runs(times: list[float], flags: list[bool | None]) -> list[tuple[int, int]]:
    """Index ranges (first, last) of consecutive quiet measurements."""
    out: list[tuple[int, int]] = []
    start = None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - 1))
            start = None
    return out
