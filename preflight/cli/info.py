"""`preflight info FILE`: what the rules see in one file, as text or JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import click


def _clean(text: str) -> str:
    """A name or value safe to print: control characters and undecodable bytes escaped."""
    out = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in out)


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    exp = min(int(math.log(n, 1000)), 3)
    return f"{n / 1000 ** exp:.1f} {' KMG'[exp]}B ({n} bytes)"


def _mmss(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f} ({seconds:g} s)"


def _wh(pair: Any) -> str | None:
    return f"{pair[0]}x{pair[1]}" if pair and None not in pair else None


def _lines(info: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(section, label, value) rows, MediaInfo-like; empty values are left out."""
    yield "General", "Kind", info["kind"]
    yield "General", "File size", _size(info["file_size"])
    yield "General", "Container", info.get("container")
    yield "General", "Format", info.get("format")
    yield "General", "Brand", info.get("brand")
    yield "General", "Duration", _mmss(info.get("duration"))
    streams = info.get("streams")
    if streams:
        yield "General", "Streams", f"{streams['video']} video, {streams['audio']} audio"
    v = info.get("video")
    if v:
        yield "Video", "Codec", v["codec"]
        yield "Video", "Coded size", _wh(v["coded_size"])
        yield "Video", "Rotation", f"{v['rotation']}°" if v["rotation"] else "none"
        yield "Video", "Displayed size", _wh(v["display_size"])
        yield "Video", "Frame rate", f"{v['fps']:g} fps" if v["fps"] else None
        yield "Video", "Frame rate mode", v["frame_rate_mode"]
        yield "Video", "Scan type", v["scan_type"]
        yield "Video", "Bit depth", v["bit_depth"]
        yield "Video", "Chroma subsampling", v["chroma_subsampling"]
        yield "Video", "HDR", v["hdr_format"] or v["transfer"]
    a = info.get("audio")
    if a:
        yield "Audio", "Codec", a["codec"]
        yield "Audio", "Sample rate", f"{a['sample_rate']} Hz" if a["sample_rate"] else None
        yield "Audio", "Channels", a["channels"]
        yield "Audio", "Peak", f"{a['peak_dbfs']:g} dBFS" if a["peak_dbfs"] is not None else None
        loud = a["loudest_block_dbfs"]
        yield "Audio", "Loudest block", f"{loud:g} dBFS" if loud is not None else None
    elif info["kind"] == "video":
        yield "Audio", "Track", "none"
    f = info.get("frames")
    if f:
        yield "Frames", "Sampled", f["sampled"]
        if f["undecodable_at"]:
            yield "Frames", "Undecodable at", ", ".join(f"{t:g} s" for t in f["undecodable_at"])
        yield "Frames", "Error", f["error"]
    img = info.get("image")
    if img:
        yield "Image", "Format", img["format"]
        yield "Image", "Mode", img["mode"] + (" (alpha)" if img["alpha"] else "")
        yield "Image", "Size", _wh(img["size"])
        yield "Image", "EXIF orientation", img["exif_orientation"]
        yield "Image", "Displayed size", _wh(img["display_size"])
    pdf = info.get("pdf")
    if pdf:
        yield "Document", "PDF version", pdf["version"]
        yield "Document", "Pages", pdf["pages"]
    yield from _face_lines(info)


def _face_lines(info: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    if info["kind"] not in ("video", "image"):
        return
    faces = info.get("faces")
    if faces is None:
        yield "Faces", "Search", info.get("faces_skipped") or "not run"
    elif "frames" in faces:
        yield "Faces", "Frames with a face", f"{faces['frames_with_face']} of {faces['frames']}"
        yield "Faces", "Most in one frame", faces["most_in_one_frame"]
        turn = faces["upright_turn_degrees"]
        if turn:
            yield "Faces", "Upright when turned", f"{turn}° clockwise"
    else:
        yield "Faces", "Found", faces["count"]


def render_text(info: Mapping[str, Any]) -> str:
    """The info as aligned, sectioned text."""
    rows = [(s, k, v) for s, k, v in _lines(info) if v is not None and v != ""]
    width = max(len(k) for _, k, _ in rows)
    out = [_clean(info["path"])]
    section = None
    for s, k, v in rows:
        if s != section:
            out.append(s)
            section = s
        out.append(f"  {k.ljust(width)}  {_clean(str(v))}")
    return "\n".join(out) + "\n"


@click.command("info")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--no-faces", is_flag=True, help="Skip the face search (faster).")
def info_cmd(files: tuple[str, ...], fmt: str, no_faces: bool) -> None:
    """Show what the rules see in FILES: container, streams, displayed size and rotation,
    duration, frame rate, audio, image mode/size/EXIF orientation, PDF pages, and the faces
    found (with the face extra). A file that cannot be read exits 2 with the reason.

    \b
    preflight info take.mov
    preflight info id_front.jpg --format json
    """
    from preflight.workflows.info import describe, faces_available

    skipped = "skipped (--no-faces)" if no_faces else faces_available()
    results = []
    for name in files:
        info = describe(name, faces=not no_faces)
        if info.get("faces") is None and skipped:
            info["faces_skipped"] = skipped
        results.append(info)
        if fmt == "text":
            click.echo(render_text(info) + ("\n" if len(files) > 1 else ""), nl=False)
    if fmt == "json":
        data: Any = results[0] if len(results) == 1 else results
        click.echo(json.dumps(data, indent=2, ensure_ascii=True, allow_nan=False))
