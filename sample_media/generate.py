"""Generate the synthetic sample media used by `avatar.toml` (passes) and `broken.toml` (fails).

Run: python sample_media/generate.py [--force]. Files go to sample_media/media/ (git-ignored).
A rerun only makes what is missing or was made by another version of this script, so it is
instant when everything is current. Needs only the Python dependencies of the project (the
FFmpeg binary comes from imageio-ffmpeg).

The presenter video is built the cheap way: a 2-second clip is encoded at full size and looped
with stream copy to a bit over three minutes; the speech-like audio is synthesised for the whole
length and muxed in.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MEDIA = HERE / "media"
STAMP = MEDIA / ".generator"
#: A real public-domain portrait (see tests/data/faces/SOURCE.md), so the face checks pass.
FACES = HERE.parent / "tests" / "data" / "faces"
FACE = FACES / "astronaut.jpg"
#: Head-and-shoulders crops of the two portraits (source pixels).
FACE_CROPS = {"astronaut.jpg": (120, 20, 370, 270), "grace_hopper.jpg": (120, 50, 420, 350)}
#: The presenter's head, cropped closer: its face box is a quarter of the frame height, with
#: room for the detector's box sizes (they come in steps of about a fifth).
PRESENTER_CROP = (150, 50, 340, 240)
W, H, FPS = 1080, 1920, 25
DURATION = 185  # 3:05
GREEN = (0, 177, 64)
#: Speech-like audio: a voiced buzz with a moving pitch, syllables at ~4 Hz and short pauses.
SPEECH = ("0.28*sin(2*PI*(150+35*sin(2*PI*0.6*t))*t+2*sin(2*PI*300*t))"
          "*(0.5+0.5*sin(2*PI*4.1*t))*(0.6+0.4*sin(2*PI*0.23*t))*gt(sin(2*PI*0.31*t)\\,-0.8)")
#: The take's sound: the speech with an 18-second pause from 1:00, the silent segment facing
#: the camera that Flexus asks for (PRS011).
TAKE_AUDIO = SPEECH + "*(1-between(t\\,60\\,78))"


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg quietly; raise with its message on failure."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
           "-y", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode:
        raise SystemExit(f"ffmpeg failed: {done.stderr.strip()}")


def presenter_png(path: Path, w: int, h: int) -> None:
    """A presenter figure (RGBA) for a w x h portrait frame: hair, face, neck, jacket, arms."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    cx = w // 2
    skin, hair, jacket, shirt = (224, 172, 138, 255), (60, 40, 30, 255), (43, 58, 85, 255), \
        (235, 235, 240, 255)
    d.rounded_rectangle((cx - w * 0.36, h * 0.52, cx + w * 0.36, h + 40), radius=int(w * 0.12),
                        fill=jacket)
    d.polygon([(cx - w * 0.09, h * 0.52), (cx + w * 0.09, h * 0.52), (cx, h * 0.68)], fill=shirt)
    d.rectangle((cx - w * 0.06, h * 0.43, cx + w * 0.06, h * 0.53), fill=skin)
    d.ellipse((cx - w * 0.15, h * 0.22, cx + w * 0.15, h * 0.46), fill=hair)
    d.ellipse((cx - w * 0.125, h * 0.25, cx + w * 0.125, h * 0.46), fill=skin)
    d.pieslice((cx - w * 0.15, h * 0.21, cx + w * 0.15, h * 0.36), 180, 360, fill=hair)
    for dx in (-0.05, 0.05):
        d.ellipse((cx + w * dx - 12, h * 0.34 - 8, cx + w * dx + 12, h * 0.34 + 8),
                  fill=(40, 30, 30, 255))
    d.arc((cx - 50, h * 0.38, cx + 50, h * 0.42), 20, 160, fill=(150, 60, 60, 255), width=6)
    if FACE.exists():  # the real head over the drawn one
        head = real_head(int(w * 0.95), crop=PRESENTER_CROP)  # face over 1/5 of the height
        img.paste(head, (int(cx - head.width / 2), int(h * 0.08)))
    img.save(path)


def real_head(width: int, photo: str = "astronaut.jpg",
              crop: tuple[int, int, int, int] | None = None) -> Any:
    """A portrait's head-and-shoulders crop (or `crop`), `width` pixels wide."""
    from PIL import Image

    face = Image.open(FACES / photo).convert("RGB").crop(crop or FACE_CROPS[photo])
    return face.resize((width, width), Image.Resampling.LANCZOS)


