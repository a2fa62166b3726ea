"""Contact sheets, the sample specs, and the promise that inputs are never modified."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from preflight.cli import cli
from preflight.errors import PreflightError
from preflight.spec import load_spec
from preflight.workflows.check import check
from tests.helpers import count_frame_samples
from tests.platform import posix_only

ROOT = Path(__file__).resolve().parents[2]


def test_contact_sheet_from_the_check(media_factory: Any, tmp_path: Path) -> None:
    v = media_factory.video(width=360, height=640)
    out = tmp_path / "sheet.png"
    report = check(v, slot="training_video", contact_sheet=out)
    assert report.files == (str(v),)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width >= 640 and img.height > 300


def test_contact_sheet_does_not_decode_again(media_factory: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    v = media_factory.video(width=360, height=640, background="blue")
    calls = count_frame_samples(monkeypatch)
    check(v, slot="training_video", contact_sheet=tmp_path / "s.png")
    assert calls == [v]  # the sheet reused the frames sampled by the check


def test_contact_sheet_of_a_broken_video_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope", encoding="utf-8")
    out = tmp_path / "sheet.png"
    check(bad, slot="training_video", contact_sheet=out)
    assert out.stat().st_size > 0


def test_contact_sheet_needs_a_video(media_factory: Any, tmp_path: Path) -> None:
    with pytest.raises(PreflightError):
        check(media_factory.image(), slot="cover", contact_sheet=tmp_path / "s.png")


def test_cli_contact_sheet_option(media_factory: Any, tmp_path: Path) -> None:
    v = media_factory.video(width=360, height=640)
    out = tmp_path / "cli-sheet.png"
    result = CliRunner().invoke(cli, ["check", str(v), "--contact-sheet", str(out),
                                      "--no-cache"])
    assert result.exit_code == 1, result.output  # 360x640 and 2 s: VID006, VID007
    assert "Traceback" not in result.output
    assert out.exists()


def test_sample_specs_are_valid() -> None:
    good = load_spec(ROOT / "sample_media" / "avatar.toml")
    broken = load_spec(ROOT / "sample_media" / "broken.toml")
    assert good.media["training_video"][0].name == "presenter.mp4"
    assert good.job["is_background_replacement"] is True
    assert {"training_video", "audio", "cover", "grant_file"} <= set(broken.media)


def digest(p: Path) -> tuple[str, float]:
    return hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime


def test_inputs_are_never_modified(media_factory: Any, tmp_path: Path) -> None:
    files = {
        "training_video": [media_factory.video(seconds=180),
                           media_factory.video(container="mov", suffix=".mp4"),
                           media_factory.video(width=1920, height=1080, rotation=90)],
        "audio": [media_factory.audio(seconds=61), media_factory.audio(kind="silent")],
        "cover": [media_factory.image(), media_factory.image(exif_orientation=6),
                  media_factory.bomb_png()],
        "grant_file": [media_factory.pdf()],
    }
    for slot, paths in files.items():
        for p in paths:
            os.chmod(p, 0o444)
            before = digest(p)
            check(p, slot=slot)
            assert digest(p) == before, p
            os.chmod(p, 0o644)


@posix_only
def test_fifo_named_like_a_video_never_blocks(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    got: list[Any] = []
    worker = threading.Thread(
        target=lambda: got.append(check(fifo, slot="training_video",
                                        contact_sheet=tmp_path / "s.png")),
        daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "checking a FIFO blocked"
    codes = {f.code[:3]: f.code for f in got[0].findings}
    assert codes["VID"] == "VID001" and "GRN" not in codes
