"""`preflight init [FOLDER]`: a commented spec drafted from the media's content, that `check`
reads and the schema accepts; an existing spec is never replaced without --force."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from preflight.cli import cli, main
from preflight.spec.json_schema import spec_schema
from preflight.workflows.init import draft_spec


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.media.faces import FaceMedia
    from tests.media.factory import shared_dir

    return FaceMedia(shared_dir(tmp_path_factory, "faces"))


@pytest.fixture
def shoot(tmp_path: Path, faces: Any, media_factory: Any) -> Path:
    """A folder as a crew leaves it: names that say nothing about the uploads."""
    folder = tmp_path / "shoot"
    (folder / "cam").mkdir(parents=True)
    shutil.copyfile(faces.video(seconds=4), folder / "cam" / "C0001.mp4")
    shutil.copyfile(faces.id_card(side="front"), folder / "scan1.jpg")
    shutil.copyfile(faces.id_card(side="back"), folder / "scan2.jpg")
    shutil.copyfile(media_factory.pdf(), folder / "signed.pdf")
    shutil.copyfile(media_factory.audio(seconds=3), folder / "voice.wav")
    (folder / "notes.txt").write_text("shot list\n", encoding="utf-8")
    return folder


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_init_writes_a_spec_that_check_reads(shoot: Path) -> None:
    res = CliRunner().invoke(cli, ["init", str(shoot)])
    assert res.exit_code == 0, res.output
    spec = shoot / "avatar.toml"
    data = tomllib.loads(spec.read_text(encoding="utf-8"))
    assert data["media"] == {"training_video": "cam/C0001.mp4", "audio": ["voice.wav"],
                             "id_card_front": "scan1.jpg", "id_card_back": "scan2.jpg",
                             "grant_file": "signed.pdf"}
    assert data["job"]["is_background_replacement"] is True  # the take is on green
    assert data["job"]["audio_source_type"] == "AUDIO" and data["job"]["name"] == "shoot"
    assert spec.read_text(encoding="utf-8").startswith("#:schema ./avatar.schema.json\n")
    schema = json.loads((shoot / "avatar.schema.json").read_text(encoding="utf-8"))
    assert schema == spec_schema()
    jsonschema.Draft202012Validator(schema).validate(data)
    assert main(["check", str(spec), "--no-cache"]) in (0, 1)  # findings, never a usage error


def test_init_never_replaces_a_spec_without_force(shoot: Path) -> None:
    spec = shoot / "avatar.toml"
    spec.write_text('[job]\nname = "mine"\n', encoding="utf-8")
    before = _sha(spec)
    res = CliRunner().invoke(cli, ["init", str(shoot)])
    assert res.exit_code == 2 and "exists" in res.stderr and "--force" in res.stderr
    assert _sha(spec) == before
    res = CliRunner().invoke(cli, ["init", str(shoot), "--force", "--no-faces"])
    assert res.exit_code == 0 and _sha(spec) != before
    assert not list(shoot.glob(".avatar.toml.*"))


def test_init_never_writes_through_a_link(shoot: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    os.symlink(victim, shoot / "avatar.toml")
    res = CliRunner().invoke(cli, ["init", str(shoot), "--force", "--no-faces"])
    assert res.exit_code == 2 and "symbolic link" in res.stderr
    assert victim.read_text(encoding="utf-8") == "keep me\n"


def test_print_writes_nothing(shoot: Path) -> None:
    res = CliRunner().invoke(cli, ["init", str(shoot), "--print", "--no-faces"])
    assert res.exit_code == 0 and res.output.startswith("#:schema")
    assert not (shoot / "avatar.toml").exists()


def test_without_faces_the_sides_follow_their_names(tmp_path: Path, faces: Any) -> None:
    shutil.copyfile(faces.id_card(side="back"), tmp_path / "id_back.jpg")
    shutil.copyfile(faces.id_card(side="front"), tmp_path / "id_front.jpg")
    shutil.copyfile(faces.video(seconds=4), tmp_path / "take.mp4")
    draft = draft_spec(tmp_path, faces=False)
    assert draft.slots["id_card_front"] == [tmp_path / "id_front.jpg"]
    assert draft.slots["id_card_back"] == [tmp_path / "id_back.jpg"]
    assert "grant_file" not in draft.slots and '# grant_file = "…"' in draft.text


def test_the_take_is_the_video_with_the_face(tmp_path: Path, faces: Any,
                                             media_factory: Any) -> None:
    """A longer video without a presenter (a test pattern) is not taken for the take."""
    shutil.copyfile(media_factory.video(seconds=6), tmp_path / "a_long.mp4")
    shutil.copyfile(faces.video(seconds=4), tmp_path / "b_short.mp4")
    draft = draft_spec(tmp_path)
    assert draft.slots["training_video"] == [tmp_path / "b_short.mp4"]
    assert any(p.name == "a_long.mp4" for p, _ in draft.unused)
    assert '# not used: "a_long.mp4"' in draft.text


def test_odd_names_are_written_as_valid_toml(tmp_path: Path, media_factory: Any) -> None:
    shutil.copyfile(media_factory.pdf(), tmp_path / 'say "hi" \\ ok.pdf')
    data = tomllib.loads(draft_spec(tmp_path, faces=False).text)
    assert data["media"]["grant_file"] == 'say "hi" \\ ok.pdf'


@pytest.mark.parametrize("kind", ["missing", "empty", "no-media"])
def test_nothing_to_draft_exits_2(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "f"
    if kind != "missing":
        folder.mkdir()
    if kind == "no-media":
        (folder / "take.mp4").write_text("not a video\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["init", str(folder)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert not (folder / "avatar.toml").exists()


def test_silent_and_unreadable_files_are_listed_not_used(tmp_path: Path,
                                                         media_factory: Any) -> None:
    shutil.copyfile(media_factory.audio(seconds=2, kind="silent"), tmp_path / "room.wav")
    shutil.copyfile(media_factory.audio(seconds=2), tmp_path / "voice.wav")
    (tmp_path / "broken.mp4").write_text("not a video\n", encoding="utf-8")
    draft = draft_spec(tmp_path, faces=False)
    assert draft.slots["audio"] == [tmp_path / "voice.wav"]
    reasons = {p.name: why for p, why in draft.unused}
    assert reasons["room.wav"].startswith("silent audio")
    assert reasons["broken.mp4"].startswith("cannot be read: is not a video, audio, image or PDF")
    assert '# training_video = "take.mp4"' in draft.text  # no video: the line says so
