"""Targets are never silently skipped: git-ignored folders named on the command line, missing
paths, targets with nothing to check; the one check workflow; configuration like ruff
(exclude, per-file-ignores, a spec's own ignore list) and REQ errors that stay binding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import preflight
from preflight.cli import cli
from preflight.errors import ConfigError, PackageRefused, TargetNotFound
from preflight.workflows import batch
from preflight.workflows.check import CheckOptions, binding_config, check, start
from preflight.workflows.pipeline import package
from tests.helpers import assert_codes


def _repo(root: Path, gitignore: str) -> Path:
    """A folder that looks like a git work tree (the walk stops at `.git`)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir()
    (root / ".gitignore").write_text(gitignore, encoding="utf-8")
    return root


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, ["check", "--no-cache", *args])


def test_a_git_ignored_folder_named_outright_is_checked(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path / "repo", "footage/\n*.tmp.mp4\n")
    footage = repo / "footage"
    footage.mkdir()
    (footage / "take.mp4").write_bytes(b"")  # a bad take: empty
    (footage / "scratch.tmp.mp4").write_bytes(b"")  # ignored by a rule about files inside
    monkeypatch.chdir(repo)
    result = _cli("footage/")
    assert result.exit_code == 1, result.output
    out = result.output
    assert "footage/take.mp4: VID001" in out and "scratch.tmp.mp4: VID" not in out
    assert "skipped 1 git-ignored file (footage/scratch.tmp.mp4)" in result.stderr
    assert "(1 loose file checked, 1 git-ignored file skipped)" in out


def test_a_folder_walk_names_what_git_ignores_and_the_option_checks_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path / "repo", "footage/\n")
    (repo / "footage" / "day1").mkdir(parents=True)
    for name in ("a.mp4", "b.wav", "notes.txt"):
        (repo / "footage" / "day1" / name).write_bytes(b"")
    (repo / "cover.png").write_bytes(b"")
    monkeypatch.chdir(repo)
    found = batch.find([repo])
    assert [t.path.name for t in found.targets] == ["cover.png"]
    assert found.skipped.files == 2 and found.skipped.paths == [repo / "footage"]
    result = _cli(".")
    assert "skipped 2 git-ignored files (footage)" in result.stderr
    everything = _cli(".", "--no-respect-gitignore")
    assert "footage/day1/a.mp4: VID001" in everything.output
    assert "git-ignored" not in everything.stderr
    # the same through the configuration
    (repo / "preflight.toml").write_text("respect-gitignore = false\n", encoding="utf-8")
    assert len(batch.find([repo], gitignore=False).targets) == 3
    report = check(repo)
    assert any(f.path and f.path.endswith("a.mp4") for f in report.findings)


def test_targets_with_nothing_to_check_exit_2(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path / "repo", "*.mp4\n")
    (repo / "take.mp4").write_bytes(b"")
    (repo / "notes.txt").write_text("x", encoding="utf-8")
    monkeypatch.chdir(repo)
    result = _cli(".")
    assert result.exit_code == 2
    assert ".: nothing to check: no job specs or media files found (1 git-ignored file " \
        "skipped; --no-respect-gitignore checks them)" in result.stderr
    with pytest.raises(ConfigError, match="nothing to check"):
        check(repo)
    assert _cli("take.mp4").exit_code == 1  # named: checked


