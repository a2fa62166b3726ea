"""Build video, audio and image variants on the fly (cached per session).

Videos come from FFmpeg's lavfi sources through the imageio-ffmpeg binary: a 1 s clip is encoded
at the wanted size with a fast preset, then looped with stream copy up to the duration, so a
10-minute variant costs about as much as a 1-second one.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

BACKGROUNDS = {
    "green": "0x00B140", "lime": "0x22C940", "blue": "0x0047BB", "black": "0x101010",
    "office": "0xC8B89A",
}


def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True)


def _scene(w: int, h: int, background: str, subject: str) -> str:
    """A lavfi filter chain drawing the background and a presenter-like subject."""
    bg = BACKGROUNDS.get(background, background)
    chain = [f"color=c={bg}:s={w}x{h}:r={{fps}}"]
    draw: list[str] = []
    if background == "office":
        draw += [f"drawbox=x=0:y={h * 2 // 3}:w={w}:h={h // 3}:c=0x6B4A2E:t=fill",
                 f"drawbox=x={w // 12}:y={h // 10}:w={w // 4}:h={h // 4}:c=0xD8E4EC:t=fill",
                 f"drawbox=x={w * 3 // 4}:y={h // 8}:w={w // 8}:h={h // 2}:c=0x707070:t=fill"]
    if background == "partial":
        chain = [f"color=c=0xC8B89A:s={w}x{h}:r={{fps}}"]
        draw += [f"drawbox=x=0:y=0:w={w * 3 // 5}:h={h}:c=0x00B140:t=fill"]
    if background == "shadow":
        chain = [f"color=c=0x00B140:s={w}x{h}:r={{fps}}"]
        draw += [f"drawbox=x=0:y=0:w={w // 3}:h={h}:c=0x004A18:t=fill"]
    if subject != "none":
        scale = 0.25 if subject == "tiny" else 1.0
        bw, bh = int(w * 0.5 * scale), int(h * 0.45 * scale)
        hx, hw, hh = int(w * 0.5 - w * 0.12 * scale), int(w * 0.24 * scale), int(h * 0.2 * scale)
        top = 0 if subject == "touching" else int(h * (0.35 if scale == 1 else 0.75))
        shirt = "0x1FA83C" if subject == "green-shirt" else "0x2B3A55"
        draw += [
            f"drawbox=x={(w - bw) // 2}:y={top + hh}:w={bw}:h={h - top - hh if scale == 1 else bh}"
            f":c={shirt}:t=fill",
            f"drawbox=x={hx}:y={top}:w={hw}:h={hh}:c=0xE0AC8A:t=fill",
        ]
    return ",".join(chain + draw)


def shared_dir(tmp_path_factory: Any, name: str) -> Path:
    """A folder for media every test of this run may share: under pytest-xdist, one for all
    workers (the run's common temp folder), so each file is made once per run, not once per
    worker and module."""
    import os

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return Path(root) / f"shared-{name}"


_T = TypeVar("_T")


def built_once(fn: Callable[..., _T]) -> Callable[..., _T]:
    """A builder of `CachedMedia`, run under the folder's lock: another process (a pytest-xdist
    worker) sharing the folder waits, then finds the file made, never half written."""

    @functools.wraps(fn)
    def run(self: CachedMedia, *args: Any, **kw: Any) -> _T:
        with self.lock:
            return fn(self, *args, **kw)

    return run


class CachedMedia:
    """Media made into `root` once per set of parameters (reused by later calls, also by other
    processes sharing `root`)."""

    def __init__(self, root: Path):
        from filelock import FileLock

        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(root / ".build.lock")  # re-entrant: builders may call builders

    def _path(self, kind: str, params: dict[str, Any], suffix: str) -> tuple[Path, bool]:
        key = hashlib.sha1(json.dumps([kind, params], sort_keys=True).encode()).hexdigest()[:12]
        p = self.root / f"{kind}-{key}{suffix}"
        return p, p.exists()


class MediaFactory(CachedMedia):
    """Makes media files into `root`, reusing earlier ones with the same parameters."""

    @built_once
    def video(self, *, width: int = 1080, height: int = 1920, seconds: float = 2.0,
              fps: float = 25, rotation: int = 0, codec: str = "h264", container: str = "mp4",
              suffix: str | None = None, background: str = "green", subject: str = "presenter",
              audio: str | None = "tone", pix_fmt: str = "yuv420p", interlaced: bool = False,
              hdr: bool = False, vfr: bool = False) -> Path:
        """A video; `seconds` whole or not, `audio` tone | silent | clipped | None."""
        params = dict(locals())
        params.pop("self")
        ext = suffix or {"matroska": ".mkv", "mov": ".mov"}.get(container, f".{container}")
        out, ok = self._path("video", params, ext)
        if ok:
            return out
        clip_s = 1.0
        clip, have = self._path("clip", {k: v for k, v in params.items()
                                         if k not in ("seconds", "suffix")}, ".nut")
        aclip = clip.with_suffix(".a.nut")
        if not have:
            # A rotated video is drawn upright at its display size, then stored turned the
            # other way (as a phone does), with rotation metadata that turns it back.
            turned = rotation in (90, 270)
            dw, dh = (height, width) if turned else (width, height)
            src = _scene(dw, dh, background, subject).format(fps=fps)
            turn = {90: ",transpose=clock", 180: ",hflip,vflip", 270: ",transpose=cclock"}
            args = ["-f", "lavfi", "-i", f"{src}{turn.get(rotation, '')},format={pix_fmt}"]
            amap: list[str] = []
            if audio:
                expr = {"tone": "0.3*sin(2*PI*220*t)*(0.55+0.45*sin(2*PI*3*t))",
                        "silent": "0", "clipped": "1.0*sgn(sin(2*PI*200*t))"}[audio]
                args += ["-f", "lavfi", "-i", f"aevalsrc={expr}:s=48000:c=mono"]
                amap = ["-map", "1:a", "-c:a", "aac", "-b:a", "96k", "-t", str(clip_s), str(aclip)]
            vf: list[str] = []
            if vfr:
                vf = ["-vf", "select='not(eq(mod(n\\,3)\\,1))'", "-fps_mode", "vfr"]
            venc = {"h264": ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(int(fps)),
                             "-crf", "30"],
                    "hevc": ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                             "log-level=error", "-crf", "32"],
                    "mpeg4": ["-c:v", "mpeg4", "-q:v", "8"],
                    "prores": ["-c:v", "prores_ks", "-profile:v", "0"]}[codec]
            x264 = []
            if interlaced:
                venc += ["-flags", "+ildct+ilme"]
                x264.append("tff=1")
            if hdr:
                x264.append("colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc")
            if x264:
                venc += ["-x264-params", ":".join(x264)]
            # Video and audio go to separate clips so that each loops without gaps.
            run_ffmpeg(*args, "-map", "0:v", *vf, *venc, "-t", str(clip_s), str(clip), *amap)
        loops = max(0, int(-(-seconds // clip_s)) - 1)
        ain = ["-stream_loop", str(loops), "-i", str(aclip)] if audio else []
        amaps = ["-map", "1:a"] if audio else []
        pre = ["-display_rotation", str(rotation)] if rotation else []
        fmt = {"mp4": "mp4", "mov": "mov", "matroska": "matroska"}[container]
        extra = ["-movflags", "+faststart"] if fmt in ("mp4", "mov") else []
        if fmt == "mp4" and codec == "hevc":
            extra += ["-tag:v", "hvc1"]
        run_ffmpeg("-stream_loop", str(loops), *pre, "-i", str(clip), *ain, "-map", "0:v",
                   *amaps, "-c", "copy", "-t", f"{seconds:g}", *extra, "-f", fmt, str(out))
        return out

    @built_once
    def audio(self, *, seconds: float = 61.0, rate: int = 48000, channels: int = 1,
              kind: str = "tone", fmt: str = "wav", name: str | None = None) -> Path:
        """A WAV or MP3 file: `kind` tone | silent | clipped."""
        params = dict(locals())
        params.pop("self")
        out, ok = self._path("audio", params, f".{fmt}")
        if name:
            out = out.parent / out.stem / name
            ok = out.exists()
            out.parent.mkdir(exist_ok=True)
        if ok:
            return out
        expr = {"tone": "0.3*sin(2*PI*220*t)*(0.55+0.45*sin(2*PI*3*t))", "silent": "0",
                "clipped": "1.0*sgn(sin(2*PI*200*t))"}[kind]
        codec = ["-c:a", "pcm_s16le"] if fmt == "wav" else ["-c:a", "libmp3lame", "-b:a", "64k"]
        layout = "mono" if channels == 1 else "stereo"
        run_ffmpeg("-f", "lavfi", "-i", f"aevalsrc={expr}:s={rate}:c={layout}",
                   "-t", f"{seconds:g}", *codec, str(out))
        return out

    @built_once
    def image(self, *, width: int = 1200, height: int = 800, fmt: str = "JPEG",
              mode: str = "RGB", exif_orientation: int | None = None,
              suffix: str | None = None) -> Path:
        """An image of an ID-card-like drawing in the given format and mode."""
        from PIL import Image, ImageDraw

        params = dict(locals())
        params.pop("self")
        params.pop("Image")
        params.pop("ImageDraw")
        ext = suffix or {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp",
                         "BMP": ".bmp"}.get(fmt, ".img")
        out, ok = self._path("image", params, ext)
        if ok:
            return out
        img = Image.new("RGB", (width, height), (235, 230, 220))
        d = ImageDraw.Draw(img)
        d.rectangle((width // 16, height // 8, width // 3, height * 7 // 8), fill=(180, 150, 130))
        for i in range(5):
            y = height // 6 + i * height // 8
            d.rectangle((width * 2 // 5, y, width * 14 // 16, y + height // 20), fill=(60, 60, 70))
        if mode != "RGB":
            img = img.convert(mode)
        kw: dict[str, Any] = {}
        if exif_orientation:
            exif = Image.Exif()
            exif[0x0112] = exif_orientation
            kw["exif"] = exif.tobytes()
        img.save(out, fmt, **kw)
        return out

    @built_once
    def bomb_png(self, width: int = 40000, height: int = 40000) -> Path:
        """A tiny PNG whose header announces `width` x `height` pixels."""
        out = self.root / f"bomb-{width}x{height}.png"
        if out.exists():
            return out

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        raw = zlib.compress(b"\x00" * (1 + width // 8) * 64, 9)
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0,
                                                                 0, 0, 0))
               + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
        out.write_bytes(png)
        return out

    @built_once
    def pdf(self, *, pages: int = 1, truncated: bool = False) -> Path:
        """A minimal valid PDF (optionally cut short)."""
        out = self.root / f"letter-{pages}-{int(truncated)}.pdf"
        if out.exists():
            return out
        data = minimal_pdf("Authorization letter")
        out.write_bytes(data[: len(data) // 2] if truncated else data)
        return out

    @built_once
    def derived(self, src: Path, name: str, data: bytes) -> Path:
        """Write `data` as a new file named `name` (for corrupted variants)."""
        out = self.root / "derived" / name
        out.parent.mkdir(exist_ok=True)
        out.write_bytes(data)
        return out


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text: the sample generator's writer."""
    path = Path(__file__).resolve().parents[2] / "sample_media" / "generate.py"
    spec = importlib.util.spec_from_file_location("sample_media_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data: bytes = module.grant_pdf(text)
    return data
