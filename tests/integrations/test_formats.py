"""SARIF, JUnit, GitHub and auto output formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from preflight.cli import cli
from preflight.cli._common import FORMATS
from preflight.model import Report
from preflight.report import RenderOptions, format_names, render, resolve_auto
from preflight.rules import registry, rule_infos
from preflight.workflows.check import check

SCHEMA = Path(__file__).resolve().parent.parent / "fixtures" / "sarif-2.1.0.json"


@pytest.fixture
def report(tmp_path: Path) -> Report:
    """Errors on two files, an info on the body (quick mode), one clean image."""
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "missing.wav").unlink(missing_ok=True)
    return check([tmp_path / "empty.mp4", tmp_path / "missing.wav"],
                 job={"name": "a,b:c%d\nnext line"})


def test_cli_format_choices_match_the_formatters() -> None:
    assert set(FORMATS) == set(format_names())


def test_sarif_validates_against_the_2_1_0_schema(report: Report, tmp_path: Path) -> None:
    options = RenderOptions(version="1.2.3", root=str(tmp_path), rules=rule_infos())
    text = render(report, "sarif", options)
    log = json.loads(text)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    validator.validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(registry())  # one descriptor per rule
    assert all(r["help"]["text"] and r["helpUri"].startswith("https://") for r in rules)
    results = run["results"]
    assert [r["ruleId"] for r in results] == [f.code for f in report.findings]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    located = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results
               if r["ruleId"] == "VID001"]
    assert located == [{"uri": "empty.mp4", "uriBaseId": "%SRCROOT%"}]


def test_sarif_without_root_uses_file_uris(report: Report) -> None:
    log = json.loads(render(report, "sarif", RenderOptions(rules=rule_infos())))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"] if "locations" in r]
    assert uris and all(u.startswith("file:///") for u in uris)


def test_junit_is_one_case_per_file_and_family_with_failures(report: Report,
                                                             tmp_path: Path) -> None:
    options = RenderOptions(root=str(tmp_path), rules=rule_infos())
    root = ET.fromstring(render(report, "junit", options))
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    names = {(c.get("classname"), (c.get("name") or "").split()[0]) for c in cases}
    empty, missing = str(tmp_path / "empty.mp4"), str(tmp_path / "missing.wav")
    assert (empty, "VID") in names and (missing, "AUD") in names  # absolute as given
    assert ("<job>", "REQ") in names
    failed = [c for c in cases if c.find("failure") is not None]
    assert {c.get("classname") for c in failed} == {empty, missing}
    assert suite.get("tests") == str(len(cases))
    assert suite.get("failures") == str(len(failed))
    assert root.get("failures") == str(len(failed))


def test_github_prints_one_annotation_per_finding(report: Report, tmp_path: Path) -> None:
    out = render(report, "github", RenderOptions(root=str(tmp_path))).splitlines()
    notes = [line for line in out if line.startswith("::")]
    assert len(notes) == len(report.findings)
    assert notes[0].startswith("::error file=empty.mp4,title=VID001 video-file-readable::")
    assert all("\n" not in n for n in notes)
    levels = {n.split(" ", 1)[0] for n in notes}
    assert levels <= {"::error", "::warning", "::notice"}


def test_github_escapes_properties_and_data() -> None:
    from preflight.model import Finding, Severity
    from preflight.report.github import annotation

    f = Finding("REQ004", "x", Severity.WARNING, "50%\ndone", "§1.2", path="/r/a,b:c.mp4")
    assert annotation(f, "/r") == "::warning file=a%2Cb%3Ac.mp4,title=REQ004 x::50%25%0Adone"


def test_auto_picks_github_under_actions_colour_on_a_tty_plain_otherwise() -> None:
    assert resolve_auto({"GITHUB_ACTIONS": "true"}, tty=True) == ("github", False)
    assert resolve_auto({}, tty=True) == ("text", True)
    assert resolve_auto({"NO_COLOR": "1"}, tty=True) == ("text", False)
    assert resolve_auto({}, tty=False) == ("text", False)


def test_cli_auto_under_github_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = CliRunner().invoke(cli, ["check", "empty.mp4", "--format", "auto", "--no-cache"])
    assert result.exit_code == 1
    assert result.output.startswith("::error file=empty.mp4,title=VID001")
    monkeypatch.delenv("GITHUB_ACTIONS")
    result = CliRunner().invoke(cli, ["check", "empty.mp4", "--format", "auto", "--no-cache"])
    assert "VID001 video-file-readable [error]" in result.output
    assert "\x1b[" not in result.output
