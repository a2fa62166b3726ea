"""Pass and fail cases for the GRN rules on generated videos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.model import Report
from preflight.workflows.check import check
from tests.helpers import assert_codes

GREEN_JOB: dict[str, Any] = {"name": "t", "is_background_replacement": True}
REAL_JOB: dict[str, Any] = {"name": "t", "is_background_replacement": False}
FLEXUS_JOB: dict[str, Any] = {"name": "t", "is_flexus": True, "is_background_replacement": False,
                              "audio_source_type": "VIDEO"}
ALL = ["GRN001", "GRN002", "GRN003", "GRN004", "GRN005", "GRN006", "GRN007", "GRN008"]


def video(factory: Any, **kw: Any) -> Path:
    path: Path = factory.video(width=360, height=640, **kw)
    return path


def run(path: Path, job: dict[str, Any] = GREEN_JOB) -> Report:
    return check(path, slot="training_video", job=job)


def test_green_screen_presenter_passes_every_grn_rule(media_factory: Any) -> None:
    assert_codes(run(video(media_factory)), absent=ALL)


def test_office_background_fails_when_green_is_required(media_factory: Any) -> None:
    v = video(media_factory, background="office")
    report = run(v)
    assert_codes(report, expect=["GRN001"], absent=["GRN002", "GRN003", "GRN004", "GRN006"])
    # real-scene jobs and Flexus need no green screen
    assert_codes(run(v, REAL_JOB), absent=ALL)
    assert_codes(run(v, FLEXUS_JOB), absent=ALL)


def test_blue_screen_is_its_own_error(media_factory: Any) -> None:
    report = run(video(media_factory, background="blue"))
    assert_codes(report, expect=["GRN002"], absent=["GRN001"])
    msg = next(f.message for f in report.findings if f.code == "GRN002")
    assert "BLUE" in msg and "only a green screen" in msg


def test_green_on_part_of_the_border_fails(media_factory: Any) -> None:
    report = run(video(media_factory, background="partial"))
    assert_codes(report, expect=["GRN003"], absent=["GRN001"])


def test_shadow_on_the_screen_warns(media_factory: Any) -> None:
    assert_codes(run(video(media_factory, background="shadow")), expect=["GRN004"],
                 absent=["GRN001"])


def test_green_shirt_warns(media_factory: Any) -> None:
    assert_codes(run(video(media_factory, subject="green-shirt")), expect=["GRN005"])


def test_subject_touching_the_top_warns(media_factory: Any) -> None:
    assert_codes(run(video(media_factory, subject="touching")), expect=["GRN006"])


def test_tiny_subject_warns(media_factory: Any) -> None:
    assert_codes(run(video(media_factory, subject="tiny")), expect=["GRN007"],
                 absent=["GRN006"])


def test_green_screen_without_replacement_is_noted(media_factory: Any) -> None:
    v = video(media_factory)
    assert_codes(run(v, REAL_JOB), expect=["GRN008"], absent=["GRN001"])
    assert_codes(run(video(media_factory, background="office"), REAL_JOB), absent=["GRN008"])


def test_unreadable_video_gives_no_grn_findings(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 400)
    assert_codes(run(bad), expect=["VID002"], absent=ALL)
