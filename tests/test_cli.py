"""The command line through click's CliRunner: exit codes, formats, messages, no tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preflight._version import __version__
from preflight.cli import cli

BAD = """
[job]
name = "Anna"
colour = "red"
video_multipart_count = 0
model_version = "V9"
is_flexus = true
is_background_replacement = false
supported_service = ["LIVE_2D"]
audio_source_type = "VIDEO"
"""
FIXED = """
[job]
name = "Anna"
video_multipart_count = 1
model_version = "V3.2"
is_flexus = true
is_background_replacement = false
supported_service = ["VIDEO_2D"]
audio_source_type = "VIDEO"

[account]
na_whitelisted = true
"""


@pytest.fixture
def fixed(write_spec: Any, media_factory: Any) -> Any:
    """Write FIXED (optionally edited) with a conforming Flexus take as its training video,
    judged without the presenter checks (the drawn presenter has no real face)."""
    video = media_factory.video(width=1920, height=1080, seconds=180)

    def write(text: str = FIXED) -> Path:
        spec = Path(write_spec(text + f'[media]\ntraining_video = "{video}"\n'))
        (spec.parent / "preflight.toml").write_text('ignore = ["PRS"]\n', encoding="utf-8")
        return spec

    return write


def test_spec_without_training_video_fails(write_spec: Any) -> None:
    result = invoke("check", str(write_spec(FIXED)))
    assert result.exit_code == 1
    assert "REQ034" in result.output and "no training video" in result.output


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_bad_spec_exits_1_with_each_req_error(write_spec: Any) -> None:
    spec = write_spec(BAD)
    result = invoke("check", str(spec))
    assert result.exit_code == 1, result.output
    for code in ("REQ001", "REQ011", "REQ006", "REQ021", "REQ031"):
        assert f" {code} " in result.output
    assert "Traceback" not in result.output
    assert "errors" in result.output.splitlines()[-1]


def test_fixed_spec_exits_0(fixed: Any) -> None:
    result = invoke("check", str(fixed()))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("0 errors")


def test_strict_turns_warnings_into_failure(fixed: Any) -> None:
    spec = fixed(FIXED.replace('["VIDEO_2D"]', '["VIDEO_2D", "VIDEO_2D"]'))  # REQ036 warns
    assert invoke("check", str(spec)).exit_code == 0
    result = invoke("check", "--strict", str(spec))
    assert result.exit_code == 1
    assert "REQ036" in result.output


def test_json_report_shape(write_spec: Any) -> None:
    result = invoke("check", "--format", "json", str(write_spec(BAD)))
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["schema"] == "preflight.report/1"
    assert data["tool"] == {"name": "metastudio-preflight", "version": __version__}
    assert data["edition"] == "flexus"
    assert set(data["summary"]) == {"errors", "warnings", "infos", "files"}
    keys = {"code", "name", "severity", "message", "path", "line", "column", "slot", "source",
            "fix", "details"}
    assert data["findings"] and all(set(f) == keys for f in data["findings"])
    assert data["summary"]["errors"] == sum(f["severity"] == "error" for f in data["findings"])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[job]\nname = "A"\n[media]\ntraning_video = "a.mp4"\n', "media.traning_video"),
        ('[job\n', "invalid TOML"),
    ],
)
def test_spec_errors_exit_2(write_spec: Any, text: str, needle: str) -> None:
    result = invoke("check", str(write_spec(text)))
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output


def test_config_errors_exit_2(tmp_path: Path, write_spec: Any) -> None:
    spec = write_spec(FIXED)
    (tmp_path / "preflight.toml").write_text('ignore = ["REQ999"]\n', encoding="utf-8")
    result = invoke("check", str(spec))
    assert result.exit_code == 2
    assert "REQ999" in result.output
    assert invoke("check", "--select", "NOPE", str(spec)).exit_code == 2


def test_bad_inputs_never_traceback(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    unreadable = tmp_path / "locked.toml"
    unreadable.write_text("[job]\n", encoding="utf-8")
    unreadable.chmod(0)
    cases = [str(tmp_path / "missing.toml"), str(tmp_path / "dir.toml")]
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root (or Windows) reads it anyway
        cases.append(str(unreadable))
    for target in cases:
        result = invoke("check", target)
        assert result.exit_code == 2, (target, result.output)
        assert target in result.output
        assert "Traceback" not in result.output
    unreadable.chmod(0o600)


def test_quick_mode_files(tmp_path: Path) -> None:
    empty = tmp_path / "take.mp4"
    empty.write_bytes(b"")
    result = invoke("check", str(empty))
    assert result.exit_code == 1
    assert "VID001" in result.output and "empty" in result.output
    assert "REQ031" not in result.output
    weird = tmp_path / "notes.xyz"
    weird.write_text("x", encoding="utf-8")
    result = invoke("check", str(weird))
    assert result.exit_code == 2 and "--slot" in result.output
    result = invoke("check", str(weird), "--slot", "cover")
    assert result.exit_code in (0, 1) and "in 1 file" in result.output
    result = invoke("check", str(empty), "--job-json", "{not json")
    assert result.exit_code == 2 and "--job-json" in result.output
    result = invoke("check", str(empty), "--job-json", '{"is_flexus": "x"}')
    assert result.exit_code == 1 and "REQ002" in result.output


def test_usage_errors_exit_2(write_spec: Any, tmp_path: Path) -> None:
    spec = write_spec(FIXED)
    assert invoke("check").exit_code == 2
    assert invoke("check", str(spec), "--format", "yaml").exit_code == 2
    assert invoke("check", str(spec), "--edition", "pro").exit_code == 2
    assert invoke("check", str(spec), str(tmp_path / "a.mp4")).exit_code == 2
    assert invoke("check", str(spec), "--slot", "cover").exit_code == 2


def test_output_file_and_quiet(fixed: Any, tmp_path: Path) -> None:
    spec = fixed(FIXED.replace('["VIDEO_2D"]', '["VIDEO_2D", "VIDEO_2D"]'))  # REQ036 warns
    out = tmp_path / "report.txt"
    result = invoke("check", "-q", "-o", str(out), str(spec))
    assert result.exit_code == 0 and result.output == ""
    text = out.read_text(encoding="utf-8")
    assert "REQ036" not in text and text.startswith("0 errors")


def test_no_color_when_not_a_tty(write_spec: Any) -> None:
    assert "\x1b[" not in invoke("check", str(write_spec(BAD))).output


def test_rules_command_lists_every_rule_with_source() -> None:
    from preflight.rules import registry

    data = json.loads(invoke("rules", "--format", "json").output)
    assert data["schema"] == "preflight.rules/1"
    assert [r["code"] for r in data["rules"]] == list(registry())
    assert all(r["source"] and r["summary"] for r in data["rules"])
    assert set(data["rules"][0]["severity"]) == {"standard", "flexus", "fast-flexus", "live-copy"}
    text = invoke("rules").output
    assert all(code in text for code in registry())
    # Options are the effective ones per edition, not the declared defaults.
    vid007 = next(r for r in data["rules"] if r["code"] == "VID007")["options"]
    assert vid007["min_seconds"]["value"] == {"standard": 180.0, "flexus": 60.0,
                                              "fast-flexus": 60.0, "live-copy": 180.0}
    assert vid007["max_seconds"]["value"]["flexus"] == 300.0
    assert "option max_seconds = standard: 600.0 / flexus: 300.0" in text


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_exit_code_is_decided_in_one_place() -> None:
    from preflight.cli import Outcome, exit_code
    from preflight.errors import SpecError, SubmitError
    from preflight.model import Finding, Report, Severity

    warn = Finding("REQ007", "x", Severity.WARNING, "m", "§1.2")
    err = Finding("REQ001", "y", Severity.ERROR, "m", "§1.2")
    assert exit_code(Outcome(Report.build("standard", []))) == 0
    assert exit_code(Outcome(Report.build("standard", [warn]))) == 0
    assert exit_code(Outcome(Report.build("standard", [warn]), strict=True)) == 1
    assert exit_code(Outcome(Report.build("standard", [err]))) == 1
    assert exit_code(Outcome(findings=True)) == 1
    assert exit_code(Outcome(Report.build("standard", [err]), unchecked=True)) == 2
    assert exit_code(Outcome(service_failed=True)) == 3
    assert exit_code(None) == 0
    assert exit_code(error=SpecError("x")) == 2
    assert exit_code(error=SubmitError("x")) == 3


def test_main_returns_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.cli import main

    assert main(["--version"]) == 0
    assert main(["check", str(tmp_path / "missing.mp4")]) == 1
    assert main(["check", "--select", "NOPE", str(tmp_path / "x.mp4")]) == 2
    assert main(["no-such-command"]) == 2


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root (or Windows) can read files without permission bits")
def test_unreadable_media_is_a_finding(tmp_path: Path) -> None:
    f = tmp_path / "v.mp4"
    f.write_bytes(b"x")
    f.chmod(0)
    result = invoke("check", str(f))
    f.chmod(0o600)
    assert result.exit_code == 1 and "permission denied" in result.output


def test_exit_zero_reports_findings_but_exits_0(write_spec: Any, tmp_path: Path) -> None:
    spec = write_spec(BAD)
    failing = invoke("check", str(spec))
    assert failing.exit_code == 1
    result = invoke("check", str(spec), "--exit-zero")
    assert result.exit_code == 0 and " REQ001 " in result.output
    strict = invoke("check", str(spec), "--exit-zero", "--strict")
    assert strict.exit_code == 0
    # usage problems still fail
    assert invoke("check", str(tmp_path / "missing.toml"), "--exit-zero").exit_code == 2


def test_contact_sheet_says_where_it_was_written(media_factory: Any, tmp_path: Path) -> None:
    video = media_factory.video(width=1080, height=1920, seconds=2)
    out = tmp_path / "sheet.png"
    result = CliRunner().invoke(cli, ["check", str(video), "--select", "VID,GRN",
                                      "--contact-sheet", str(out)])
    assert out.is_file()
    assert f"contact sheet written to {out}" in result.output
