"""Audio decoding with PyAV: format, rate, channels, duration and levels (peak, loudest block,
clipped samples). Standalone files are decoded whole (bounded by `max_seconds`); a video's audio
track is measured on evenly spaced windows, never decoded whole."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.errors import ProbeError
from preflight.inspect import reason

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


class _Meter:
    """Accumulates peak, loudest 50 ms block RMS and clipped-sample count."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.loudest = 0.0
        self.clipped = 0
        self.samples = 0
        self.seconds = 0.0

    def add(self, frame: Any) -> None:
        import numpy as np

        data = frame.to_ndarray()
        if data.dtype == np.uint8:
            x = (data.astype(np.float32) - 128.0) / 128.0
        elif data.dtype.kind == "i":
            x = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
        else:
            x = np.nan_to_num(data.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
        if x.size == 0:
            return
        channels = len(frame.layout.channels) or 1
        mono = x.reshape(-1, channels) if not frame.format.is_planar else x.T
        mono = np.abs(mono).max(axis=1) if mono.ndim == 2 else np.abs(mono)
        self.peak = max(self.peak, float(mono.max()))
        self.clipped += int((np.abs(x) >= CLIP_LEVEL).sum())
        self.samples += int(x.size)
        rate = frame.sample_rate or 1
        block = max(1, int(rate * BLOCK_SECONDS))
        n = (mono.size // block) * block
        if n:
            rms = np.sqrt((mono[:n].reshape(-1, block) ** 2).mean(axis=1))
            self.loudest = max(self.loudest, float(rms.max()))
        else:
            self.loudest = max(self.loudest, float(np.sqrt((mono ** 2).mean())))
        self.seconds += frame.samples / rate

    def levels(self) -> Levels:
        return Levels(dbfs(self.peak), dbfs(self.loudest),
                      self.clipped / self.samples if self.samples else 0.0, self.seconds)


def _open(path: Path) -> Any:
    import av

    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise ProbeError(path, f"is not an audio file FFmpeg can read ({reason(exc)})") from None


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
            if meter.samples == 0:
                raise ProbeError(path, f"{fmt} audio cannot be decoded: {reason(exc)}") from None
        if meter.samples == 0:
            raise ProbeError(path, f"{fmt} file contains no audio samples")
        ctx = stream.codec_context
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        if container.duration and not duration:
            duration = container.duration / 1_000_000
        return AudioInfo(
            path=path, format=fmt, codec=str(ctx.name), sample_rate=int(ctx.sample_rate or 0),
            channels=int(ctx.channels or 0), duration=max(duration, meter.seconds),
            levels=meter.levels(),
        )
    finally:
        container.close()


def _windows(duration: float, count: int, seconds: float) -> Iterable[float]:
    if duration <= count * seconds:
        return [0.0]
    return [duration * (i + 0.5) / count - seconds / 2 for i in range(count)]


def video_track_levels(path: Path, duration: float | None, *, count: int = 8,
                       seconds: float = 2.0) -> Levels | None:
    """Levels of a video's first audio track on `count` windows; None when there is no track.

    :raises ProbeError: the file cannot be opened or the track cannot be decoded.
    """
    import av

    container = _open(path)
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        tb = float(stream.time_base or 0) or 1 / 48000
        dur = duration or (container.duration or 0) / 1_000_000
        meter = _Meter()
        for start in _windows(dur, count, seconds):
            got = 0.0
            try:
                if start > 0:
                    container.seek(int(start / tb), stream=stream, backward=True)
                for n, packet in enumerate(container.demux(stream)):
                    if n > 2000:
                        break
                    for frame in packet.decode():
                        meter.add(frame)
                        got += frame.samples / (frame.sample_rate or 1)
                    if got >= seconds and start > 0:
                        break
            except (av.FFmpegError, ValueError):
                continue
        if meter.samples == 0:
            raise ProbeError(path, "the audio track cannot be decoded")
        return meter.levels()
    finally:
        container.close()