def test_a_missing_folder_is_no_such_file_or_folder(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _cli("missing/")
    assert result.exit_code == 2
    assert result.stderr == "preflight: error: missing: no such file or folder\n"
    assert "--slot" not in result.stderr
    with pytest.raises(preflight.TargetNotFound) as info:
        preflight.check("missing/")
    assert info.value.path == "missing" and isinstance(info.value, ConfigError)
    with pytest.raises(TargetNotFound):
        check([tmp_path / "nothing-here"])
    (tmp_path / "take.mp4").write_bytes(b"")
    assert _cli("take.mp4", "missing").exit_code == 2


def test_quick_mode_never_judges_a_part_count_nobody_gave(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    report = check(empty)
    assert_codes(report, expect=["VID001"], absent=["PKG001"])
    assert not any("multipart" in f.message for f in report.findings)
    result = _cli(str(empty))
    assert "video_multipart_count" not in result.output


def test_outcomes_come_one_per_target_in_input_order(tmp_path: Path) -> None:
    for name in ("b.mp4", "a.wav", "c.png"):
        (tmp_path / "f" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "f" / name).write_bytes(b"")
    run = start([tmp_path / "f"], CheckOptions(jobs=2))
    it = iter(run)
    first = next(it)  # a generator: the first outcome before the rest are collected
    assert first.target.path.name == "a.wav" and first.report is not None
    rest = list(it)
    assert [o.target.path.name for o in rest] == ["b.mp4", "c.png"]
    assert run.report([first, *rest]) == check(tmp_path / "f")


def test_loose_files_named_together_are_one_quick_job(tmp_path: Path) -> None:
    """Rules that look at several files (the ID card against the presenter) see them all,
    and a finding about the body is said once."""
    files = [tmp_path / "take.mp4", tmp_path / "voice.wav"]
    for f in files:
        f.write_bytes(b"")
    run = start(files, CheckOptions(job={"bogus": 1}))
    (outcome,) = list(run)
    assert [p.name for _, p in outcome.pairs] == ["take.mp4", "voice.wav"]
    report = run.report([outcome])
    assert [f.code for f in report.findings if f.path is None] == ["REQ001"]
    assert report.files == tuple(str(f) for f in files)


def test_exclude_and_per_file_ignores_in_the_configuration(tmp_path: Path) -> None:
    root = tmp_path / "f"
    for sub in ("raw", "takes", "scratch"):
        (root / sub).mkdir(parents=True)
        (root / sub / "take.mp4").write_bytes(b"")
    (root / "preflight.toml").write_text(
        'exclude = ["scratch/"]\n[per-file-ignores]\n"raw/*.mp4" = ["VID", "GRN001"]\n',
        encoding="utf-8")
    report = check(root)
    by_path = {Path(f.path).parent.name for f in report.findings if f.code == "VID001"}
    assert by_path == {"takes"}
    assert report.files == (str(root / "raw" / "take.mp4"), str(root / "takes" / "take.mp4"))
    # --exclude adds to the configuration's
    assert check(root, exclude=["takes/"]).files == (str(root / "raw" / "take.mp4"),)


@pytest.mark.parametrize(("text", "message"), [
    ('per-file-ignore = {}\n', "unknown config key 'per-file-ignore'; did you mean "
                               "'per-file-ignores'?"),
    ('[per-file-ignores]\n"*.mp4" = ["VID999"]\n', "unknown rule 'VID999'"),
    ('[per-file-ignores]\n"*.mp4" = "VID"\n', "must be a list"),
    ('exclude = "raw/"\n', "exclude must be a list"),
    ('exclude = [""]\n', "empty pattern"),
    ('respect-gitignore = "no"\n', "respect-gitignore must be true or false"),
])
def test_configuration_is_validated_up_front(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "preflight.toml").write_text(text, encoding="utf-8")
    (tmp_path / "take.mp4").write_bytes(b"")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("?", r"\?").replace("[", r"\[")):
        check(tmp_path / "take.mp4")
    result = _cli(str(tmp_path / "take.mp4"))
    assert result.exit_code == 2 and "Traceback" not in result.output


SPEC = """ignore = [{ignored}]
[job]
is_background_replacement = false
[media]
training_video = "take.mp4"
"""


def test_a_spec_ignores_its_accepted_findings_but_req_errors_still_stop_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "take.mp4").write_bytes(b"")
    spec = tmp_path / "avatar.toml"
    spec.write_text(SPEC.format(ignored=""), encoding="utf-8")
    assert_codes(check(spec), expect=["REQ003", "VID001"])  # no name: the service refuses
    spec.write_text(SPEC.format(ignored='"REQ003", "video-file-readable"'), encoding="utf-8")
    report = check(spec)
    assert_codes(report, absent=["REQ003", "VID001"])
    binding = check(spec, config=binding_config(None, tmp_path))
    assert_codes(binding, expect=["REQ003"], absent=["VID001"])
    with pytest.raises(PackageRefused) as refused:
        package(spec, tmp_path / "pkg")
    assert "REQ003" in {f.code for f in refused.value.report.errors}
    # the same for an ignore in the configuration
    spec.write_text(SPEC.format(ignored=""), encoding="utf-8")
    (tmp_path / "preflight.toml").write_text('ignore = ["REQ"]\n', encoding="utf-8")
    assert_codes(check(spec), absent=["REQ003"])
    with pytest.raises(PackageRefused) as refused:
        package(spec, tmp_path / "pkg")
    assert "REQ003" in {f.code for f in refused.value.report.errors}
    monkeypatch.chdir(tmp_path)
    result = _cli("avatar.toml")
    assert "ignored REQ errors still stop `preflight package` and `preflight submit`" \
        in result.stderr


