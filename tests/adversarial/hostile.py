"""A generator of hostile inputs for the sweep, and strict validators of every report format.

`build(root, media, seed)` writes hundreds of files into `root`: names with control and escape
sequences, newlines that imitate report lines and GitHub commands, bidi and zero-width
characters, bytes that are not UTF-8, markup and shell syntax; contents that are valid,
truncated, empty, random, lying about their size, animated, rotated, bombs; specs that name
such files or are themselves broken; video and audio tags with markup and escape sequences;
links, dangling links, loops and a FIFO. The same seed builds the same set.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import stat
import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PIL import Image

#: Name parts, as bytes (a name need not be UTF-8 on POSIX).
NAMES: tuple[bytes, ...] = tuple(
    n if isinstance(n, bytes) else n.encode("utf-8") for n in (
        "plain", "sp ace", "-dash", "--help", "\x1b[2J\x1b[31mred", "\x1b]52;c;aGVsbG8=\x07osc",
        "bell\x07", "nl\nfake.mp4: VID999 forged [error] x", "cr\rover",
        "gh\n::error file=x::forged",
        "%0A%25", "tab\tname", "\u202eevil", "zw\u200bsp", "bom\ufeff", "ls\u2028ps\u2029",
        "<img src=x onerror=alert(1)>", "\"q'&amp;", "back\\slash", "ünï cödé", "e\u0301nfd",
        "\U0001f600emoji", "x" * 180, "del\x7f", "c1\u0085\u009b", b"\xff\xfe", b"bad\xc3\x28",
        b"\xed\xa0\x80sur", b"\x80lone", "$(touch pwned)", "`id`", "..x", ".hidden",
        "\x01\x02\x03", "esc\x1b[6n", "osc8\x1b]8;;http:x\x07link\x1b]8;;\x07",
    ))
#: Marker text that must never appear raw in an HTML report.
MARKUP = "<img src=x onerror=alert(1)>"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def tall_png(width: int = 1, height: int = 79_000_000, colour: int = 0) -> bytes:
    """A valid PNG of `width` x `height` grey (colour 0) or RGB (colour 2) pixels, compressed
    row by row (about 150 KB for the default 1 x 79 000 000)."""
    row = b"\0" + b"\x80" * (width * (3 if colour == 2 else 1))
    z = zlib.compressobj(9)
    step = 1_000_000 // len(row) + 1
    parts, left = [], height
    while left:
        n = min(step, left)
        parts.append(z.compress(row * n))
        left -= n
    parts.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts))
            + _chunk(b"IEND", b""))


def _image(fmt: str, **extra: Any) -> Callable[[random.Random, Path], bytes]:
    def make(rng: random.Random, tmp: Path) -> bytes:
        img = Image.new("RGB", (rng.randint(40, 320), rng.randint(40, 240)),
                        tuple(rng.randint(0, 255) for _ in range(3)))  # type: ignore[arg-type]
        out = tmp / f"i.{fmt.lower()}"
        img.save(out, fmt, **extra)
        return out.read_bytes()
    return make


def _exif(value: int) -> Callable[[random.Random, Path], bytes]:
    def make(rng: random.Random, tmp: Path) -> bytes:
        exif = Image.Exif()
        exif[0x0112] = value
        return _image("JPEG", exif=exif.tobytes())(rng, tmp)
    return make


def _apng(rng: random.Random, tmp: Path) -> bytes:
    frames = [Image.new("RGB", (64, 48), (i * 80, 20, 200)) for i in range(3)]
    out = tmp / "a.png"
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    return out.read_bytes()


def _lying_jpeg(rng: random.Random, tmp: Path) -> bytes:
    """A small JPEG whose frame header claims 30000 x 30000."""
    data = bytearray(_image("JPEG")(rng, tmp))
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, 30000, 30000)
    return bytes(data)


def _pdf(title: bytes, pages: int = 1, body: bytes | None = None) -> bytes:
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + i) for i in range(pages))
            + b"] /Count %d >>" % pages,
            b"<< /Title (" + title + b") /Author <FEFF00e9> >>"]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + (body if body and i == 2 else o) + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, xref))
    return out


def _const(data: bytes) -> Callable[[random.Random, Path], bytes]:
    return lambda rng, tmp: data


def _random(n: int) -> Callable[[random.Random, Path], bytes]:
    return lambda rng, tmp: rng.randbytes(n)


def _cut(make: Callable[[random.Random, Path], bytes]) -> Callable[[random.Random, Path], bytes]:
    def cut(rng: random.Random, tmp: Path) -> bytes:
        data = make(rng, tmp)
        return data[: max(1, len(data) * rng.randint(20, 80) // 100)]
    return cut


def _media(path: Path) -> Callable[[random.Random, Path], bytes]:
    return lambda rng, tmp: path.read_bytes()


#: Tag text for video and audio metadata: markup, escape sequences, a forged line.
TAG = "<script>alert(3)</script>\x1b]52;c;aGk=\x07\n::error::tag"


def tagged(src: Path, out: Path) -> Path:
    """A copy of `src` (stream copy, no re-encoding) whose title, artist and comment tags
    carry `TAG`."""
    from tests.media.factory import run_ffmpeg

    run_ffmpeg("-i", str(src), "-map", "0", "-c", "copy", "-metadata", f"title={TAG}",
               "-metadata", f"artist={TAG}", "-metadata", f"comment={TAG}", str(out))
    return out


def kinds(media: Any, scratch: Path) -> dict[str, list[Callable[[random.Random, Path], bytes]]]:
    """Content makers by extension (`media`: the session's media factory; `scratch`: a
    folder for intermediate files)."""
    video = media.video(width=180, height=320, seconds=1.0)
    tilted = media.video(width=180, height=320, seconds=1.0, rotation=45)
    voice = media.audio(seconds=1.5)
    tagged_video = tagged(video, scratch / "tagged.mp4")
    tagged_voice = tagged(voice, scratch / f"tagged{voice.suffix}")
    jpeg, png = _image("JPEG"), _image("PNG")
    return {
        ".jpg": [jpeg, jpeg, _cut(jpeg), _const(b""), _random(3000), _exif(9), _exif(0),
                 _exif(65535), _exif(6), _lying_jpeg, _image("JPEG", quality=5)],
        ".png": [png, _apng, _const(tall_png()), _cut(png), _const(b"\x89PNG\r\n\x1a\n"),
                 _image("PNG", optimize=True), _const(tall_png(2, 30_000_000))],
        ".pdf": [_const(_pdf(b"<script>alert(1)</script>")), _const(_pdf(b"\x1b[31m\xff\xfe")),
                 _const(_pdf(b"t", pages=0)), _cut(_const(_pdf(b"cut"))),
                 _const(b"%PDF-1.7\n%%EOF\n"), _const(_pdf(b"(unbalanced"))],
        ".mp4": [_media(video), _media(tagged_video), _media(tilted), _cut(_media(video)),
                 _const(b""), _random(5000), _const(b"not a video\n" * 10)],
        ".wav": [_media(voice), _media(tagged_voice), _cut(_media(voice)),
                 _const(b"RIFF\0\0\0\0WAVE"),
                 _random(2000)],
    }


def _fs_name(part: bytes, ext: str, index: int) -> bytes:
    """A file name of at most 200 bytes: the hostile part, an index, the extension."""
    return part[:150] + b"-%d" % index + ext.encode()


def _spec(rng: random.Random, names: list[bytes], index: int) -> tuple[bytes, bytes]:
    """(file name, text) of a spec naming some of `names`, or broken on purpose."""
    pick = [n for n in names if n.endswith((b".mp4", b".jpg", b".wav", b".png", b".pdf"))]
    video = rng.choice([n for n in pick if n.endswith(b".mp4")])
    card = rng.choice([n for n in pick if n.endswith((b".jpg", b".png"))])
    grant = rng.choice([n for n in pick if n.endswith(b".pdf")])
    voice = rng.choice([n for n in pick if n.endswith(b".wav")])

    def quoted(raw: bytes) -> bytes:
        text = raw.decode("utf-8", "surrogateescape")
        return json.dumps(text, ensure_ascii=True).encode()  # \\udcxx escapes invalid bytes
    variant = index % 6
    name = rng.choice(NAMES)[:60] + b"-spec%d" % index
    if variant == 0:  # JSON spec naming hostile files
        body = (b'{"job": {"name": ' + quoted(name) + b', "audio_source_type": "AUDIO"}, '
                b'"media": {"training_video": ' + quoted(video) + b', "id_card_front": '
                + quoted(card) + b', "grant_file": ' + quoted(grant) + b', "audio": ['
                + quoted(voice) + b"]}}")
        return name + b".json", body
    if variant == 1:  # TOML naming hostile files (basic strings with escapes)
        body = (b'[job]\nname = ' + quoted(name) + b'\n[media]\ntraining_video = '
                + quoted(video) + b'\nid_card_front = ' + quoted(card) + b'\n')
        return name + b".toml", body
    if variant == 2:
        return name + b".toml", b"[job]\nname = \"\xff\xfe\"\n"
    if variant == 3:
        return name + b".json", (b'{"job": {"name": "\\ud800"}, "media": {"cover": "'
                                 + b"a" * 5000 + b'"}}')
    if variant == 4:
        return name + b".toml", (b"[job]\n" + b"a." * 200
                                 + b"b = 1\n[media]\ncover = 'x.jpg'\n")
    return name + b".json", b"[" * 5000


def build(root: Path, media: Any, seed: int, per_kind: int = 3, specs: int = 18) -> list[Path]:
    """Write the hostile inputs into `root` (created) and return every path made."""
    rng = random.Random(seed)
    scratch = root.parent / f".{root.name}-scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    made: list[bytes] = []
    index = 0
    base = os.fsencode(root)
    for ext, makers in kinds(media, scratch).items():
        for maker in makers:
            for _ in range(per_kind):
                part = rng.choice(NAMES)
                name = _fs_name(part, ext, index)
                index += 1
                with open(base + b"/" + name, "wb") as fh:
                    fh.write(maker(rng, scratch))
                made.append(name)
    cheap = {".jpg": _image("JPEG"), ".png": _image("PNG"), ".pdf": _const(_pdf(b"ok")),
             ".wav": _random(800), ".mp4": _random(900)}
    for part in NAMES:  # every hostile name on every kind of file
        for ext, maker in cheap.items():
            name = _fs_name(part, ext, index)
            index += 1
            with open(base + b"/" + name, "wb") as fh:
                fh.write(maker(rng, scratch))
            made.append(name)
    for i in range(specs):
        name, text = _spec(rng, made, i)
        with open(base + b"/" + name, "wb") as fh:
            fh.write(text)
        made.append(name)
    links = {b"link-to-input.mp4": made[0], b"dangling.jpg": b"nowhere.jpg",
             b"loop.png": b"loop.png", b"devnull.wav": b"/dev/null",
             rng.choice(NAMES)[:60] + b"-link.pdf": made[-specs - 1]}
    for name, target in links.items():
        os.symlink(target, base + b"/" + name)
        made.append(name)
    os.mkfifo(base + b"/fifo.mp4")
    made.append(b"fifo.mp4")
    shutil.rmtree(scratch)
    return [Path(os.fsdecode(base + b"/" + n)) for n in made]


def snapshot(paths: Iterable[Path]) -> dict[str, tuple[int, str]]:
    """(mode, sha256 or link target) of each path, without following links or opening FIFOs."""
    out: dict[str, tuple[int, str]] = {}
    for p in paths:
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out[str(p)] = (st.st_mode, os.readlink(p))
        elif stat.S_ISREG(st.st_mode):
            out[str(p)] = (st.st_mode, hashlib.sha256(p.read_bytes()).hexdigest())
        else:
            out[str(p)] = (st.st_mode, "")
    return out


#: Control characters no text report or annotation may carry raw (LF ends lines).
_RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069"
                          "\ufeff]")
#: A JSON \\u escape of a surrogate: strict parsers refuse a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def validate(fmt: str, raw: bytes) -> Any:
    """Parse a report strictly; returns the parsed JSON or XML root (None for text formats).

    :raises AssertionError: or a parser error: the report is not valid.
    """
    text = raw.decode("utf-8")  # strict: every format is valid UTF-8
    if fmt in ("json", "sarif"):
        assert not _SURROGATE_ESCAPE.search(text), "a surrogate escape in JSON"
        return json.loads(text)  # strict=True: no raw control characters in strings
    if fmt == "junit":
        return ET.fromstring(raw)  # expat: well-formed XML 1.0 or an error
    if fmt == "html":
        assert MARKUP not in text and "\ud800" not in text
        return None
    bad = _RAW_CONTROL.search(text)
    assert bad is None, f"raw control character {bad.group(0)!r} in {fmt} output"
    if fmt == "github":
        for line in text.splitlines()[:-1]:
            assert re.match(r"::(error|warning|notice) [^\n]*::", line), line
    return None
