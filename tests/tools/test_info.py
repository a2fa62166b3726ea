"""`preflight info FILE`: what the rules see, in text and JSON; bad input exits 2 with the
reason, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preflight.cli import cli
from preflight.errors import PreflightError, ProbeError
from preflight.workflows.info import describe


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.media.faces import FaceMedia
    from tests.media.factory import shared_dir

    return FaceMedia(shared_dir(tmp_path_factory, "faces"))


def _json(*args: str) -> Any:
    res = CliRunner().invoke(cli, ["info", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))


def test_a_phone_video_shows_its_displayed_size_and_rotation(media_factory: Any) -> None:
    v = media_factory.video(width=1920, height=1080, rotation=90, seconds=2, fps=30)
    info = _json(str(v), "--no-faces")
    assert info["kind"] == "video" and info["container"] == "mp4"
    assert info["video"]["coded_size"] == [1920, 1080]
    assert info["video"]["display_size"] == [1080, 1920] and info["video"]["rotation"] in (90, 270)
    assert info["video"]["fps"] == 30 and info["duration"] == pytest.approx(2.0, abs=0.1)
    assert info["audio"]["codec"] == "aac" and info["audio"]["peak_dbfs"] < 0
    assert info["frames"]["sampled"] == 8 and info["faces"] is None
    assert info["faces_skipped"] == "skipped (--no-faces)"
    text = CliRunner().invoke(cli, ["info", str(v), "--no-faces"]).output
    assert "Displayed size      1080x1920" in text and "Rotation            " in text


def test_a_sideways_take_shows_faces_and_the_turn(faces: Any) -> None:
    info = describe(faces.video(turn=90))
    assert info["faces"]["frames_with_face"] == 0
    assert info["faces"]["upright_turn_degrees"] == 270
    upright = describe(faces.video())
    assert upright["faces"]["frames_with_face"] == upright["faces"]["frames"] > 0
    assert upright["faces"]["upright_turn_degrees"] is None


def test_an_image_shows_mode_size_and_exif_orientation(media_factory: Any, faces: Any) -> None:
    info = _json(str(media_factory.image(width=800, height=1200, exif_orientation=6)))
    assert info["kind"] == "image" and info["image"]["exif_orientation"] == 6
    assert info["image"]["size"] == [800, 1200] and info["image"]["display_size"] == [1200, 800]
    assert info["image"]["mode"] == "RGB" and info["image"]["format"] == "JPEG"
    card = describe(faces.id_card())
    assert card["faces"]["count"] == 1 and len(card["faces"]["boxes"][0]) == 4


def test_a_pdf_and_an_audio_file(media_factory: Any, tmp_path: Path) -> None:
    from PIL import Image

    letter = tmp_path / "letter.pdf"
    pages = [Image.new("RGB", (200, 280), "white") for _ in range(3)]
    pages[0].save(letter, save_all=True, append_images=pages[1:])
    assert _json(str(letter))["pdf"]["pages"] == 3
    a = _json(str(media_factory.audio(seconds=3)))
    assert a["kind"] == "audio" and a["audio"]["sample_rate"] == 48000
    assert a["duration"] == pytest.approx(3.0, abs=0.05)
    named = tmp_path / "letter.jpg"  # the content decides, not the name
    shutil.copyfile(media_factory.pdf(), named)
    assert describe(named)["kind"] == "pdf"


def test_several_files_give_a_json_array(media_factory: Any) -> None:
    got = _json(str(media_factory.pdf()), str(media_factory.audio(seconds=1)), "--no-faces")
    assert [i["kind"] for i in got] == ["pdf", "audio"]


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "text", "truncated", "fifo"])
def test_bad_input_exits_2_with_the_reason(media_factory: Any, tmp_path: Path,
                                           kind: str) -> None:
    import os

    path = tmp_path / "x.mp4"
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not media\n", encoding="utf-8")
    elif kind == "truncated":
        data = media_factory.video(seconds=2).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "fifo":
        os.mkfifo(path)
    res = CliRunner().invoke(cli, ["info", str(path)])
    assert res.exit_code == 2, res.output
    assert str(path) in res.stderr and "Traceback" not in res.output
    assert "internal error" not in res.stderr
    with pytest.raises(PreflightError):
        describe(path)
    if kind in ("empty", "text", "truncated"):
        with pytest.raises(ProbeError):
            describe(path)


def test_a_name_with_control_characters_is_escaped(media_factory: Any, tmp_path: Path) -> None:
    path = tmp_path / "a\x1b]52;c;x\x07.pdf"
    shutil.copyfile(media_factory.pdf(), path)
    res = CliRunner().invoke(cli, ["info", str(path)])
    assert res.exit_code == 0 and "\x1b" not in res.output and "\\x1b" in res.output


def test_a_name_that_is_not_utf8_gives_strict_json(media_factory: Any, tmp_path: Path) -> None:
    import os

    raw = os.fsencode(tmp_path) + b"/\xff.pdf"
    shutil.copyfile(media_factory.pdf(), os.fsdecode(raw))
    res = CliRunner().invoke(cli, ["info", os.fsdecode(raw), "--format", "json"])
    assert res.exit_code == 0
    text = res.stdout_bytes.decode("utf-8")  # strict: no lone surrogates
    assert "\\ud" not in text and json.loads(text)["path"].endswith("\\xff.pdf")
