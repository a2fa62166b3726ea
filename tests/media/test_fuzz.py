"""Random truncations and bit flips of small valid media: never an exception, never a hang,
never a modified input."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path
from typing import Any

import pytest

from preflight.model import Report
from preflight.workflows.check import check

#: Generous per-file bound (a normal check of these files takes ~0.05 s).
PER_FILE_SECONDS = 10.0


def mutations(data: bytes, n: int, seed: int) -> list[bytes]:
    """Half truncations (including 0..64 bytes), half 1-16 random bit flips past the signature."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 2 == 0:
            cut = rng.choice([rng.randrange(0, 64), rng.randrange(0, len(data))])
            out.append(data[:cut])
        else:
            buf = bytearray(data)
            for _ in range(rng.randint(1, 16)):
                pos = rng.randrange(0, len(buf))
                buf[pos] ^= 1 << rng.randrange(8)
            out.append(bytes(buf))
    return out


def fuzz(tmp_path: Path, name: str, data: bytes, n: int, seed: int, slot: str) -> None:
    for i, blob in enumerate(mutations(data, n, seed)):
        p = tmp_path / f"{i:03d}-{name}"
        p.write_bytes(blob)
        before = hashlib.sha256(blob).hexdigest()
        t0 = time.monotonic()
        report = check(p, slot=slot)
        took = time.monotonic() - t0
        assert isinstance(report, Report)
        assert took < PER_FILE_SECONDS, f"{p} took {took:.1f} s"
        assert hashlib.sha256(p.read_bytes()).hexdigest() == before
        p.unlink()


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzzed_mp4(media_factory: Any, tmp_path: Path, seed: int) -> None:
    src = media_factory.video(width=360, height=640, seconds=2)
    fuzz(tmp_path, "clip.mp4", src.read_bytes(), 60, seed, "training_video")


def test_fuzzed_mov_with_moov_at_the_end(media_factory: Any, tmp_path: Path) -> None:
    src = media_factory.video(width=360, height=640, seconds=2, container="matroska")
    fuzz(tmp_path, "clip.mkv", src.read_bytes(), 30, 3, "training_video")


def test_fuzzed_jpeg(media_factory: Any, tmp_path: Path) -> None:
    src = media_factory.image(width=640, height=400)
    fuzz(tmp_path, "photo.jpg", src.read_bytes(), 60, 4, "id_card_front")


def test_fuzzed_png_and_pdf(media_factory: Any, tmp_path: Path) -> None:
    fuzz(tmp_path, "photo.png", media_factory.image(width=320, height=200, fmt="PNG")
         .read_bytes(), 30, 5, "cover")
    fuzz(tmp_path, "letter.pdf", media_factory.pdf().read_bytes(), 30, 6, "grant_file")


def test_fuzzed_wav_and_mp3(media_factory: Any, tmp_path: Path) -> None:
    fuzz(tmp_path, "voice.wav", media_factory.audio(seconds=2, rate=16000).read_bytes(), 40, 7,
         "audio")
    fuzz(tmp_path, "voice.mp3", media_factory.audio(seconds=2, fmt="mp3").read_bytes(), 40, 8,
         "audio")
