"""Container and stream facts from pymediainfo, read from the header without scanning the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.errors import ProbeError
from preflight.safeio import open_regular

#: MediaInfo video format -> short codec name (ffmpeg spelling).
_CODECS = {
    "AVC": "h264", "HEVC": "hevc", "MPEG-4 Visual": "mpeg4", "ProRes": "prores", "VP8": "vp8",
    "VP9": "vp9", "AV1": "av1", "MPEG Video": "mpeg2video", "DV": "dvvideo", "JPEG": "mjpeg",
    "VC-1": "vc1", "FFV1": "ffv1", "DNxHD": "dnxhd", "Motion JPEG": "mjpeg",
}
_AUDIO_CODECS = {"AAC": "aac", "MPEG Audio": "mp3", "PCM": "pcm", "AC-3": "ac3", "E-AC-3": "eac3",
                 "Opus": "opus", "Vorbis": "vorbis", "FLAC": "flac", "ALAC": "alac"}
#: Read just the header (the `moov` box of an MP4, wherever it is), never the whole file.
PARSE_SPEED = 0.0


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value).split(" ")[0].split("/")[0])
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    n = _num(value)
    return int(n) if n is not None else None


def container_name(general_format: str | None, profile: str | None, brand: str | None) -> str:
    """Short container name: mp4, mov, matroska, webm, avi, ... from MediaInfo's General track."""
    fmt = (general_format or "").strip()
    if fmt in ("MPEG-4", "QuickTime"):
        b = (brand or "").strip().lower()
        if fmt == "QuickTime" or (profile or "").strip() == "QuickTime" or b == "qt":
            return "mov"
        return "mp4"
    return {"Matroska": "matroska", "WebM": "webm", "AVI": "avi", "Flash Video": "flv",
            "MPEG-TS": "mpegts", "BDAV": "mpegts", "Windows Media": "asf",
            "MPEG-PS": "mpeg"}.get(fmt, fmt.lower() or "unknown")


@dataclass(frozen=True)
class VideoProbe:
    """What the header of a video file says. Sizes are coded; `display_*` apply rotation."""

    path: Path
    file_size: int
    general_format: str
    container: str
    brand: str | None
    truncated: bool
    video_tracks: int
    audio_tracks: int
    video_format: str | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    rotation: int = 0
    duration: float | None = None
    fps: float | None = None
    frame_rate_mode: str | None = None
    scan_type: str | None = None
    bit_depth: int | None = None
    hdr_format: str | None = None
    transfer: str | None = None
    color_primaries: str | None = None
    chroma_subsampling: str | None = None
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None

    @property
    def display_width(self) -> int | None:
        """Width as shown (after the rotation metadata)."""
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int | None:
        """Height as shown (after the rotation metadata)."""
        return self.width if self.rotation in (90, 270) else self.height

    def facts(self) -> dict[str, Any]:
        """Plain facts for the fix-command builder and for finding details."""
        pix = None
        if self.chroma_subsampling == "4:2:0":
            pix = "yuv420p" if (self.bit_depth or 8) <= 8 else f"yuv420p{self.bit_depth}le"
        return {
            "container": self.container, "video_codec": self.video_codec,
            "audio_codec": self.audio_codec, "width": self.width, "height": self.height,
            "display_width": self.display_width, "display_height": self.display_height,
            "rotation": self.rotation, "duration": self.duration, "fps": self.fps,
            "pix_fmt": pix, "bit_depth": self.bit_depth,
        }


def _plain_name(path: Path) -> bool:
    """Whether libmediainfo can open `path` by name (a name that is not valid UTF-8 comes
    back from the file system as surrogate escapes, which it cannot)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _mediainfo(path: Path) -> Any:
    from pymediainfo import MediaInfo

    try:
        if _plain_name(path):
            return MediaInfo.parse(path, parse_speed=PARSE_SPEED, encoding_errors="replace")
        with open_regular(path) as fh:  # read through a descriptor: the name is not needed
            return MediaInfo.parse(fh, parse_speed=PARSE_SPEED, encoding_errors="replace")
    except (OSError, RuntimeError, ValueError) as exc:
        raise ProbeError(path, f"cannot be parsed as media: {exc}") from None


def probe_video(path: Path) -> VideoProbe:
    """Probe a video file's header.

    :raises ProbeError: not a media file MediaInfo recognises.
    """
    mi = _mediainfo(path)
    general = mi.general_tracks[0] if mi.general_tracks else None
    if general is None or not general.format:
        raise ProbeError(path, "is not a video file (no known container format found)")
    videos, audios = mi.video_tracks, mi.audio_tracks
    brand = general.codec_id
    base: dict[str, Any] = {
        "path": path, "file_size": _int(general.file_size) or path.stat().st_size,
        "general_format": str(general.format),
        "container": container_name(general.format, general.format_profile, brand),
        "brand": str(brand).strip() if brand else None,
        "truncated": str(general.istruncated or "").lower() == "yes",
        "video_tracks": len(videos), "audio_tracks": len(audios),
        "duration": (_num(general.duration) or 0) / 1000 or None,
    }
    if videos:
        v = videos[0]
        rot = _num(v.rotation) or 0.0
        duration = _num(v.duration)
        base.update(
            video_format=v.format,
            video_codec=_CODECS.get(v.format or "", (v.format or "").lower()),
            width=_int(v.width), height=_int(v.height), rotation=round(rot) % 360,
            fps=_num(v.frame_rate), frame_rate_mode=v.frame_rate_mode, scan_type=v.scan_type,
            bit_depth=_int(v.bit_depth), hdr_format=v.hdr_format,
            transfer=v.transfer_characteristics, color_primaries=v.color_primaries,
            chroma_subsampling=v.chroma_subsampling,
        )
        if duration:
            base["duration"] = duration / 1000
    if audios:
        a = audios[0]
        base.update(audio_codec=_AUDIO_CODECS.get(a.format or "", (a.format or "").lower()),
                    audio_sample_rate=_int(a.sampling_rate), audio_channels=_int(a.channel_s))
    return VideoProbe(**base)
