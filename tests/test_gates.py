"""Gate rules: a file that cannot be read at all is one clear finding, and nothing else runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.workflows.check import check
from tests.helpers import assert_codes


@pytest.mark.parametrize(("name", "slot", "code"), [
    ("v.mp4", "training_video", "VID001"),
    ("a.wav", "audio", "AUD001"),
    ("c.jpg", "cover", "IMG001"),
    ("g.pdf", "grant_file", "IMG001"),
])
def test_gates(tmp_path: Path, name: str, slot: str, code: str) -> None:
    missing = tmp_path / name
    report = check([missing], slot=slot)
    assert_codes(report, expect=[code])
    assert [f.code for f in report.findings] == [code]
    assert "file not found" in report.findings[0].message
    assert report.findings[0].path == str(missing)

    missing.mkdir()
    assert_codes(check([missing], slot=slot), expect=[code])
    missing.rmdir()

    missing.write_bytes(b"")
    assert "empty" in check([missing], slot=slot).findings[0].message

    missing.write_bytes(b"some bytes")
    assert_codes(check([missing], slot=slot), absent=[code])


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "v.mp4"
    link.symlink_to(tmp_path / "gone.mp4")
    report = check([link])
    assert_codes(report, expect=["VID001"])
    assert "broken symbolic link" in report.findings[0].message
