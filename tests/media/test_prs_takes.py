"""Presenter verdicts on takes of other framings: small and tiny faces, a smaller second
person, a sideways small face, turning away, a frame the detector finds hard, a poster in the
background; and the same PRS findings whichever rules are selected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from preflight.model import Finding, Report
from preflight.rules.config import Config
from preflight.workflows.check import check
from tests.helpers import assert_codes
from tests.media.faces import FaceMedia
from tests.media.factory import shared_dir

pytest.importorskip("dlib", reason="the presenter checks need the 'face' extra")

FLEXUS = {"is_flexus": True, "is_background_replacement": True}
#: Scales of `FaceMedia.video` (720x1280) giving a face of about 8 % and 3 % of the height.
SMALL, TINY = 0.39, 0.15


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> FaceMedia:
    return FaceMedia(shared_dir(tmp_path_factory, "faces"))


def take(path: Path, job: dict[str, Any] | None = None, config: Config | None = None) -> Report:
    return check(path, slot="training_video", job=job, config=config)


def one(report: Report, code: str) -> Finding:
    return next(f for f in report.findings if f.code == code)


def test_a_small_face_is_found_not_missing(faces: FaceMedia) -> None:
    """About 8 % of the height (a standard take filmed from further away): the face is found
    in every frame; its size is a note (standard), not a missing face."""
    report = take(faces.video(scale=SMALL))
    assert_codes(report, expect=["PRS004"], absent=["PRS001", "PRS002"])
    f = one(report, "PRS004")
    assert f.severity.value == "info" and 0.06 <= f.details["face_height_share"] <= 0.1
    assert all(fr["boxes"] for fr in f.details["faces"])


@pytest.mark.parametrize("poster", [None, "hopper"])
def test_a_tiny_face_is_too_small_to_judge_not_absent(faces: FaceMedia,
                                                      poster: str | None) -> None:
    """About 3 %: under the 4 % floor. Not PRS001's "no face": a warning naming the floor;
    a larger portrait hanging behind is not taken for the presenter."""
    report = take(faces.video(scale=TINY, poster=poster))
    assert_codes(report, expect=["PRS004"], absent=["PRS001", "PRS002"])
    f = one(report, "PRS004")
    assert f.severity.value == "warning" and "too small to judge" in f.message
    assert "4%" in f.message and f.details["floor"] == pytest.approx(0.04, abs=0.001)
    assert 0.02 <= f.details["face_height_share"] < 0.04


def test_a_smaller_second_person_warns(faces: FaceMedia) -> None:
    """A colleague beside the presenter with a face of about 6 % of the height."""
    video = faces.video(people=("astronaut", "hopper"), sizes=(1.0, 0.28))
    report = take(video)
    assert_codes(report, expect=["PRS003"], absent=["PRS001"])
    f = one(report, "PRS003")
    assert "2 faces" in f.message and f.severity.value == "warning"
    second = [b for fr in f.details["faces"] for b in fr["boxes"][1:]]
    assert second and all((b[3] - b[1]) / f.details["frame_size"][1] < 0.08 for b in second)


def test_a_poster_is_not_a_second_person(faces: FaceMedia) -> None:
    """A portrait hanging behind the presenter does not move: not a second person, and not the
    presenter either (the identity compares the person who moves)."""
    report = take(faces.video(poster="hopper"))
    assert_codes(report, absent=["PRS001", "PRS003"])


def test_a_sideways_small_face_is_a_rotation_not_a_missing_face(faces: FaceMedia) -> None:
    report = take(faces.video(turn=90, scale=0.5))
    assert_codes(report, expect=["PRS002"], absent=["PRS001"])
    assert "--rotate 270" in (one(report, "PRS002").fix or "")


def test_turning_away_for_a_while_fails(faces: FaceMedia) -> None:
    """Nobody in the picture for 10 of 20 s: half the frames miss the face."""
    report = take(faces.video(seconds=20, away=(5.0, 15.0)))
    assert_codes(report, expect=["PRS001"], absent=["PRS002", "PRS004"])
    f = one(report, "PRS001")
    assert f.severity.value == "error" and "4 of 8" in f.message
    assert len(f.details["missing_at"]) == 4


def test_one_missed_frame_between_faces_is_a_detector_miss(faces: FaceMedia) -> None:
    """One sampled frame the detector finds hard (the face blurred): the frames either side
    show the presenter, so the take is not short of faces."""
    from preflight.inspect.face import noting

    video = faces.video(seconds=8, hard=(3.9, 4.9))
    with noting() as seen:
        report = take(video, FLEXUS)
    assert_codes(report, absent=["PRS001"])
    noted = next(iter(seen.values()))["faces"]
    assert sum(1 for f in noted if not f.boxes) == 1  # the detector did miss it


def test_a_hard_frame_in_the_silent_segment_is_not_an_absence(faces: FaceMedia) -> None:
    """Flexus: the frame in the middle of the silent run is one the detector misses; two
    seconds either side the presenter is there: no PRS011."""
    report = take(faces.video(seconds=22, pause=(2.0, 19.5), hard=(9.9, 11.0)), FLEXUS)
    assert_codes(report, absent=["PRS011", "PRS001"])


def _spec(tmp_path: Path, video: Path, front: Path) -> Path:
    p = tmp_path / "job.json"
    p.write_text(json.dumps({"job": {"name": "t", "is_background_replacement": True},
                             "media": {"training_video": str(video),
                                       "id_card_front": str(front)}}), encoding="utf-8")
    return p


def test_identity_names_the_compared_face(faces: FaceMedia, tmp_path: Path) -> None:
    report = check(_spec(tmp_path, faces.video(), faces.id_card(person="hopper")))
    f = one(report, "PRS009")
    assert "the presenter (the face at 0:0" in f.message and "box " in f.message
    box = f.details["sampled_frame_box"]
    assert len(box) == 4 and box[0] < box[2] and box[1] < box[3]


def _plain(value: Any) -> Any:
    return dict(value) if hasattr(value, "items") else list(value)


def _prs(report: Report, code: str | None = None) -> list[tuple[str, str, str, str]]:
    return sorted((f.code, f.severity.value, f.message,
                   json.dumps(f.details, sort_keys=True, default=_plain))
                  for f in report.findings if f.family == "PRS" and code in (None, f.code))


CASES: dict[str, dict[str, Any]] = {
    "upright": {}, "small": {"scale": SMALL}, "tiny": {"scale": TINY},
    "second person": {"people": ("astronaut", "hopper"), "sizes": (1.0, 0.28)},
    "two alike": {"people": ("astronaut", "hopper"), "sizes": (1.0, 0.97)},
    "poster": {"poster": "hopper"}, "sideways": {"turn": 90, "scale": 0.5},
    "tiny, poster": {"scale": TINY, "poster": "hopper"},
    "away": {"seconds": 20, "away": (5.0, 15.0)},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_selection_never_changes_a_presenter_finding(faces: FaceMedia, tmp_path: Path,
                                                     case: str) -> None:
    """All rules, `--select PRS` and a single PRS code give the same PRS findings (message,
    severity and details), identity included."""
    spec = _spec(tmp_path, faces.video(**CASES[case]), faces.id_card(person="hopper"))
    full = _prs(check(spec))
    assert _prs(check(spec, config=Config().with_cli(select=["PRS"]))) == full
    assert _prs(check(spec, config=Config().with_cli(ignore=["GRN", "VID"]))) == full
    for code in sorted({c for c, *_ in full}):
        alone = check(spec, config=Config().with_cli(select=[code]))
        assert _prs(alone, code) == [f for f in full if f[0] == code], code


def test_html_marks_a_mismatching_id_card_and_names_the_compared_face(
        faces: FaceMedia, tmp_path: Path) -> None:
    """The ID card whose face is not the presenter's is not "passes" on its own card, and the
    card's summary says which face of the video was compared."""
    from preflight.report.html import RenderOptions, render_jobs
    from preflight.rules import rule_infos
    from preflight.workflows.check import check_views

    front = faces.id_card(person="hopper")
    viewed = check_views([_spec(tmp_path, faces.video(), front)])
    out = render_jobs(viewed.jobs, RenderOptions(rules=rule_infos(), root=str(tmp_path)))
    cards = out.split('<article class="card ')[1:]
    card = next(c for c in cards if front.name in c.split("</article>")[0][:2000])
    assert card.startswith("error") and "passes" not in card.split("</span>")[0]
    assert "identity distance" in out and "(the face at 0:0" in out
    assert "white box: the face compared with the ID card" in out


def test_a_low_resolution_grey_id_card_is_judged(faces: FaceMedia, tmp_path: Path) -> None:
    """A 480 px wide scan (the face about 50 px high): found, and matched with the presenter;
    another person's card of that size still fails."""
    small = faces.id_card(width=480)
    assert_codes(check(small, slot="id_card_front"), absent=["PRS005"])
    assert_codes(check(_spec(tmp_path, faces.video(), small)), absent=["PRS005", "PRS009"])
    other = faces.id_card(person="hopper", width=480)
    assert_codes(check(_spec(tmp_path, faces.video(), other)), expect=["PRS009"])
