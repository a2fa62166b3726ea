"""What the rules see in one file, as plain JSON-ready data (`preflight info`).

    >>> info = describe("take.mov")
    >>> info["kind"], info["video"]["display_size"], info["duration"]
    ('video', [1080, 1920], 187.4)

The facts come from the same readers and the same per-file memo the rules use
(`preflight.inspect.shared`): the MediaInfo header of a video (container, streams, coded and
displayed size, rotation, frame rate and its mode, scan type, HDR), the levels of its audio
track, the sampled frames, and — with the ``face`` extra — the faces found in them and the turn
that makes a sideways presenter upright; the decoded image (format, mode, size, EXIF
orientation, faces); the PDF's page count; the decoded audio file. The kind is judged from the
content, not the name.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType
from typing import Any

from preflight.errors import PreflightError, ProbeError
from preflight.inspect import shared
from preflight.inspect.image import MAX_PIXELS, ImageInfo, PdfInfo, is_pdf
from preflight.rules.base import FileContext, JobContext
from preflight.rules.conform import UPRIGHT_FLOOR
from preflight.safeio import kind_problem
from preflight.spec import JobSpec

#: Face detection as the PRS rules run it by default (frames doubled once; photos as they are).
PHOTO_UPSAMPLE = 0
#: Quarter turns (counter-clockwise as shown) -> degrees clockwise that make it upright.
_UPRIGHT = {1: 270, 2: 180, 3: 90}


def _context(path: Path, slot: str) -> FileContext:
    job = JobContext(JobSpec(job=MappingProxyType({})), "standard", False, [(slot, path)])
    return FileContext(job, path, slot)


def faces_available() -> str | None:
    """None when the ``face`` extra can find faces, else why it cannot."""
    from preflight.inspect.face import unavailable

    return unavailable()


def _looks_like_image(path: Path) -> bool:
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a huge image is judged by the image reader
            with Image.open(path) as img:
                return bool(img.format)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return False


def describe(path: str | Path, *, faces: bool = True) -> dict[str, Any]:
    """The facts of one file. ``faces`` looks for faces when the ``face`` extra is installed
    (``faces`` is then ``None`` in the result when it is not).

    :raises PreflightError: no such file, a folder, or not a regular file (FIFO, device).
    :raises ProbeError: the file is empty or not a video, audio, image or PDF.
    """
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise PreflightError(f"{p}: no such file or folder")
    if p.is_dir():
        raise PreflightError(f"{p}: is a folder; give one file (preflight check reads folders)")
    problem = kind_problem(p)
    if problem:
        raise PreflightError(f"{p}: {problem}")
    size = p.stat().st_size
    if size == 0:
        raise ProbeError(p, "is empty (0 bytes)")
    # A name that is not UTF-8 is shown with its bytes escaped (valid JSON for any parser).
    shown = os.fsencode(p).decode("utf-8", "backslashreplace")
    base: dict[str, Any] = {"path": shown, "file_size": size}
    if is_pdf(p):
        return {**base, **_document(p)}
    if _looks_like_image(p):
        return {**base, **_image(p, faces)}
    return {**base, **_media(p, faces)}


def _document(path: Path) -> dict[str, Any]:
    got = shared.image_file(_context(path, "grant_file"), MAX_PIXELS, allow_pdf=True)
    if got.error is not None or not isinstance(got.value, PdfInfo):
        raise ProbeError(path, got.error.detail if got.error else "is not a readable PDF")
    return {"kind": "pdf", "pdf": {"version": got.value.version, "pages": got.value.pages}}


def _image(path: Path, faces: bool) -> dict[str, Any]:
    ctx = _context(path, "id_card_front")
    got = shared.image_file(ctx, MAX_PIXELS)
    if got.error is not None or not isinstance(got.value, ImageInfo):
        raise ProbeError(path, got.error.detail if got.error else "is not a readable image")
    img = got.value
    out: dict[str, Any] = {"kind": "image", "image": {
        "format": img.format, "mode": img.mode, "size": [img.width, img.height],
        "exif_orientation": img.exif_orientation, "display_size": list(img.display_size),
        "alpha": img.has_alpha}}
    out["faces"] = None
    if faces and faces_available() is None:
        boxes = shared.photo_faces(ctx, MAX_PIXELS, PHOTO_UPSAMPLE)
        out["faces"] = {"count": len(boxes or ()),
                        "boxes": [b.as_list() for b in boxes or ()]}
    return out


def _media(path: Path, faces: bool) -> dict[str, Any]:
    ctx = _context(path, "training_video")
    got = shared.video_probe(ctx)
    probe = got.value
    if got.error is not None or probe is None:
        detail = got.error.detail if got.error else "cannot be parsed"
        raise ProbeError(path, detail.replace(
            "is not a video file", "is not a video, audio, image or PDF file", 1))
    if probe.truncated:
        raise ProbeError(path, f"is truncated: the file ends before the data its header "
                               f"announces ({probe.file_size} bytes)")
    if not probe.video_tracks and not probe.audio_tracks:
        what = f" ({probe.general_format} data)" if probe.general_format else ""
        raise ProbeError(path, f"is not a video, audio, image or PDF file{what}")
    out: dict[str, Any] = {
        "kind": "video" if probe.video_tracks else "audio",
        "container": probe.container, "format": probe.general_format, "brand": probe.brand,
        "duration": probe.duration, "streams": {"video": probe.video_tracks,
                                                "audio": probe.audio_tracks}}
    if not probe.video_tracks:
        return {**out, **_audio_file(path)}
    out["video"] = {
        "codec": probe.video_codec, "format": probe.video_format,
        "coded_size": [probe.width, probe.height], "rotation": probe.rotation,
        "display_size": [probe.display_width, probe.display_height], "fps": probe.fps,
        "frame_rate_mode": probe.frame_rate_mode, "scan_type": probe.scan_type,
        "bit_depth": probe.bit_depth, "chroma_subsampling": probe.chroma_subsampling,
        "hdr_format": probe.hdr_format, "transfer": probe.transfer}
    out["audio"] = None
    if probe.audio_tracks:
        levels = shared.video_audio(ctx).value
        out["audio"] = {"codec": probe.audio_codec, "sample_rate": probe.audio_sample_rate,
                        "channels": probe.audio_channels,
                        "peak_dbfs": _round(levels.peak_dbfs) if levels else None,
                        "loudest_block_dbfs":
                            _round(levels.loudest_block_dbfs) if levels else None}
    frames = shared.video_frames(ctx)
    sample = frames.value
    out["frames"] = {"sampled": len(sample.frames) if sample else 0,
                     "undecodable_at": list(sample.failed) if sample else [],
                     "error": frames.error.detail if frames.error else None}
    out["faces"] = None
    if faces and faces_available() is None and sample is not None and sample.frames:
        # The presenter analysis the PRS rules read (faces from `UPRIGHT_FLOOR` of the height).
        analysis = shared.presenter(ctx, UPRIGHT_FLOOR)
        found = analysis.frames if analysis is not None else ()
        turns = analysis.turns if analysis is not None else None
        out["faces"] = {
            "frames_with_face": sum(1 for f in found if f.boxes), "frames": len(found),
            "presenter_frames": len(analysis.shown()) if analysis is not None else 0,
            "most_in_one_frame": max((len(f.boxes) for f in found), default=0),
            "smallest_face_looked_for": round(analysis.floor, 3) if analysis else None,
            "upright_turn_degrees": _UPRIGHT.get(turns or 0, 0) if turns else None}
    return out


def _audio_file(path: Path) -> dict[str, Any]:
    got = shared.audio_file(_context(path, "audio"))
    a = got.value
    if got.error is not None or a is None:
        raise ProbeError(path, got.error.detail if got.error else "cannot be decoded")
    return {"duration": _round(a.duration), "audio": {
        "codec": a.codec, "sample_rate": a.sample_rate, "channels": a.channels,
        "peak_dbfs": _round(a.levels.peak_dbfs),
        "loudest_block_dbfs": _round(a.levels.loudest_block_dbfs),
        "clipped_fraction": a.levels.clipped_fraction}}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