def office_png(path: Path, w: int, h: int) -> None:
    """An office backdrop: wall, window, shelf with books, a plant and a desk."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), (200, 184, 154))
    d = ImageDraw.Draw(img)
    d.rectangle((w * 0.05, h * 0.08, w * 0.32, h * 0.55), fill=(210, 225, 236),
                outline=(240, 240, 240), width=max(2, w // 200))
    d.line((w * 0.185, h * 0.08, w * 0.185, h * 0.55), fill=(240, 240, 240), width=max(2, w // 300))
    d.rectangle((w * 0.70, h * 0.10, w * 0.95, h * 0.60), fill=(120, 85, 55))
    for i, colour in enumerate([(150, 40, 40), (40, 70, 130), (200, 160, 60), (60, 60, 60)]):
        x = w * (0.72 + 0.05 * i)
        d.rectangle((x, h * 0.14, x + w * 0.035, h * 0.30), fill=colour)
    d.ellipse((w * 0.78, h * 0.36, w * 0.92, h * 0.52), fill=(60, 120, 60))
    d.rectangle((0, h * 0.72, w, h), fill=(107, 74, 46))
    img.save(path)


def presenter_video(out: Path, *, w: int = W, h: int = H, seconds: float = DURATION,
                    background: str = "0x00B140", audio: str | None = TAKE_AUDIO,
                    vignette: bool = True, sideways: bool = False) -> None:
    """Green-screen (or other background) presenter video: 2 s clip looped + synthetic audio.
    `sideways` stores the picture turned 90° clockwise without rotation metadata."""
    build = MEDIA / ".build"
    build.mkdir(parents=True, exist_ok=True)
    figure = build / f"presenter-real2-{w}x{h}.png"
    if not figure.exists():
        presenter_png(figure, w, h)
    key = hashlib.sha1(f"{figure.name}{w}x{h}{background}{vignette}{sideways}".encode()
                       ).hexdigest()[:10]
    clip = build / f"clip-{key}.nut"
    if not clip.exists():
        light = ",vignette=angle=PI/7" if vignette else ""
        if background == "office":
            office = build / f"office-{w}x{h}.png"
            office_png(office, w, h)
            bg = ["-loop", "1", "-framerate", str(FPS), "-t", "2", "-i", str(office)]
        else:
            bg = ["-f", "lavfi", "-i", f"color=c={background}:s={w}x{h}:r={FPS}:d=2{light}"]
        ffmpeg(*bg,
               "-loop", "1", "-framerate", str(FPS), "-i", str(figure),
               "-filter_complex",
               "[1]format=rgba[p];[0][p]overlay=x='8*sin(2*PI*t/2)':y='4*sin(2*PI*t)'"
               ":shortest=1" + (",transpose=1" if sideways else "") + ",format=yuv420p",
               "-t", "2", "-c:v", "libx264", "-preset", "veryfast", "-crf", "24",
               "-g", str(FPS), str(clip))
    loops = int(seconds // 2) + 1
    tmp = out.with_suffix(".part" + out.suffix)
    args = ["-stream_loop", str(loops), "-i", str(clip)]
    if audio:
        args += ["-f", "lavfi", "-i", f"aevalsrc={audio}:s=48000:c=mono"]
    args += ["-map", "0:v"] + (["-map", "1:a", "-c:a", "aac", "-b:a", "96k"] if audio else [])
    ffmpeg(*args, "-c:v", "copy", "-t", f"{seconds:g}", "-movflags", "+faststart",
           "-f", "mp4", str(tmp))
    tmp.replace(out)


def wav(out: Path, seconds: float, expr: str, rate: int = 48000) -> None:
    """A mono 16-bit WAV from an ffmpeg audio expression."""
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc={expr}:s={rate}:c=mono", "-t", f"{seconds:g}",
           "-c:a", "pcm_s16le", str(out))


def card(out: Path, side: str, size: tuple[int, int] = (1200, 760),
         photo: str = "astronaut.jpg") -> None:
    """An ID-card-like JPEG (obviously fake: it says SAMPLE)."""
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.new("RGB", (w, h), (226, 232, 240))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((10, 10, w - 10, h - 10), radius=40, outline=(90, 110, 140), width=6)
    if side == "front":
        d.rectangle((w * 0.64, h * 0.15, w * 0.92, h * 0.8), fill=(200, 170, 150))
        d.ellipse((w * 0.70, h * 0.22, w * 0.86, h * 0.52), fill=(224, 172, 138))
        if FACE.exists():
            face = real_head(int(w * 0.26), photo).convert("L").convert("RGB")
            img.paste(face, (int(w * 0.65), int(h * 0.18)))
    else:
        d.ellipse((w * 0.06, h * 0.1, w * 0.26, h * 0.42), outline=(180, 40, 40), width=10)
    for i in range(5):
        y = h * 0.18 + i * h * 0.13
        d.rectangle((w * 0.08, y, w * (0.55 if side == "front" else 0.9), y + h * 0.05),
                    fill=(70, 80, 95))
    d.text((w * 0.08, h * 0.86), f"SAMPLE ID CARD ({side}) - NOT A REAL DOCUMENT",
           fill=(20, 20, 20))
    img.save(out, "JPEG", quality=88)


def cover(out: Path) -> None:
    """A cover JPEG: the presenter on a neutral backdrop."""
    from PIL import Image

    build = MEDIA / ".build"
    build.mkdir(parents=True, exist_ok=True)
    fig = build / f"presenter-real2-{W}x{H}.png"
    if not fig.exists():
        presenter_png(fig, W, H)
    bg = Image.new("RGBA", (W, H), (70, 90, 120, 255))
    bg.alpha_composite(Image.open(fig))
    bg.convert("RGB").save(out, "JPEG", quality=88)


def grant_pdf(text: str) -> bytes:
    """A minimal one-page PDF with a correct cross-reference table."""
    lines = [f"BT /F1 16 Tf 72 {720 - 24 * i} Td ({t}) Tj ET" for i, t in
             enumerate(text.splitlines())]
    stream = "\n".join(lines).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    buf = io.BytesIO()
    buf.write(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(buf.tell())
        buf.write(f"{i} 0 obj\n".encode() + obj + b"\nendobj\n")
    xref = buf.tell()
    buf.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    buf.writelines(f"{off:010d} 00000 n \n".encode() for off in offsets)
    buf.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
              .encode())
    return buf.getvalue()


def bomb_png(out: Path, w: int = 40000, h: int = 40000) -> None:
    """A 100-byte PNG whose header announces w x h pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    out.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0,
                                                                      0, 0))
                    + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))


