"""Pass and fail cases for the AUD rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from preflight.model import Report
from preflight.workflows.check import check
from tests.helpers import assert_codes

FLEXUS: dict[str, Any] = {"name": "t", "is_flexus": True, "is_background_replacement": False,
                          "audio_source_type": "AUDIO"}


def run(path: Path, job: dict[str, Any] = FLEXUS) -> Report:
    return check(path, slot="audio", job=job)


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_good_speech_file_passes(media_factory: Any, fmt: str) -> None:
    report = run(media_factory.audio(seconds=61, fmt=fmt))
    assert [f.code for f in report.findings] == []
    assert_codes(report, absent=["AUD002", "AUD003", "AUD004", "AUD005", "AUD006"])


def test_silent_wav_fails(media_factory: Any) -> None:
    assert_codes(run(media_factory.audio(kind="silent")), expect=["AUD004"], absent=["AUD002"])


@pytest.mark.parametrize("content", [b"hello, not audio\n" * 10, b"RIFF\x10\x00\x00\x00WAVEfmt "])
def test_non_audio_and_broken_wav_fail(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "voice.wav"
    p.write_bytes(content)
    report = run(p)
    assert_codes(report, expect=["AUD002"], absent=["AUD003", "AUD004"])
    assert Path(report.findings[0].path or "").name == "voice.wav"
    assert report.findings[0].message.startswith("audio is not an audio file")


def test_video_renamed_wav_is_not_wav_or_mp3(media_factory: Any, tmp_path: Path) -> None:
    p = tmp_path / "voice.wav"
    p.write_bytes(media_factory.video().read_bytes())
    report = run(p)
    assert_codes(report, expect=["AUD002"])
    assert "not WAV or MP3" in report.findings[0].message


def test_empty_wav_is_the_gate(tmp_path: Path) -> None:
    p = tmp_path / "voice.wav"
    p.write_bytes(b"")
    assert_codes(run(p), expect=["AUD001"], absent=["AUD002"])


@pytest.mark.parametrize("seconds", [30, 301])
def test_duration_outside_one_to_five_minutes(media_factory: Any, seconds: int) -> None:
    path = media_factory.audio(seconds=seconds, rate=16000)
    report = run(path)
    assert_codes(report, expect=["AUD003"])
    assert next(f for f in report.findings if f.code == "AUD003").severity.value == "error"
    standard = run(path, {"name": "t", "audio_source_type": "AUDIO"})
    assert next(f for f in standard.findings if f.code == "AUD003").severity.value == "warning"


def test_clipping_warns(media_factory: Any) -> None:
    assert_codes(run(media_factory.audio(kind="clipped")), expect=["AUD005"], absent=["AUD004"])


def test_low_sample_rate_is_noted(media_factory: Any) -> None:
    assert_codes(run(media_factory.audio(rate=8000)), expect=["AUD006"])
    assert_codes(run(media_factory.audio(rate=16000, channels=2)), absent=["AUD006"])


def test_audio_names_colliding_in_the_zip(media_factory: Any, write_spec: Any) -> None:
    a = media_factory.audio(name="Voice.wav")
    b = media_factory.audio(seconds=62, name="voice.wav")
    spec = write_spec(f"""
[job]
name = "t"
is_flexus = true
is_background_replacement = false
audio_source_type = "AUDIO"
is_only_human_model = false
[media]
audio = ["{a}", "{b}"]
[account]
na_whitelisted = true
""")
    assert_codes(check(spec), expect=["PKG003"])
    ok = write_spec(f"""
[job]
name = "t"
is_flexus = true
is_background_replacement = false
audio_source_type = "AUDIO"
[media]
audio = ["{a}"]
[account]
na_whitelisted = true
""", name="ok.toml")
    assert_codes(check(ok), absent=["PKG003"])
