"""Pass and fail cases for the VID rules, on videos built by `media_factory`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from preflight.model import Report
from preflight.rules.conform import fixed_name
from preflight.workflows.check import check
from tests.helpers import assert_codes

STANDARD: dict[str, Any] = {"name": "t", "is_background_replacement": True}
FLEXUS: dict[str, Any] = {"name": "t", "is_flexus": True, "is_background_replacement": False,
                          "audio_source_type": "VIDEO"}


def run(path: Path, job: dict[str, Any] | None = None, slot: str = "training_video") -> Report:
    return check(path, slot=slot, job=job or STANDARD)


def test_good_portrait_at_three_minutes_passes(media_factory: Any) -> None:
    v = media_factory.video(seconds=180)
    report = run(v)
    # The generated presenter is a drawn figure: only the face checks may speak.
    assert [f.code for f in report.findings if f.family != "PRS"] == []
    assert_codes(report, absent=["VID002", "VID003", "VID004", "VID006", "VID007", "VID008",
                                 "VID012", "VID013"])


def test_ten_minutes_exactly_passes(media_factory: Any) -> None:
    assert_codes(run(media_factory.video(width=1920, height=1080, seconds=600)),
                 absent=["VID007", "VID006"])


def test_rotated_landscape_stream_is_portrait_and_passes(media_factory: Any) -> None:
    v = media_factory.video(width=1920, height=1080, rotation=90, seconds=2)
    report = run(v)
    assert_codes(report, absent=["VID006", "GRN006", "GRN001"])


@pytest.mark.parametrize(("w", "h"), [(1280, 720), (2560, 1440), (1080, 1080)])
def test_other_sizes_fail(media_factory: Any, w: int, h: int) -> None:
    report = run(media_factory.video(width=w, height=h, seconds=2))
    assert_codes(report, expect=["VID006"])
    f = next(f for f in report.findings if f.code == "VID006")
    assert f.fix and f.fix.startswith("preflight fix ") and f.fix.endswith(".fixed.mp4")
    assert "scale=" in f.details["ffmpeg"] and "pad=" in f.details["ffmpeg"]


@pytest.mark.parametrize("seconds", [179, 601])
def test_duration_outside_three_to_ten_minutes_fails(media_factory: Any, seconds: int) -> None:
    report = run(media_factory.video(width=1920, height=1080, seconds=seconds, audio=None),
                 {**STANDARD, "audio_source_type": "AUDIO"})
    assert_codes(report, expect=["VID007"], absent=["VID006"])


def test_flexus_limits_are_one_to_five_minutes(media_factory: Any) -> None:
    short = media_factory.video(width=1920, height=1080, seconds=179, audio=None)
    long = media_factory.video(width=1920, height=1080, seconds=601, audio=None)
    job = {**FLEXUS, "audio_source_type": "AUDIO"}
    assert_codes(run(short, job), absent=["VID007"])
    assert_codes(run(long, job), expect=["VID007"])


def test_flexus_take_under_three_minutes_warns_quoting_both_sources(media_factory: Any) -> None:
    job = {**FLEXUS, "audio_source_type": "AUDIO"}
    short = media_factory.video(width=1920, height=1080, seconds=179, audio=None)
    report = run(short, job)
    assert_codes(report, expect=["VID015"], absent=["VID007"])
    finding = next(f for f in report.findings if f.code == "VID015")
    assert finding.severity.value == "warning"
    assert "1~5 minutes" in finding.message and "≥ 3 min and ≤ 10 min" in finding.message
    ok = media_factory.video(width=1920, height=1080, seconds=180, audio=None)
    assert_codes(run(ok, job), absent=["VID015", "VID007"])
    # the standard edition has its own 3:00 floor (VID007); VID015 is off there
    assert_codes(run(short, {**STANDARD, "audio_source_type": "AUDIO"}),
                 expect=["VID007"], absent=["VID015"])


def test_too_long_video_gets_a_trim_command(media_factory: Any) -> None:
    v = media_factory.video(width=1920, height=1080, seconds=601, audio=None)
    report = run(v, {**STANDARD, "audio_source_type": "AUDIO"})
    f = next(f for f in report.findings if f.code == "VID007")
    assert f.fix == shlex.join(["preflight", "fix", str(v), "-o", str(fixed_name(v))])
    assert " -t " in f.details["ffmpeg"] and str(v) in f.details["ffmpeg"]


@pytest.mark.parametrize(("container", "suffix"), [("mov", ".mp4"), ("matroska", ".mp4"),
                                                   ("mov", ".mov")])
def test_non_mp4_container_is_caught_from_content(media_factory: Any, container: str,
                                                  suffix: str) -> None:
    report = run(media_factory.video(container=container, suffix=suffix))
    assert_codes(report, expect=["VID003"])
    assert "-c:v copy" in next(f.details["ffmpeg"] for f in report.findings if f.code == "VID003")


def test_mp4_passes_container(media_factory: Any) -> None:
    assert_codes(run(media_factory.video()), absent=["VID003"])


def test_codec_other_than_h264_h265_fails(media_factory: Any) -> None:
    assert_codes(run(media_factory.video(codec="mpeg4")), expect=["VID004"])


def test_hevc_passes_codec_with_preview_note(media_factory: Any) -> None:
    report = run(media_factory.video(codec="hevc"))
    assert_codes(report, expect=["VID005"], absent=["VID004"])
    assert_codes(run(media_factory.video()), absent=["VID005"])


def test_low_frame_rate_warns(media_factory: Any) -> None:
    assert_codes(run(media_factory.video(fps=24)), expect=["VID008"])
    assert_codes(run(media_factory.video(fps=30)), absent=["VID008"])


def test_variable_frame_rate_is_noted(media_factory: Any) -> None:
    assert_codes(run(media_factory.video(vfr=True)), expect=["VID009"])
    assert_codes(run(media_factory.video()), absent=["VID009"])


def test_interlaced_warns(media_factory: Any) -> None:
    assert_codes(run(media_factory.video(interlaced=True)), expect=["VID010"])
    assert_codes(run(media_factory.video()), absent=["VID010"])


def test_ten_bit_or_hdr_warns(media_factory: Any) -> None:
    assert_codes(run(media_factory.video(pix_fmt="yuv420p10le")), expect=["VID011"])
    assert_codes(run(media_factory.video(hdr=True)), expect=["VID011"])
    assert_codes(run(media_factory.video()), absent=["VID011"])


def test_no_audio_track_when_voice_comes_from_video(media_factory: Any) -> None:
    v = media_factory.video(audio=None)
    assert_codes(run(v), expect=["VID012"])
    assert_codes(run(v, {**STANDARD, "audio_source_type": "VIDEO"}), expect=["VID012"])
    assert_codes(run(v, {**STANDARD, "audio_source_type": "AUDIO"}), absent=["VID012"])
    assert_codes(run(v, slot="action_video"), absent=["VID012"])


def test_silent_audio_track_fails(media_factory: Any) -> None:
    assert_codes(run(media_factory.video(audio="silent")), expect=["VID013"])
    assert_codes(run(media_factory.video()), absent=["VID013", "VID014"])


def test_clipping_audio_track_warns(media_factory: Any) -> None:
    assert_codes(run(media_factory.video(audio="clipped")), expect=["VID014"], absent=["VID013"])


def test_zero_byte_text_and_truncated_files_are_findings(media_factory: Any,
                                                         tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert_codes(run(empty), expect=["VID001"], absent=["VID002", "GRN001"])
    text = tmp_path / "notes.mp4"
    text.write_text("just some text\n" * 20, encoding="utf-8")
    report = run(text)
    assert_codes(report, expect=["VID002"], absent=["VID003", "VID006", "GRN001", "GRN007"])
    # the path names the file; the message does not repeat it
    assert Path(report.findings[0].path or "").name == "notes.mp4"
    assert "notes.mp4" not in report.findings[0].message
    good = media_factory.video(seconds=180)
    data = good.read_bytes()
    for keep in (0.5, 0.9, 0.02):
        cut = tmp_path / f"cut{keep}.mp4"
        cut.write_bytes(data[: int(len(data) * keep)])
        report = run(cut)
        assert_codes(report, expect=["VID002"], absent=["GRN001", "VID007"])
        assert "truncated" in report.findings[0].message or "cannot" in report.findings[0].message


def test_audio_only_mp4_is_not_a_video(media_factory: Any, tmp_path: Path) -> None:
    wav = media_factory.audio(seconds=3)
    fake = tmp_path / "audio.mp4"
    fake.write_bytes(wav.read_bytes())
    assert_codes(run(fake), expect=["VID002"])
