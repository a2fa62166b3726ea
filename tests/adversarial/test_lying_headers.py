"""Headers that lie: a WAV cut short (its header still gives the full length) and a small JPEG
patched to claim a large size are reported, not passed."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

from PIL import Image

from preflight.workflows.check import check
from tests.adversarial.conftest import bounded
from tests.helpers import assert_codes


def test_a_wav_cut_to_60_percent_is_truncated(media_factory: Any, tmp_path: Path) -> None:
    whole = media_factory.audio(seconds=120.0)
    data = whole.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) * 6 // 10])
    report = bounded(lambda: check([cut], cache=None))
    assert_codes(report, expect=["AUD002"])
    (finding,) = [f for f in report.findings if f.code == "AUD002"]
    assert "truncated" in finding.message and "120.0 s" in finding.message
    assert_codes(bounded(lambda: check([whole], cache=None)), absent=["AUD002"])


def _jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 90)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _claim(data: bytes, w: int, h: int) -> bytes:
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", h, w) + data[sof + 9:]


def test_a_16px_jpeg_claiming_1000px_is_reported(tmp_path: Path) -> None:
    liar = tmp_path / "cover.jpg"
    liar.write_bytes(_claim(_jpeg(16, 16), 1000, 1000))
    report = bounded(lambda: check([liar], slot="cover", cache=None))
    assert_codes(report, expect=["IMG002"])
    assert any("1000x1000" in f.message and "header" in f.message for f in report.findings)


def test_a_flat_real_jpeg_of_that_size_passes_the_data_check(tmp_path: Path) -> None:
    honest = tmp_path / "flat.jpg"
    honest.write_bytes(_jpeg(1000, 1000))
    report = bounded(lambda: check([honest], slot="cover", cache=None))
    assert not any("cannot hold" in f.message for f in report.findings)
