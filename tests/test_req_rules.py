"""Pass and fail cases for every REQ rule (dossier §1)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from preflight.model import Report
from preflight.spec import Account, JobSpec
from preflight.workflows.check import check
from tests.helpers import assert_codes

GOOD: dict[str, Any] = {"name": "Anna studio", "is_background_replacement": True}


def run(job: dict[str, Any], media: dict[str, list[str]] | None = None,
        account: Account | None = None, tmp: Path | None = None) -> Report:
    """Check a whole spec made of `job`, with ID documents present unless overridden."""
    base = tmp or Path("/nonexistent")
    files = {"training_video": ["take.mp4"], "id_card_front": ["id1.jpg"],
             "id_card_back": ["id2.jpg"], "grant_file": ["g.pdf"]}
    if media is not None:
        files = media
    spec = JobSpec(
        job=MappingProxyType(job),
        media=MappingProxyType({k: tuple(base / v for v in vs) for k, vs in files.items()}),
        account=account or Account(),
        path=base / "avatar.toml",
    )
    return check(spec)


def test_good_body_has_no_req_findings() -> None:
    report = run(GOOD)
    assert [f.code for f in report.findings if f.family == "REQ"] == []


@pytest.mark.parametrize(
    ("job", "code"),
    [
        ({**GOOD, "colour": "red"}, "REQ001"),
        ({**GOOD, "is_flexus": "yes"}, "REQ002"),
        ({**GOOD, "tags": ["a", 1]}, "REQ002"),
        ({**GOOD, "video_multipart_count": 2.5}, "REQ002"),
        ({"is_background_replacement": True}, "REQ003"),
        ({**GOOD, "name": "   "}, "REQ003"),
        ({**GOOD, "command_message": "X" * 65}, "REQ004"),
        ({**GOOD, "command_message": "UPLOAD"}, "REQ005"),
        ({**GOOD, "model_version": "V9"}, "REQ006"),
        ({**GOOD, "model_version": "V3"}, "REQ007"),
        ({**GOOD, "model_version": "V2"}, "REQ007"),
        ({**GOOD, "audio_source_type": "MIC"}, "REQ008"),
        ({**GOOD, "supported_service": ["VIDEO_3D"]}, "REQ009"),
        ({**GOOD, "supported_service": ["VIDEO_2D", "VIDEO_2D"]}, "REQ036"),
        ({**GOOD, "is_flexus": True, "is_background_replacement": False,
          "audio_source_type": "VIDEO",
          "voice_properties": {"job_tag": "NEWS", "sex": "OTHER", "language": "CN"}}, "REQ010"),
        ({**GOOD, "is_flexus": True, "is_background_replacement": False,
          "audio_source_type": "VIDEO", "voice_properties": {"sex": "MALE"}}, "REQ010"),
        ({**GOOD, "video_multipart_count": 0}, "REQ011"),
        ({**GOOD, "video_multipart_count": 1001}, "REQ011"),
        ({**GOOD, "action_video_multipart_count": "many"}, "REQ002"),
        ({**GOOD, "contact": "call me maybe"}, "REQ013"),
        ({**GOOD, "is_only_human_model": True}, "REQ020"),
        ({**GOOD, "is_flexus": True, "is_background_replacement": False,
          "audio_source_type": "VIDEO", "supported_service": ["LIVE_2D"]}, "REQ021"),
        ({**GOOD, "voice_properties": {"job_tag": "NEWS", "sex": "MALE", "language": "CN"}},
         "REQ022"),
        ({"name": "x"}, "REQ023"),
        ({"name": "x", "is_flexus": True, "audio_source_type": "VIDEO"}, "REQ024"),
        ({**GOOD, "is_flexus": True, "audio_source_type": "VIDEO"}, "REQ024"),
        ({**GOOD, "model_version": "V3.3"}, "REQ025"),
        ({**GOOD, "is_flexus": True, "is_fast_flexus": True, "is_background_replacement": False,
          "audio_source_type": "VIDEO"}, "REQ026"),
        ({**GOOD, "is_fast_flexus": True, "model_version": "V3.3",
          "is_background_replacement": False, "audio_source_type": "VIDEO"}, "REQ027"),
        ({**GOOD, "is_flexus": True, "is_background_replacement": False}, "REQ028"),
    ],
)
def test_body_rule_fires(job: dict[str, Any], code: str) -> None:
    assert_codes(run(job), expect=[code])


@pytest.mark.parametrize(
    ("job", "absent"),
    [
        (GOOD, ["REQ001", "REQ002", "REQ003", "REQ004", "REQ005", "REQ006", "REQ007", "REQ008",
                "REQ009", "REQ010", "REQ011", "REQ012", "REQ013", "REQ020", "REQ021", "REQ022",
                "REQ023", "REQ024", "REQ025", "REQ026", "REQ027", "REQ028", "REQ036"]),
        ({**GOOD, "video_multipart_count": "auto", "action_video_multipart_count": 1000},
         ["REQ002", "REQ011"]),
        ({**GOOD, "contact": "+86 138 0013 8000"}, ["REQ013"]),
        ({**GOOD, "command_message": "UPDATE_VIDEO", "model_version": "V3.2"},
         ["REQ004", "REQ005", "REQ006", "REQ007"]),
        ({**GOOD, "supported_service": ["VIDEO_2D", "CHAT_2D"], "audio_source_type": "VIDEO"},
         ["REQ008", "REQ009", "REQ036"]),
        ({"name": "flexus", "is_flexus": True, "is_background_replacement": False,
          "supported_service": ["VIDEO_2D"], "audio_source_type": "AUDIO",
          "is_only_human_model": True,
          "voice_properties": {"job_tag": "ECOMMERCE", "sex": "FEMALE", "language": "EN"}},
         ["REQ010", "REQ020", "REQ021", "REQ022", "REQ024", "REQ028"]),
        ({"name": "fast", "is_flexus": True, "is_fast_flexus": True, "model_version": "V3.3",
          "is_background_replacement": False, "audio_source_type": "VIDEO"},
         ["REQ025", "REQ026", "REQ027"]),
    ],
)
def test_body_rule_passes(job: dict[str, Any], absent: list[str]) -> None:
    assert_codes(run(job), absent=absent)


def test_app_user_id() -> None:
    assert_codes(run(GOOD, account=Account(app_user_id="用户42")), expect=["REQ012"])
    for value in ("user、42", "user。", "「user」", "ｕｓｅｒ４２", "user，42", "user\u3000x"):
        report = run(GOOD, account=Account(app_user_id=value))
        assert_codes(report, expect=["REQ012"])
        assert "Chinese characters" in next(f for f in report.findings
                                            if f.code == "REQ012").message
    assert_codes(run(GOOD, account=Account(app_user_id="user_42.x@corp-1")), absent=["REQ012"])
    report = run(GOOD, account=Account(app_user_id="josé\n"))
    assert_codes(report, expect=["REQ012"])
    assert "HTTP header" in next(f for f in report.findings if f.code == "REQ012").message
    assert_codes(run(GOOD, account=Account(app_user_id="  ")), expect=["REQ012"])
    assert_codes(run(GOOD, account=Account(app_user_id="user-42")), absent=["REQ012"])


def test_audio_source_needs_files() -> None:
    ids = {"id_card_front": ["a.jpg"], "id_card_back": ["b.jpg"], "grant_file": ["g.pdf"]}
    job = {**GOOD, "audio_source_type": "AUDIO"}
    assert_codes(run(job, media=ids), expect=["REQ029"])
    assert_codes(run(job, media={**ids, "audio": ["v.wav"]}), absent=["REQ029", "REQ030"])
    assert_codes(run(GOOD, media={**ids, "audio": ["v.wav"]}), expect=["REQ030"])
    assert_codes(run(GOOD, media=ids), absent=["REQ030"])


def test_id_documents() -> None:
    report = run(GOOD, media={})
    assert_codes(report, expect=["REQ031"])
    slots = sorted(f.slot or "" for f in report.findings if f.code == "REQ031")
    assert slots == ["grant_file", "id_card_back", "id_card_front"]
    assert all("review will fail" in f.message for f in report.findings if f.code == "REQ031")
    assert_codes(run(GOOD, media={}, account=Account(na_whitelisted=True)), absent=["REQ031"])
    assert_codes(run(GOOD), absent=["REQ031"])


def test_action_video_fields() -> None:
    ids = {"id_card_front": ["a.jpg"], "id_card_back": ["b.jpg"], "grant_file": ["g.pdf"]}
    assert_codes(run({**GOOD, "action_video_multipart_count": 2}, media=ids), expect=["REQ032"])
    assert_codes(run({**GOOD, "command_message": "CONFIRM_ACTION_VIDEO"}, media=ids),
                 expect=["REQ032"])
    with_video = {**ids, "action_video": ["act.mp4"]}
    assert_codes(run({**GOOD, "action_video_multipart_count": 2}, media=with_video),
                 absent=["REQ032", "REQ033"])
    assert_codes(run(GOOD, media=with_video), expect=["REQ033"])
    assert_codes(run(GOOD, media=ids), absent=["REQ032", "REQ033"])


def test_quick_mode_skips_whole_spec_rules(tmp_path: Path) -> None:
    video = tmp_path / "take.mp4"
    video.write_bytes(b"")
    report = check([video], job={"audio_source_type": "AUDIO"})
    assert_codes(report, expect=["VID001"], absent=["REQ029", "REQ031", "REQ023"])


def test_each_problem_is_a_separate_finding_with_source(write_spec: Any) -> None:
    spec = write_spec(
        '[job]\nname = "Anna"\ncolour = "red"\nvideo_multipart_count = 0\nmodel_version = "V9"\n'
        'is_flexus = true\nis_background_replacement = false\nsupported_service = ["LIVE_2D"]\n'
        'audio_source_type = "VIDEO"\n'
    )
    report = check(spec)
    assert_codes(report, expect=["REQ001", "REQ011", "REQ006", "REQ021", "REQ031"])
    assert all(f.source.startswith("§") for f in report.findings)
    assert len([f for f in report.findings if f.code not in ("REQ031", "REQ034")]) == 4


def test_training_video_required_in_whole_specs_only(tmp_path: Path) -> None:
    ids = {"id_card_front": ["a.jpg"], "id_card_back": ["b.jpg"], "grant_file": ["g.pdf"]}
    report = run(GOOD, media=ids)
    assert_codes(report, expect=["REQ034"])
    finding = next(f for f in report.findings if f.code == "REQ034")
    assert finding.severity.value == "error" and "training_video" in (finding.fix or "")
    assert_codes(run({}, media={}), expect=["REQ034", "REQ003"])
    assert_codes(run(GOOD), absent=["REQ034"])
    image = tmp_path / "cover.jpg"
    image.write_bytes(b"")
    assert_codes(check([image], slot="cover"), absent=["REQ034"])


FLEXUS_BODY: dict[str, Any] = {"name": "f", "is_flexus": True, "is_background_replacement": False,
                               "audio_source_type": "VIDEO"}


def test_flexus_supported_service_omitted_or_empty(tmp_path: Path) -> None:
    report = run(FLEXUS_BODY)
    assert_codes(report, expect=["REQ021"])
    finding = next(f for f in report.findings if f.code == "REQ021")
    assert "LIVE_2D" in finding.message and finding.fix == 'supported_service = ["VIDEO_2D"]'
    report = run({**FLEXUS_BODY, "supported_service": []})
    assert_codes(report, expect=["REQ021"])
    assert "empty" in next(f for f in report.findings if f.code == "REQ021").message
    assert_codes(run({**FLEXUS_BODY, "supported_service": ["VIDEO_2D"]}), absent=["REQ021"])
    video = tmp_path / "take.mp4"
    video.write_bytes(b"")
    assert_codes(check([video], job=FLEXUS_BODY), absent=["REQ021"])  # quick mode: a sketch


def test_voice_language_en_warns_quoting_the_description() -> None:
    voice = {"job_tag": "NEWS", "sex": "MALE", "language": "EN"}
    report = run({**FLEXUS_BODY, "supported_service": ["VIDEO_2D"], "voice_properties": voice})
    assert_codes(report, expect=["REQ035"], absent=["REQ010"])
    finding = next(f for f in report.findings if f.code == "REQ035")
    assert finding.severity.value == "warning"
    assert "currently only Chinese is supported" in finding.message
    assert_codes(run({**FLEXUS_BODY, "voice_properties": {**voice, "language": "CN"}}),
                 absent=["REQ035"])


@pytest.mark.parametrize("code", ["REQ024", "REQ025", "REQ032", "VID004", "VID012", "VID013",
                                  "PKG001"])
def test_narrowing_rules_say_inferred(code: str) -> None:
    from preflight.rules import registry

    assert registry()[code].source_text.endswith("[inferred]")


def _severity(report: Report, code: str) -> str:
    return next(f.severity.value for f in report.findings if f.code == code)


def test_repeated_service_is_a_warning_and_an_unknown_one_an_error() -> None:
    report = run({**GOOD, "supported_service": ["VIDEO_2D", "LIVE_2D", "VIDEO_2D"]})
    assert_codes(report, expect=["REQ036"], absent=["REQ009"])
    assert _severity(report, "REQ036") == "warning"
    finding = next(f for f in report.findings if f.code == "REQ036")
    assert finding.fix == 'supported_service = ["VIDEO_2D", "LIVE_2D"]'
    flexus = {**FLEXUS_BODY, "supported_service": ["VIDEO_2D", "VIDEO_2D"]}
    assert_codes(run(flexus), expect=["REQ036"], absent=["REQ021"])
    report = run({**GOOD, "supported_service": ["VIDEO_3D", "VIDEO_3D"]})
    assert_codes(report, expect=["REQ009", "REQ036"])
    assert _severity(report, "REQ009") == "error"


@pytest.mark.parametrize("version", ["V2", "V3"])
def test_deprecated_model_version_is_an_error(version: str) -> None:
    report = run({**GOOD, "model_version": version})
    assert_codes(report, expect=["REQ007"])
    assert _severity(report, "REQ007") == "error"


def test_only_human_model_needs_is_flexus_not_fast_flexus() -> None:
    report = run({**GOOD, "is_only_human_model": True})
    assert_codes(report, expect=["REQ020"])
    assert _severity(report, "REQ020") == "error"
    fast = {**GOOD, "is_fast_flexus": True, "model_version": "V3.3",
            "is_background_replacement": False, "supported_service": ["VIDEO_2D"],
            "audio_source_type": "VIDEO"}
    assert_codes(run({**fast, "is_only_human_model": True}), expect=["REQ020"])
    assert_codes(run({**fast, "is_flexus": True, "is_only_human_model": True}),
                 absent=["REQ020"])
    assert_codes(run({**GOOD, "is_only_human_model": False}), absent=["REQ020"])


def test_voice_properties_need_is_flexus_not_fast_flexus() -> None:
    voice = {"job_tag": "NEWS", "sex": "MALE", "language": "CN"}
    fast = {**GOOD, "is_fast_flexus": True, "model_version": "V3.3",
            "is_background_replacement": False, "supported_service": ["VIDEO_2D"],
            "audio_source_type": "VIDEO", "voice_properties": voice}
    assert_codes(run(fast), expect=["REQ022"])
    assert_codes(run({**fast, "is_flexus": True}), absent=["REQ022"])


def test_audio_source_without_audio_is_fine_when_no_voice_is_trained() -> None:
    ids = {"training_video": ["t.mp4"], "id_card_front": ["a.jpg"], "id_card_back": ["b.jpg"],
           "grant_file": ["g.pdf"]}
    flexus = {**FLEXUS_BODY, "supported_service": ["VIDEO_2D"], "audio_source_type": "AUDIO"}
    assert_codes(run({**flexus, "is_only_human_model": True}, media=ids), absent=["REQ029"])
    assert_codes(run(flexus, media=ids), expect=["REQ029"])
    assert_codes(run({**GOOD, "is_only_human_model": True, "audio_source_type": "AUDIO"},
                     media=ids), expect=["REQ029", "REQ020"])
