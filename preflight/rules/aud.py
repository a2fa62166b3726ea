"""AUD rules: the audio files zipped for `audio_upload_url` (constraints §3.4). Each file is decoded
once with PyAV and shared by all rules through the file memo."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from preflight.inspect import shared
from preflight.model import Severity
from preflight.rules.base import Fact, FileContext, Option, Options, file_rule
from preflight.rules.gates import lfs_gate, readable_gate

if TYPE_CHECKING:
    from preflight.inspect.audio import AudioInfo

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
AUDIO_SLOTS = ("audio",)


def _info(ctx: FileContext) -> AudioInfo | None:
    return shared.audio_file(ctx).value


def _mmss(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


@file_rule("AUD002", "audio-decode", E, "Each audio file is a WAV or MP3 that decodes.",
           "§3.4", slots=AUDIO_SLOTS, gate=True)
def audio_decode(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The corpus is WAV or MP3 (§3.4). The format is read from the file's content, so a video,
    a text file or an image renamed `.wav` is caught, and the file is decoded to the end, so a
    truncated or corrupt one is too."""
    got = shared.audio_file(ctx)
    if got.error is not None:
        yield Fact(f"{ctx.slot} {ctx.path.name} {got.error.detail}",
                   details={"problem": got.error.detail})


@file_rule("AUD003", "audio-duration", E, "Each audio file lasts 1–5 minutes.", "§3.4",
           slots=AUDIO_SLOTS, options={
               "min_seconds": Option(60.0, "Shortest accepted file in seconds (inclusive)."),
               "max_seconds": Option(300.0, "Longest accepted file in seconds (inclusive)."),
           })
def audio_duration(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The Flexus console asks for one segment of 1–5 minutes (1 minute recommended). The
    standard edition documents no limit, so its pack lowers this to a warning."""
    info = _info(ctx)
    if info is None:
        return
    lo, hi = float(opts["min_seconds"]), float(opts["max_seconds"])
    if info.duration < lo - 0.05 or info.duration > hi + 0.05:
        yield Fact(f"{ctx.path.name} lasts {_mmss(info.duration)}; each audio file must last "
                   f"{_mmss(lo)}–{_mmss(hi)}", details={"duration": info.duration})


@file_rule("AUD004", "audio-silent", E, "The audio file is not silent.", "§3.4",
           slots=AUDIO_SLOTS, options={
               "silence_dbfs": Option(-50.0, "Loudest 50 ms block below this (dBFS) = silent."),
           })
def audio_silent(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """A silent file (a muted or failed recording) trains no voice."""
    info = _info(ctx)
    if info is not None and info.levels.loudest_block_dbfs < float(opts["silence_dbfs"]):
        yield Fact(f"{ctx.path.name} is silent (loudest 50 ms: "
                   f"{info.levels.loudest_block_dbfs:.0f} dBFS)",
                   details={"loudest_dbfs": info.levels.loudest_block_dbfs})


@file_rule("AUD005", "audio-clipping", W, "The audio does not clip.", "§3.4", slots=AUDIO_SLOTS,
           inferred=True, options={
               "max_clipped": Option(0.001, "Largest share of samples at full scale."),
           })
def audio_clipping(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Clipped (distorted) speech degrades the cloned voice; record with lower gain."""
    info = _info(ctx)
    if info is not None and info.levels.clipped_fraction > float(opts["max_clipped"]):
        yield Fact(f"{ctx.path.name} clips: {info.levels.clipped_fraction:.2%} of samples at "
                   "full scale", details={"clipped_fraction": info.levels.clipped_fraction})


@file_rule("AUD006", "audio-sample-rate", INFO, "The audio is sampled at 16 kHz or more.", "§3.4",
           slots=AUDIO_SLOTS, inferred=True, options={
               "min_rate": Option(16000, "Lowest sample rate (Hz) without a note."),
           })
def audio_rate(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """No rate is documented for this upload; related voice-modelling docs ask for 48 kHz
    16-bit mono. Below 16 kHz speech loses the detail a voice model needs."""
    info = _info(ctx)
    if info is not None and info.sample_rate < int(opts["min_rate"]):
        yield Fact(f"{ctx.path.name} is {info.format} {info.sample_rate} Hz, "
                   f"{info.channels} channel(s); 48 kHz is recommended",
                   details={"sample_rate": info.sample_rate, "channels": info.channels})


audio_readable = readable_gate(
    "AUD001", "audio-file-readable",
    "Each audio file exists, is a regular file, readable and not empty.", "§3.4", "AUD")
audio_lfs = lfs_gate(
    "AUD090", "audio-lfs-pointer",
    "The audio file is a Git LFS pointer, not the media: reported, not checked.", "§3.4", "AUD")

RULES = (audio_readable, audio_lfs, audio_decode, audio_duration, audio_silent, audio_clipping,
         audio_rate)