def test_a_spec_ignore_naming_an_unknown_rule_is_a_spec_error(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    (tmp_path / "take.mp4").write_bytes(b"")
    (tmp_path / "avatar.toml").write_text(SPEC.format(ignored='"VID0001"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = _cli("avatar.toml")
    assert result.exit_code == 2
    assert "avatar.toml: unknown rule 'VID0001' in ignore; did you mean" in result.stderr
    (tmp_path / "avatar.toml").write_text('ignore = "VID"\n[job]\n', encoding="utf-8")
    assert "ignore must be a list" in _cli("avatar.toml").stderr


def test_select_and_ignore_never_change_what_a_finding_says(tmp_path: Path) -> None:
    spec = tmp_path / "avatar.toml"
    (tmp_path / "take.mp4").write_bytes(b"")
    spec.write_text(SPEC.format(ignored=""), encoding="utf-8")
    every = [f.to_dict() | {"path": None} for f in check(spec).findings]
    for options in (["--ignore", "VID"], ["--select", "REQ"], ["--ignore", "REQ031,GRN"]):
        result = _cli(str(spec), "--format", "json", *options)
        found = json.loads(result.stdout)["findings"]
        assert found and len(found) < len(every)
        for item in found:
            assert item | {"path": None} in every, options


def test_check_reports_every_problem_of_a_broken_spec_in_one_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("jobs").mkdir()
    Path("jobs/avatar.toml").write_text(
        '[job]\nname = "A"\nmodel_versoin = "V3.2"\n[media]\ntraning_video = "t.mp4"\n'
        "[acount]\n", encoding="utf-8")
    one = _cli("jobs/avatar.toml")
    assert one.exit_code == 2
    assert one.stderr.splitlines() == [
        "jobs/avatar.toml:3:1: REQ001 body-unknown-key [error] job.model_versoin is not a "
        "field of the create body; did you mean 'model_version'?",
        "preflight: error: jobs/avatar.toml: 2 problems in the spec:",
        "  jobs/avatar.toml:5:1: unknown key media.traning_video; did you mean "
        "'training_video'?",
        "  jobs/avatar.toml:6:1: unknown section [acount]; did you mean 'account'?",
    ]
    Path("jobs/take.mp4").write_bytes(b"")
    folder = _cli("jobs")
    assert folder.exit_code == 2
    assert "jobs/avatar.toml:6:1: error: unknown section [acount]" in folder.stderr
    assert "jobs/avatar.toml: error: jobs/avatar.toml" not in folder.stderr  # named once
    assert "jobs/avatar.toml:3:1: REQ001" in folder.stdout
    assert "jobs/take.mp4: VID001" in folder.stdout  # the rest is still checked
    assert "(1 spec and 1 loose file checked, 1 could not be checked)" in folder.stdout
