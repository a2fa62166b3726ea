"""A same-size, same-mtime edit is not served from the cache (ctime and sampled blocks are in
the key)."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from preflight.rules.cache import fingerprint
from preflight.workflows.check import check
from tests.adversarial.conftest import bounded
from tests.helpers import codes


def test_middle_of_a_wav_overwritten_with_mtime_restored(media_factory: Any,
                                                          tmp_path: Path) -> None:
    src = media_factory.audio(seconds=65.0)
    wav = tmp_path / "voice.wav"
    wav.write_bytes(src.read_bytes())
    cache = tmp_path / "cache"
    first = bounded(lambda: check([wav], cache=cache))  # now cached
    st = wav.stat()
    size = st.st_size
    with open(wav, "r+b") as fh:  # full-scale square wave over the middle 40 %
        fh.seek(size * 3 // 10 & ~1)
        fh.write(struct.pack("<h", 32767) * 4 * (size // 20))
    os.truncate(wav, size)
    os.utime(wav, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert wav.stat().st_size == size and wav.stat().st_mtime_ns == st.st_mtime_ns
    cached = bounded(lambda: check([wav], cache=cache))
    fresh = bounded(lambda: check([wav], cache=None))
    assert [f.code for f in cached.findings] == [f.code for f in fresh.findings]
    assert codes(fresh) != codes(first)


def test_fingerprint_sees_a_same_size_edit_in_the_middle(tmp_path: Path) -> None:
    p = tmp_path / "big.bin"
    data = bytearray(os.urandom(8 * 1024 * 1024))
    p.write_bytes(data)
    before = fingerprint(p, len(data))
    data[len(data) // 2: len(data) // 2 + 300_000] = b"\x7f" * 300_000
    p.write_bytes(data)
    assert fingerprint(p, len(data)) != before
