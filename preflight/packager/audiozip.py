"""The audio zip (dossier §3.4: audio goes up as one ``application/zip``).

Deterministic: entries sorted by name, fixed timestamp and attributes, fixed compression
level, so the same inputs give the same bytes. Entry names are the files' base names (flat,
no directories, no absolute paths, no ``..``); two inputs with the same name (compared
case-insensitively, as Windows and macOS would unpack them) are an error. MP3 and other
compressed audio are stored; WAV is deflated only when that makes it at least 1% smaller.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from preflight.errors import PackagingError
from preflight.metastudio import AUDIO_EXTENSIONS
from preflight.safeio import archive_key, archive_name, open_regular, writing

#: 1980-01-01 00:00:00, the earliest zip timestamp: entries carry no local time.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: zlib's default level, which zipfile uses for entries written through ZipFile.open.
DEFLATE_LEVEL = 6
#: Formats worth trying deflate on (uncompressed PCM); everything else is stored.
DEFLATABLE = frozenset({".wav"})
#: Deflate is kept only when the entry shrinks to at most this fraction.
MIN_GAIN = 0.99
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """One zip member: its name, the file it came from and how it is stored."""

    name: str
    source: Path
    size: int
    deflated: bool


def entry_name(path: Path) -> str:
    """The flat zip entry name of an input file.

    :raises PackagingError: the name is empty, a dot name, or holds control characters.
    """
    name, problem = archive_name(path.name)
    if problem:
        raise PackagingError(f"{path}: cannot be used as a zip entry name: it {problem}")
    return name


def plan_entries(paths: Iterable[Path]) -> list[tuple[str, Path]]:
    """Sorted (entry name, path) pairs.

    :raises PackagingError: a non-audio file, or two inputs with the same entry name.
    """
    seen: dict[str, Path] = {}
    out: list[tuple[str, Path]] = []
    for p in paths:
        if p.suffix.lower() not in AUDIO_EXTENSIONS:
            raise PackagingError(
                f"{p}: not an audio file ({p.suffix or 'no extension'}); the audio zip holds "
                f"only audio ({', '.join(sorted(AUDIO_EXTENSIONS))})")
        name = entry_name(p)
        key = archive_key(name)
        if key in seen:
            raise PackagingError(
                f"audio files {seen[key]} and {p} would both be {name!r} in the zip; rename one")
        seen[key] = p
        out.append((name, p))
    return sorted(out, key=lambda e: (e[0].encode("utf-8"), str(e[1])))


def _deflated_size(path: Path) -> int:
    comp = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    total = 0
    with open_regular(path) as fh:
        while block := fh.read(_CHUNK):
            total += len(comp.compress(block))
    return total + len(comp.flush())


def _info(name: str, deflated: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
    info.create_system = 3  # Unix, whatever the host
    info.external_attr = 0o100644 << 16
    return info


def _copy(fin: IO[bytes], fo: IO[bytes], size: int, src: Path) -> None:
    """Copy exactly `size` bytes (what was stat'ed and declared), never more."""
    left = size
    while left:
        block = fin.read(min(_CHUNK, left))
        if not block:
            raise PackagingError(f"{src} ended {left} bytes early (changed while packaging?)")
        fo.write(block)
        left -= len(block)
    if fin.read(1):
        raise PackagingError(f"{src} grew while packaging")


def build_audio_zip(paths: Iterable[Path], dst: Path) -> list[Entry]:
    """Write the zip of ``paths`` to ``dst`` (atomically) and describe its entries.

    Only regular files are read, each for exactly its size; the temporary file is removed on
    any failure or interruption, and ``dst`` must not be one of the inputs or a special file.

    :raises PackagingError: bad inputs (see `plan_entries`) or an unreadable file.
    """
    entries = plan_entries(paths)
    sources = [src for _, src in entries]
    out: list[Entry] = []
    try:
        with writing(dst, sources) as fh, zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
            for name, src in entries:
                with open_regular(src) as fin:
                    size = os.fstat(fin.fileno()).st_size
                    deflated = (src.suffix.lower() in DEFLATABLE and size > 0
                                and _deflated_size(src) <= size * MIN_GAIN)
                    info = _info(name, deflated)
                    info.file_size = size
                    with zf.open(info, "w", force_zip64=size >= 2**31) as fo:
                        _copy(fin, fo, size, src)
                out.append(Entry(name, src, size, deflated))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise PackagingError(f"cannot build the audio zip: {where}{exc.strerror or exc}") from None
    return out
