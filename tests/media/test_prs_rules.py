"""Pass and fail cases for the PRS (presenter) rules, on media built from real portraits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from preflight.model import Report
from preflight.workflows.check import check
from tests.helpers import assert_codes
from tests.media.faces import FaceMedia
from tests.media.factory import shared_dir

pytest.importorskip("dlib", reason="the presenter checks need the 'face' extra")

FLEXUS = {"is_flexus": True, "is_background_replacement": False}
VIDEO_PRS = ["PRS001", "PRS002", "PRS003", "PRS004", "PRS012"]


@pytest.fixture(scope="session")
def faces(tmp_path_factory: pytest.TempPathFactory) -> FaceMedia:
    return FaceMedia(shared_dir(tmp_path_factory, "faces"))


def take(path: Path, job: dict[str, Any] | None = None) -> Report:
    return check(path, slot="training_video", job=job)


def prs(report: Report) -> list[str]:
    return [f.code for f in report.findings if f.family == "PRS"]


def test_green_screen_face_passes(faces: FaceMedia) -> None:
    report = take(faces.video())
    assert_codes(report, absent=[*VIDEO_PRS, "PRS000", "PRS009", "PRS010"])
    assert prs(report) == ["PRS011"]  # standard: no silent run is a note
    assert next(f for f in report.findings if f.code == "PRS011").severity.value == "info"


def test_real_scene_flexus_face_passes(faces: FaceMedia) -> None:
    report = take(faces.video(bg="office", people=("hopper",)), FLEXUS)
    assert_codes(report, absent=VIDEO_PRS)


def test_rotated_take_fails_with_the_fix(faces: FaceMedia) -> None:
    report = take(faces.video(turn=90))
    assert_codes(report, expect=["PRS002"], absent=["PRS001"])
    f = next(f for f in report.findings if f.code == "PRS002")
    assert f.severity.value == "error"
    assert "--rotate 270" in (f.fix or "")
    assert "transpose=2" in f.details["ffmpeg"]
    assert f.details["quarter_turns"] == 1


def test_upside_down_take_fails(faces: FaceMedia) -> None:
    f = next(f for f in take(faces.video(turn=180)).findings if f.code == "PRS002")
    assert "--rotate 180" in (f.fix or "")


def test_rotation_metadata_is_respected(faces: FaceMedia) -> None:
    """Stored sideways with display rotation that shows it upright: what is displayed counts."""
    assert_codes(take(faces.video(rotation=90)), absent=["PRS001", "PRS002"])


def test_rotate_fix_plan_turns_the_picture() -> None:
    from preflight.rules.conform import plan_for, video_filter

    facts = {"container": "mp4", "video_codec": "avc", "display_width": 1920,
             "display_height": 1080, "duration": 200.0, "fps": 25, "audio_codec": "aac"}
    plan = plan_for(facts, edition="standard", rotate=90)
    assert plan.video == "encode" and video_filter(plan) == "transpose=1"
    assert (plan.width, plan.height) == (None, None)  # 1080x1920 after turning: accepted
    with pytest.raises(ValueError):
        plan_for(facts, edition="standard", rotate=45)


def test_no_face_fails_naming_frames(faces: FaceMedia) -> None:
    report = take(faces.video(people=()))
    assert_codes(report, expect=["PRS001"], absent=["PRS002", "PRS003", "PRS004"])
    f = next(f for f in report.findings if f.code == "PRS001")
    assert f.severity.value == "error" and len(f.details["missing_at"]) == 8
    assert "0:0" in f.message


def test_two_people_warn(faces: FaceMedia) -> None:
    report = take(faces.video(people=("astronaut", "hopper"), width=1280, height=720))
    assert_codes(report, expect=["PRS003"], absent=["PRS001"])
    f = next(f for f in report.findings if f.code == "PRS003")
    assert f.severity.value == "warning"
    assert all(len(fr["boxes"]) == 2 for fr in f.details["faces"])


def test_small_face_is_an_error_for_flexus_and_a_note_otherwise(faces: FaceMedia) -> None:
    small = faces.video(scale=0.6)
    flexus = take(small, {"is_flexus": True, "is_background_replacement": True})
    assert_codes(flexus, expect=["PRS004"], absent=["PRS001"])
    f = next(f for f in flexus.findings if f.code == "PRS004")
    assert f.severity.value == "error" and f.details["face_height_share"] < 0.2
    std = next(f for f in take(small).findings if f.code == "PRS004")
    assert std.severity.value == "info"


def test_flexus_take_without_pause_fails_with_one_passes(faces: FaceMedia) -> None:
    job = {"is_flexus": True, "is_background_replacement": True}
    without = take(faces.video(seconds=22), job)
    assert_codes(without, expect=["PRS011"])
    f = next(f for f in without.findings if f.code == "PRS011")
    assert f.severity.value == "error" and f.details["longest_quiet_seconds"] < 15
    with_pause = take(faces.video(seconds=22, pause=(2.0, 19.5)), job)
    assert_codes(with_pause, absent=["PRS011"])


def test_silent_run_without_the_face_fails_for_flexus(faces: FaceMedia) -> None:
    """A long enough silent run, but the presenter has left the picture in its middle."""
    job = {"is_flexus": True, "is_background_replacement": True}
    report = take(faces.video(seconds=22, pause=(2.0, 19.5), away=(8.0, 13.5)), job)
    f = next(f for f in report.findings if f.code == "PRS011")
    assert f.severity.value == "error" and "shows no face" in f.message
    assert f.details["longest_quiet_seconds"] >= 15
    assert 8.0 <= f.details["checked_at"] <= 13.5


def test_silent_run_late_in_the_take_is_checked_where_it_is(faces: FaceMedia) -> None:
    """The frame checked is in the middle of the run, also when that is past half the take."""
    job = {"is_flexus": True, "is_background_replacement": True}
    report = take(faces.video(seconds=30, pause=(12.0, 29.5), away=(17.0, 25.0)), job)
    f = next(f for f in report.findings if f.code == "PRS011")
    assert "shows no face" in f.message
    assert 17.0 <= f.details["checked_at"] <= 25.0


def test_silent_run_is_measured_where_it_is(faces: FaceMedia) -> None:
    report = take(faces.video(seconds=30, pause=(8.0, 16.0)),
                  {"is_flexus": True, "is_background_replacement": True})
    f = next(f for f in report.findings if f.code == "PRS011")
    assert 6.5 <= f.details["longest_quiet_seconds"] <= 9.5
    assert 7.0 <= f.details["start"] <= 9.0
    assert "0:08" in f.message or "0:07" in f.message or "0:09" in f.message


def test_shaky_camera_warns_for_flexus(faces: FaceMedia) -> None:
    report = take(faces.video(bg="office", shake=0.05), FLEXUS)
    assert_codes(report, expect=["PRS012"])
    f = next(f for f in report.findings if f.code == "PRS012")
    assert f.severity.value == "warning" and f.details["shift"] > 0.02


def test_a_second_smaller_face_beside_the_presenter_warns(faces: FaceMedia) -> None:
    """A colleague further back (a head a third of the presenter's size) is found too."""
    report = take(faces.video(people=("astronaut", "hopper"), sizes=(1.0, 0.35)))
    assert_codes(report, expect=["PRS003"])
    f = next(f for f in report.findings if f.code == "PRS003")
    assert "2 faces" in f.message


def test_a_presenter_swaying_on_a_green_screen_is_not_a_moving_camera() -> None:
    """A wide, textured subject (arms, a sign) that moves on a plain green screen: outside the
    face-and-shoulders box it looks like a moving camera, outside the subject box it is not."""
    import numpy as np

    from preflight.inspect.face import Box, FrameFaces, steadiness

    rng = np.random.default_rng(1)
    texture = rng.integers(0, 255, (120, 130, 3), dtype=np.uint8)
    frames, seen, regions = [], [], []
    for i, dx in enumerate((0, 30, 0, 30)):
        rgb = np.zeros((320, 180, 3), dtype=np.uint8)
        rgb[...] = (0, 177, 64)
        rgb[100:220, 10 + dx:140 + dx] = texture
        frames.append((float(i), rgb))
        seen.append(FrameFaces(float(i), (180, 320), (Box(65 + dx, 60, 90 + dx, 85, 1.0),)))
        regions.append((10 + dx, 60, 140 + dx, 220))
    assert steadiness(frames, seen).shift > 0.02
    assert steadiness(frames, seen, regions).shift <= 0.02


def test_a_full_length_shot_has_its_small_face_found(faces: FaceMedia) -> None:
    """A face of about 6 % of the frame height (20 px in the 320 px frames) is found where the
    head is; the silent run's frame is searched there too."""
    video = faces.video(scale=0.3, seconds=30, pause=(8.0, 26.0))
    report = take(video, {"is_flexus": True, "is_background_replacement": True})
    assert_codes(report, absent=["PRS001", "PRS002", "PRS011"], expect=["PRS004"])
    f = next(f for f in report.findings if f.code == "PRS004")
    assert len([x for x in f.details["faces"] if x["boxes"]]) == 8
    box = f.details["faces"][0]["boxes"][0]
    assert (box[3] - box[1]) / f.details["frame_size"][1] < 0.09


def card(path: Path, slot: str = "id_card_front") -> Report:
    return check(path, slot=slot)


def test_id_card_front_with_face_passes(faces: FaceMedia) -> None:
    assert_codes(card(faces.id_card()), absent=["PRS005", "PRS006", "PRS008"])
    assert_codes(card(faces.id_card(side="back"), "id_card_back"), absent=["PRS007"])


def test_id_card_without_face_fails(faces: FaceMedia) -> None:
    report = card(faces.id_card(person=None))
    assert_codes(report, expect=["PRS005"])
    assert report.findings[0].severity.value == "error"


def test_id_card_with_two_faces_warns(faces: FaceMedia) -> None:
    assert_codes(card(faces.id_card(faces=2)), expect=["PRS006"], absent=["PRS005"])


def test_id_card_back_with_face_warns(faces: FaceMedia) -> None:
    assert_codes(card(faces.id_card(), "id_card_back"), expect=["PRS007"])


def test_blurred_id_card_warns_with_the_measure(faces: FaceMedia) -> None:
    report = card(faces.id_card(blur=1.5))
    assert_codes(report, expect=["PRS008"], absent=["PRS005"])
    f = next(f for f in report.findings if f.code == "PRS008")
    assert f.details["sharpness"] < 60 and "blurred" in f.message


def test_washed_out_id_card_warns(faces: FaceMedia) -> None:
    report = card(faces.id_card(glare=True))
    assert_codes(report, expect=["PRS008"], absent=["PRS005"])
    assert "washed out" in next(f for f in report.findings if f.code == "PRS008").message


def spec(tmp_path: Path, video: Path, front: Path, back: Path | None = None) -> Path:
    media = {"training_video": str(video), "id_card_front": str(front)}
    if back is not None:
        media["id_card_back"] = str(back)
    p = tmp_path / "job.json"
    p.write_text(json.dumps({"job": {"name": "t", "is_background_replacement": True},
                             "media": media}), encoding="utf-8")
    return p


def test_identity_mismatch_fails_in_a_whole_spec(faces: FaceMedia, tmp_path: Path) -> None:
    video, other = faces.video(), faces.id_card(person="hopper")
    report = check(spec(tmp_path, video, other))
    assert_codes(report, expect=["PRS009"], absent=["PRS010"])
    f = next(f for f in report.findings if f.code == "PRS009")
    assert f.severity.value == "error" and f.details["distance"] > 0.6
    assert other.name in f.message and Path(f.path or "").name == video.name


def test_identity_of_a_sideways_take_is_compared_upright(faces: FaceMedia,
                                                         tmp_path: Path) -> None:
    report = check(spec(tmp_path, faces.video(turn=90), faces.id_card(person="hopper")))
    assert_codes(report, expect=["PRS002", "PRS009"])
    f = next(f for f in report.findings if f.code == "PRS009")
    assert f.details["video_quarter_turns"] == 1


def test_identity_match_passes(faces: FaceMedia, tmp_path: Path) -> None:
    report = check(spec(tmp_path, faces.video(), faces.id_card()))
    assert_codes(report, absent=["PRS009", "PRS010", "PRS005"])


def test_identity_grey_zone_warns(faces: FaceMedia, tmp_path: Path) -> None:
    p = spec(tmp_path, faces.video(), faces.id_card())
    (tmp_path / "preflight.toml").write_text(
        '[rules]\nPRS010 = { options = { max_distance = 0.5, grey_zone = 0.45 } }\n',
        encoding="utf-8")
    report = check(p)
    assert_codes(report, expect=["PRS010"], absent=["PRS009"])


def test_identity_in_quick_mode_only_with_both_files(faces: FaceMedia, tmp_path: Path) -> None:
    video = faces.video()
    front = tmp_path / "id_front.jpg"
    front.write_bytes(faces.id_card(person="hopper").read_bytes())
    assert_codes(check([video, front]), expect=["PRS009"])
    assert_codes(check([video]), absent=["PRS009"])


def test_identity_cache_key_includes_the_id_card(faces: FaceMedia, tmp_path: Path) -> None:
    import shutil

    video = faces.video()
    front = tmp_path / "front.jpg"
    shutil.copy(faces.id_card(), front)
    p = spec(tmp_path, video, front)
    cache = tmp_path / "cache"
    assert_codes(check(p, cache=cache), absent=["PRS009"])
    shutil.copy(faces.id_card(person="hopper"), front)
    assert_codes(check(p, cache=cache), expect=["PRS009"])


def test_without_the_extra_one_note_and_no_crash(faces: FaceMedia, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from preflight.inspect import face

    real = builtins.__import__

    def fake(name: str, *args: Any, **kw: Any) -> Any:
        if name.split(".")[0] in ("dlib", "face_recognition_models"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kw)

    face.unavailable.cache_clear()
    monkeypatch.setattr(builtins, "__import__", fake)
    try:
        report = check(spec(tmp_path, faces.video(people=()), faces.id_card(person=None),
                            faces.id_card()))
    finally:
        monkeypatch.undo()
        face.unavailable.cache_clear()
    # Only the silent-segment rule (audio, no face model) still runs besides the one note.
    notes = [f for f in report.findings if f.family == "PRS" and f.code != "PRS011"]
    assert [f.code for f in notes] == ["PRS000"]
    assert notes[0].severity.value == "info"
    assert "pip install 'metastudio-preflight[face]'" in notes[0].message
    assert_codes(report, expect=["PRS000"])
    assert face.unavailable() is None


def test_models_load_without_pkg_resources() -> None:
    """face-recognition-models' own module needs pkg_resources (setuptools), absent from pipx
    and Python 3.12+ venvs; the model files are found without importing it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pkg_resources', 'setuptools'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from preflight.inspect import face\n"
        "assert face.unavailable() is None, face.unavailable()\n"
        "face._describer()\n"
        "assert 'face_recognition_models' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_missing_model_files_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from preflight.inspect import face

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    face.unavailable.cache_clear()
    face._model_dir.cache_clear()
    try:
        why = face.unavailable()
    finally:
        monkeypatch.undo()
        face.unavailable.cache_clear()
        face._model_dir.cache_clear()
    assert why is not None and "face-recognition-models" in why
    assert face.unavailable() is None


def test_with_the_extra_no_note(faces: FaceMedia) -> None:
    assert_codes(take(faces.video()), absent=["PRS000"])


def test_report_details_carry_face_boxes(faces: FaceMedia) -> None:
    report = take(faces.video(scale=0.6))
    f = next(f for f in report.findings if f.code == "PRS004")
    box = f.details["faces"][0]["boxes"][0]
    w, h = f.details["frame_size"]
    assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h


def test_contact_sheet_draws_face_boxes_and_verdicts(faces: FaceMedia, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from preflight.inspect.face import noting
    from preflight.workflows.contact_sheet import presenter_line

    sheet = tmp_path / "sheet.png"
    p = spec(tmp_path, faces.video(), faces.id_card(person="hopper"))
    check(p, contact_sheet=sheet)
    px = np.asarray(Image.open(sheet).convert("RGB")).astype(int)
    cyan = (px[..., 0] < 40) & (px[..., 1] > 200) & (px[..., 2] > 230)
    assert cyan.sum() > 200  # the face boxes (and the legend)
    with noting() as seen:
        check(p)
    line = presenter_line(next(iter(seen.values())))
    assert line is not None and "upright face in 8 of 8 frames" in line
    assert "identity distance 0." in line and "(the face at 0:0" in line
    with noting() as seen:
        take(faces.video(turn=90))
    line = presenter_line(next(iter(seen.values())))
    assert line is not None and "NOT UPRIGHT" in line


def test_json_report_carries_faces_and_distance(faces: FaceMedia, tmp_path: Path) -> None:
    from preflight.report import render

    report = check(spec(tmp_path, faces.video(), faces.id_card(person="hopper")))
    data = json.loads(render(report, "json"))
    f = next(f for f in data["findings"] if f["code"] == "PRS009")
    assert f["details"]["distance"] > 0.6 and len(f["details"]["video_box"]) == 4


def test_the_fix_of_a_sideways_take_turns_it_upright(faces: FaceMedia, tmp_path: Path) -> None:
    """The command PRS002 gives, run as given, makes a take every face rule accepts."""
    import shlex

    from click.testing import CliRunner

    from preflight.cli import cli

    (tmp_path / "preflight.toml").write_text(  # a 4 s take stands for a 3-minute one
        '[rules]\n"video-duration" = { options = { min_seconds = 1, max_seconds = 10 } }\n',
        encoding="utf-8")
    src = tmp_path / "sideways.mp4"
    src.write_bytes(faces.video(turn=90).read_bytes())
    f = next(f for f in take(src).findings if f.code == "PRS002")
    argv = shlex.split(f.fix or "")
    assert argv[:2] == ["preflight", "fix"]
    result = CliRunner().invoke(cli, argv[1:])
    assert "transpose=2" in result.output and "Traceback" not in result.output
    fixed = Path(argv[argv.index("-o") + 1])
    assert fixed.exists()
    assert_codes(take(fixed), absent=["PRS001", "PRS002"])


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("Error deserializing a dlib "
                                                                 "matrix")])
def test_a_presenter_check_that_cannot_run_says_so(faces: FaceMedia, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   error: Exception) -> None:
    """Out of memory (or a dlib failure) in the face search: each presenter rule that could not
    run is at least a warning naming the cause, so the check does not pass as clean."""
    from preflight.inspect import face

    def fail(*args: Any, **kw: Any) -> Any:
        raise error

    monkeypatch.setattr(face, "detect", fail)
    monkeypatch.setattr(face, "_photos", {})  # nothing searched earlier in this process
    report = check(spec(tmp_path, faces.video(), faces.id_card(), faces.id_card(side="back")))
    failed = [f for f in report.findings if f.details.get("not_run")]
    codes = {f.code for f in failed}
    assert {"PRS001", "PRS005", "PRS009"} <= codes
    assert all(f.severity.value in ("warning", "error") for f in failed)
    assert all(type(error).__name__ in f.message and "could not run" in f.message
               for f in failed)
    assert report.errors or report.warnings


def test_a_missing_model_file_is_a_warning(faces: FaceMedia, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from preflight.inspect import face

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    face.unavailable.cache_clear()
    face._model_dir.cache_clear()
    try:
        report = check(spec(tmp_path, faces.video(), faces.id_card()))
    finally:
        monkeypatch.undo()
        face.unavailable.cache_clear()
        face._model_dir.cache_clear()
    f = next(f for f in report.findings if f.code == "PRS000")
    assert f.severity.value == "warning" and "could not run" in f.message
    assert "face-recognition-models" in f.message
