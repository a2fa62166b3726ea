"""Output that reads like ruff and flake8: paths as typed, spec findings at their key's line and
column in every format, file findings without the file name twice, and `preflight rule`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preflight.cli import cli
from preflight.model import Finding, Severity
from preflight.rules import registry
from preflight.rules.cache import ResultCache
from preflight.rules.engine import without_name
from preflight.rules.examples import EXAMPLES
from preflight.spec import load_spec
from preflight.workflows.check import check

SPEC = """\
# a job with a mistake in the body
[job]
name = "Anna"
model_version = "V9"
video_multipart_count = 0

[media]
training_video = "media/take.mp4"
audio = [
  "media/voice.wav",
]

[account]
na_whitelisted = true
"""


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``proj/avatar.toml`` naming two broken (but non-empty, so cacheable) media files; the
    current directory is the folder above ``proj``."""
    root = tmp_path / "proj"
    (root / "media").mkdir(parents=True)
    (root / "media" / "take.mp4").write_bytes(b"not a video at all\n" * 8)
    (root / "media" / "voice.wav").write_bytes(b"not audio either\n" * 8)
    (root / "avatar.toml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return root


def _by_code(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in findings}


# ---- paths as typed ---------------------------------------------------------------------------

def test_relative_spec_shows_spec_relative_media_relative_to_here(project: Path) -> None:
    result = invoke("check", "proj/avatar.toml", "--no-cache")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(ln.startswith("proj/media/take.mp4: VID002 ") for ln in lines), result.output
    assert any(ln.startswith("proj/media/voice.wav: AUD002 ") for ln in lines)
    assert any(ln.startswith("proj/avatar.toml:4:1: REQ006 ") for ln in lines)
    assert str(project) not in result.output


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github"])
def test_every_format_keeps_relative_paths_relative(project: Path, fmt: str) -> None:
    result = invoke("check", "./proj/../proj/avatar.toml", "--no-cache", "--format", fmt)
    assert result.exit_code == 1, result.output
    out = result.stdout
    if fmt == "sarif":  # the folder the check ran in is the base of every location
        run = json.loads(out)["runs"][0]
        assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.parent.as_uri() + "/"
        out = json.dumps(run["results"])
    assert str(project) not in out and "file://" not in out
    assert "proj/media/take.mp4" in out and "proj/avatar.toml" in out


def test_absolute_spec_stays_absolute_and_media_inside_here_are_relative(project: Path) -> None:
    result = invoke("check", str(project / "avatar.toml"), "--no-cache", "--format", "json")
    found = _by_code(json.loads(result.output)["findings"])
    assert found["REQ006"]["path"] == str(project / "avatar.toml")
    assert found["VID002"]["path"] == "proj/media/take.mp4"


def test_absolute_media_path_in_a_spec_stays_absolute(project: Path) -> None:
    take = project / "media" / "take.mp4"
    spec = project / "avatar.toml"
    spec.write_text(SPEC.replace('"media/take.mp4"', json.dumps(str(take))), encoding="utf-8")
    report = check("proj/avatar.toml")
    paths = {f.path for f in report.findings if f.code == "VID002"}
    assert paths == {str(take)}


def test_quick_mode_and_folders_show_paths_as_typed(project: Path) -> None:
    quick = invoke("check", "proj/media/take.mp4", "--no-cache")
    assert quick.output.startswith("proj/media/take.mp4: VID002 "), quick.output
    folder = invoke("check", "proj", "--no-cache", "--format", "json")
    data = json.loads(folder.stdout)
    assert {f["path"] for f in data["findings"]} == {
        "proj/avatar.toml", "proj/media/take.mp4", "proj/media/voice.wav"}
    absolute = invoke("check", str(project / "media" / "take.mp4"), "--no-cache")
    assert absolute.output.startswith(f"{project / 'media' / 'take.mp4'}: VID002 ")


def test_a_file_finding_does_not_repeat_the_file_name(project: Path) -> None:
    result = invoke("check", "proj/avatar.toml", "--no-cache")
    for ln in result.output.splitlines():
        if ln.startswith("proj/media/"):
            path, _, rest = ln.partition(": ")
            message = rest.split("] ", 1)[1]
            assert Path(path).name not in message, ln


def test_without_name_strips_only_a_leading_name() -> None:
    assert without_name("a.mp4: background is blue", "m/a.mp4", "training_video") == \
        "background is blue"
    assert without_name("training_video a.mp4 is 1280x720", "m/a.mp4", "training_video") == \
        "training_video is 1280x720"
    assert without_name("a.mp4 is silent", "m/a.mp4", "audio") == "audio is silent"
    assert without_name("a.mp4 is silent", "m/a.mp4", None) == "the file is silent"
    kept = "does not look like the person on the ID card id.jpg"
    assert without_name(kept, "m/a.mp4", "training_video") == kept
    assert without_name("a.mp4x is odd", "m/a.mp4", None) == "a.mp4x is odd"


# ---- line and column of spec keys --------------------------------------------------------------

def test_spec_findings_carry_the_line_and_column_of_their_key(project: Path) -> None:
    data = json.loads(invoke("check", "proj/avatar.toml", "--no-cache", "--format",
                             "json").output)
    found = _by_code(data["findings"])
    assert (found["REQ006"]["line"], found["REQ006"]["column"]) == (4, 1)
    assert (found["REQ011"]["line"], found["REQ011"]["column"]) == (5, 1)
    assert found["VID002"]["line"] is None and found["VID002"]["column"] is None


def test_positions_in_sarif_github_and_junit(project: Path) -> None:
    sarif = json.loads(invoke("check", "proj/avatar.toml", "--no-cache", "--format",
                              "sarif").output)
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    loc = results["REQ006"]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "proj/avatar.toml"
    assert loc["region"] == {"startLine": 4, "startColumn": 1}
    assert "region" not in results["VID002"]["locations"][0]["physicalLocation"]
    gh = invoke("check", "proj/avatar.toml", "--no-cache", "--format", "github").output
    assert "::error file=proj/avatar.toml,line=4,col=1,title=REQ006 model-version-enum::" in gh
    assert "::error file=proj/media/take.mp4,title=VID002 " in gh
    junit = ET.fromstring(invoke("check", "proj/avatar.toml", "--no-cache", "--format",
                                 "junit").output)
    texts = [f.text or "" for f in junit.iter("failure")]
    assert any("line 4, column 1: REQ006 " in t for t in texts), texts


def test_a_key_inside_an_inline_table_and_a_missing_key(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.toml").write_text(
        '[job]\nis_flexus = true\nis_background_replacement = false\n'
        'supported_service = ["VIDEO_2D"]\naudio_source_type = "VIDEO"\n'
        'voice_properties = { job_tag = "x", sex = "ROBOT", language = "CN" }\n'
        '[account]\nna_whitelisted = true\n', encoding="utf-8")
    findings = check("a.toml").findings
    at = {(f.code, f.message.split(" ", 1)[0]): (f.line, f.column) for f in findings}
    assert at["REQ010", "job.voice_properties.job_tag"] == (6, 22)
    assert at["REQ010", "job.voice_properties.sex"] == (6, 37)
    # name is missing, and so is [media]: the findings point at the [job] table
    assert at["REQ003", "job.name"] == (1, 1)
    assert at["REQ034", "no"] == (1, 1)


def test_json_spec_positions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("job.json").write_text(json.dumps({
        "job": {"name": "Anna", "model_version": "V9"},
        "account": {"na_whitelisted": True}}, indent=2), encoding="utf-8")
    found = {f.code: f for f in check("job.json").findings}
    assert found["REQ006"].path == "job.json"
    assert (found["REQ006"].line, found["REQ006"].column) == (4, 5)
    result = invoke("check", "job.json", "--no-cache")
    assert "job.json:4:5: REQ006 model-version-enum [error]" in result.output


def test_lines_follow_an_edited_spec_with_the_cache_in_use(project: Path) -> None:
    cache = ResultCache(project / ".cache")
    first = {f.code: f for f in check("proj/avatar.toml", cache=cache).findings}
    assert first["REQ006"].line == 4 and cache.stats.writes >= 2
    spec = project / "avatar.toml"
    spec.write_text("# moved\n# down\n# three lines\n" + spec.read_text(encoding="utf-8"),
                    encoding="utf-8")
    again = ResultCache(project / ".cache")
    second = {f.code: f for f in check("proj/avatar.toml", cache=again).findings}
    assert again.stats.hits >= 2  # the media findings came from the cache
    assert second["REQ006"].line == 7 and second["REQ011"].line == 8
    assert second["VID002"] == first["VID002"]


def test_cached_findings_follow_the_path_as_typed(project: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = project / ".cache"
    assert {f.path for f in check("proj/avatar.toml", cache=cache_dir).findings
            if f.code == "VID002"} == {"proj/media/take.mp4"}
    monkeypatch.chdir(project)
    paths = {f.path for f in check("avatar.toml", cache=cache_dir).findings
             if f.code == "VID002"}
    assert paths == {"media/take.mp4"}


def test_spec_errors_name_the_spec_as_typed(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.toml").write_text("[job]\n[colour]\n", encoding="utf-8")
    result = invoke("check", "bad.toml")
    assert result.exit_code == 2
    assert "preflight: error: bad.toml:2:1: unknown section [colour]" in result.output
    assert str(tmp_path) not in result.output


def test_finding_position_fields_are_immutable_and_serialised() -> None:
    f = Finding("REQ003", "name-required", Severity.ERROR, "m", "§1.2", path="a.toml",
                line=3, column=1)
    assert f.to_dict()["line"] == 3 and f.to_dict()["column"] == 1
    with pytest.raises(AttributeError):
        f.line = 4  # type: ignore[misc]


def test_load_spec_keeps_positions_of_list_items(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(SPEC, encoding="utf-8")
    spec = load_spec(tmp_path / "a.toml")
    assert spec.position(("media", "audio", 0)) == (10, 3)
    assert spec.position(("media", "cover")) == (7, 1)  # not written: its table
    assert spec.position(("nothing",)) is None


# ---- folder summary ---------------------------------------------------------------------------

def test_folder_summary_counts_each_file_once(project: Path) -> None:
    (project / "media" / "cover.jpg").write_bytes(b"not an image\n")
    result = invoke("check", "proj", "--no-cache")
    lines = result.output.splitlines()
    head = lines.index("family    files  errors  warnings  infos")
    table = {ln.split()[0]: ln.split()[1:] for ln in lines[head + 1:-1]}
    # the spec, the video, the audio file and the loose cover: four files, whatever the
    # families judging each (the video alone is counted by VID, GRN, PKG and PRS)
    assert table["total"][0] == "4"
    assert sum(int(row[0]) for fam, row in table.items() if fam != "total") > 4
    assert lines[-1] == "(1 spec and 1 loose file checked)"


# ---- preflight rule ---------------------------------------------------------------------------

def test_rule_explains_one_rule_with_editions_source_and_example() -> None:
    result = invoke("rule", "VID007")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("VID007 video-duration\n")
    assert "Why:" in out and "Severity:" in out and "Options:" in out
    assert "    standard     180.0" in out and "    flexus       60.0" in out
    assert "Source: docs/constraints.md §3.1" in out and "https://" in out
    assert "  fails:  " in out and "  passes: " in out
    severities = invoke("rule", "flexus-duration-api-floor").output
    assert "  standard     off" in severities and "  flexus       warning" in severities


def test_rule_by_name_and_as_json() -> None:
    by_name = invoke("rule", "video-resolution").output
    assert by_name == invoke("rule", "vid006").output
    data = json.loads(invoke("rule", "VID006", "--format", "json").output)
    assert data["schema"] == "preflight.rule/1" and data["code"] == "VID006"
    assert "1280x720" in data["example"]["fails"] and "1920x1080" in data["example"]["passes"]
    assert data["severity"] == {ed: "error" for ed in data["severity"]}
    assert data["official"] and all(o["url"].startswith("https://") for o in data["official"])


@pytest.mark.parametrize("query, hint", [("VID66", "VID006"),
                                         ("video-resolutoin", "video-resolution")])
def test_unknown_rule_exits_2_with_a_suggestion(query: str, hint: str) -> None:
    result = invoke("rule", query)
    assert result.exit_code == 2
    assert f"unknown rule {query!r}; did you mean {hint}" in result.output


def test_every_rule_has_a_failing_and_a_passing_example() -> None:
    codes = set(registry())
    assert set(EXAMPLES) == codes, (codes - set(EXAMPLES), set(EXAMPLES) - codes)
    for code, (fails, passes) in EXAMPLES.items():
        assert fails.strip() and passes.strip() and fails != passes, code
