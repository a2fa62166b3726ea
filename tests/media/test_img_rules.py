"""Pass and fail cases for the IMG rules."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from preflight.model import Report
from preflight.workflows.check import check
from tests.helpers import assert_codes


def run(path: Path, slot: str = "cover") -> Report:
    return check(path, slot=slot)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_good_images_pass(media_factory: Any, fmt: str) -> None:
    for slot in ("cover", "id_card_front", "id_card_back", "grant_file", "pre_beauty_image"):
        report = run(media_factory.image(fmt=fmt), slot)
        # A plain generated picture has no face: only the presenter rules may speak.
        assert [f.code for f in report.findings if f.family != "PRS"] == []
        assert_codes(report, absent=["IMG002", "IMG003", "IMG004", "IMG005", "IMG006"])


def test_truncated_jpeg_fails(media_factory: Any, tmp_path: Path) -> None:
    data = media_factory.image().read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    report = run(cut)
    assert_codes(report, expect=["IMG002"], absent=["IMG003"])
    assert "truncated" in report.findings[0].message


def test_text_as_jpeg_fails(tmp_path: Path) -> None:
    p = tmp_path / "photo.jpg"
    p.write_text("not a photo\n", encoding="utf-8")
    assert_codes(run(p, "id_card_front"), expect=["IMG002"])


def test_zero_byte_image_is_the_gate(tmp_path: Path) -> None:
    p = tmp_path / "photo.jpg"
    p.write_bytes(b"")
    assert_codes(run(p), expect=["IMG001"], absent=["IMG002"])


def test_decompression_bomb_is_refused_with_bounded_memory(media_factory: Any) -> None:
    bomb = media_factory.bomb_png(40000, 40000)
    tracemalloc.start()
    try:
        report = run(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_codes(report, expect=["IMG002"])
    assert "megapixels" in report.findings[0].message
    assert peak < 50_000_000


def test_other_formats_fail(media_factory: Any) -> None:
    assert_codes(run(media_factory.image(fmt="GIF", mode="P")), expect=["IMG003"])
    assert_codes(run(media_factory.image(fmt="BMP")), expect=["IMG003"])


def test_cmyk_and_alpha_warn(media_factory: Any) -> None:
    assert_codes(run(media_factory.image(mode="CMYK")), expect=["IMG004"])
    assert_codes(run(media_factory.image(fmt="PNG", mode="RGBA")), expect=["IMG004"])
    assert_codes(run(media_factory.image(fmt="PNG", mode="L")), absent=["IMG004"])


def test_exif_orientation_is_noted(media_factory: Any) -> None:
    assert_codes(run(media_factory.image(exif_orientation=6)), expect=["IMG005"])
    assert_codes(run(media_factory.image(exif_orientation=1)), absent=["IMG005"])


def test_small_id_card_photo_warns(media_factory: Any) -> None:
    small = media_factory.image(width=320, height=200)
    assert_codes(run(small, "id_card_front"), expect=["IMG006"])
    assert_codes(run(small, "cover"), absent=["IMG006"])
    rotated = media_factory.image(width=800, height=1200, exif_orientation=6)
    assert_codes(run(rotated, "id_card_back"), absent=["IMG006"])


def test_grant_letter_pdf(media_factory: Any, tmp_path: Path) -> None:
    assert_codes(run(media_factory.pdf(), "grant_file"), absent=["IMG002", "IMG003"])
    assert_codes(run(media_factory.pdf(truncated=True), "grant_file"), expect=["IMG002"])
    empty = tmp_path / "letter.pdf"
    empty.write_bytes(b"%PDF-1.4\n%%EOF\n")
    report = run(empty, "grant_file")
    assert_codes(report, expect=["IMG002"])
    assert "no pages" in report.findings[0].message
    # a PDF is only accepted for the grant letter
    assert_codes(run(media_factory.pdf(), "cover"), expect=["IMG002"])


def test_large_jpeg_is_decoded_to_the_end(media_factory: Any, tmp_path: Path) -> None:
    big = media_factory.image(width=3000, height=2000)
    assert_codes(run(big, "id_card_front"), absent=["IMG002", "IMG006"])
    data = big.read_bytes()
    cut = tmp_path / "big-cut.jpg"
    cut.write_bytes(data[: len(data) * 3 // 4])
    assert_codes(run(cut, "id_card_front"), expect=["IMG002"])