def truncated_copy(src: Path, out: Path, keep: float = 0.5) -> None:
    """The first `keep` share of `src` (a cut-short download)."""
    data = src.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])


def _mov_renamed(out: Path) -> None:
    src = MEDIA / "bad" / ".short.mp4"
    if not src.exists():
        presenter_video(src, seconds=4)
    ffmpeg("-i", str(src), "-c", "copy", "-f", "mov", str(out))


def targets() -> dict[str, Callable[[Path], None]]:
    """Every file to make, by path relative to media/."""
    letter = ("AUTHORIZATION LETTER (SAMPLE)\n\nThe undersigned licenses the avatar of\n"
              "the person shown in the ID card to Example Co., Ltd.\n\nSigned: ____________")
    return {
        "presenter.mp4": presenter_video,
        "voice.wav": lambda p: wav(p, 75, SPEECH),
        "cover.jpg": cover,
        "id_front.jpg": lambda p: card(p, "front"),
        "id_back.jpg": lambda p: card(p, "back"),
        "grant_letter.pdf": lambda p: p.write_bytes(grant_pdf(letter)),
        # deliberately bad files
        "bad/office-720p.mp4": lambda p: presenter_video(p, w=1280, h=720, seconds=20,
                                                         background="office", vignette=False,
                                                         sideways=True),
        "bad/id_front_other.jpg": lambda p: card(p, "front", photo="grace_hopper.jpg"),
        "bad/action-720p.mp4": lambda p: presenter_video(p, w=1280, h=720, seconds=20),
        "bad/blue-screen.mp4": lambda p: presenter_video(p, seconds=20,
                                                         background="0x0047BB"),
        "bad/mov-renamed.mp4": _mov_renamed,
        "bad/not-a-video.mp4": lambda p: p.write_text("this is a text file, not a video\n",
                                                      encoding="utf-8"),
        "bad/truncated.mp4": lambda p: truncated_copy(MEDIA / "presenter.mp4", p),
        "bad/silent.wav": lambda p: wav(p, 75, "0"),
        "bad/not-audio.wav": lambda p: p.write_text("RIFF? no: plain text\n", encoding="utf-8"),
        "bad/truncated.jpg": lambda p: truncated_copy(MEDIA / "cover.jpg", p, 0.4),
        "bad/not-an-image.jpg": lambda p: p.write_text("<html>not an image</html>\n",
                                                       encoding="utf-8"),
        "bad/bomb.png": bomb_png,
        "bad/id_back_small.jpg": lambda p: card(p, "back", (320, 200)),
    }


def main(argv: list[str] | None = None) -> int:
    """Make every missing or stale sample file; print what was made."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--force", action="store_true", help="remake every file")
    args = ap.parse_args(argv)
    version = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    current = STAMP.exists() and STAMP.read_text(encoding="utf-8").strip() == version
    (MEDIA / "bad").mkdir(parents=True, exist_ok=True)
    made = []
    for rel, make in targets().items():
        out = MEDIA / rel
        if out.exists() and current and not args.force:
            continue
        tmp = out.with_name(".tmp-" + out.name)
        make(tmp)
        tmp.replace(out)
        made.append(rel)
    STAMP.write_text(version + "\n", encoding="utf-8")
    print(f"sample media in {MEDIA}: "
          + (f"made {len(made)} file(s)" if made else "all current"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
