"""The pre-commit hook, for real: git repositories, the pre-commit framework, LFS pointers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from preflight.cli import cli
from preflight.workflows import hook
from preflight.workflows.check import check
from tests.helpers import assert_codes

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
PREFLIGHT = Path(sys.executable).parent / "preflight"
LFS = ("version https://git-lfs.github.com/spec/v1\n"
       "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
       "size 734003200\n")

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=check, stdin=subprocess.DEVNULL)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository with an identity, as the current folder."""
    r = tmp_path / "repo"
    r.mkdir()
    for k, v in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                 "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
                 "GIT_CONFIG_NOSYSTEM": "1", "PRE_COMMIT_HOME": str(tmp_path / "pc")}.items():
        monkeypatch.setenv(k, v)
    git(r, "init", "-q", "-b", "main")
    monkeypatch.chdir(r)
    return r


def test_manifest_is_valid_for_the_framework() -> None:
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                           str(MANIFEST)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (entry,) = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert entry["id"] == "preflight" and entry["entry"] == "preflight hook run --"
    assert entry["files"] == hook.FILES_REGEX
    rx = re.compile(entry["files"])
    for name in ("a/take.MP4", "x.mov", "v.mp3", "id.jpeg", "grant.pdf", "avatar.toml",
                 "jobs/anna-avatar.json"):
        assert rx.search(name), name
    for name in ("pyproject.toml", "notes.txt", "package.json", "mp4.py"):
        assert not rx.search(name), name


def _framework_repo(repo: Path) -> None:
    (entry,) = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    config = {"repos": [{"repo": "local", "hooks": [{
        "id": "preflight", "name": entry["name"], "entry": f"{PREFLIGHT} hook run --",
        "language": "system", "files": entry["files"], "require_serial": True,
    }]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "--no-verify", "-m", "config")
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, check=True,
                   capture_output=True)


def _commit(repo: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """`git commit`; the hook's output (stderr for git) ends up in `stdout`."""
    git(repo, "add", *files)
    return subprocess.run(["git", "commit", "-m", f"add {' '.join(files)}"], cwd=repo,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          stdin=subprocess.DEVNULL)


@needs_git
def test_framework_refuses_a_broken_video_and_accepts_a_clean_image(repo: Path) -> None:
    if not PREFLIGHT.exists():
        pytest.skip("preflight console script not installed next to this interpreter")
    _framework_repo(repo)
    (repo / "take.mp4").write_bytes(b"")
    refused = _commit(repo, "take.mp4")
    assert refused.returncode != 0
    assert "take.mp4: VID001 [error] training_video: is empty" in refused.stdout
    assert "preflight: commit refused: " in refused.stdout
    assert "details: preflight check take.mp4" in refused.stdout
    git(repo, "rm", "-q", "--cached", "take.mp4")
    (repo / "take.mp4").unlink()

    from PIL import Image

    Image.new("RGB", (900, 600), "gray").save(repo / "cover.png")
    accepted = _commit(repo, "cover.png")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    again = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--files", "cover.png"],
                           cwd=repo, capture_output=True, text=True)
    assert again.returncode == 0
    assert (repo / ".preflight_cache" / "results.sqlite3").is_file()
    assert git(repo, "status", "--porcelain").stdout == ""  # the cache folder ignores itself


def _spec_for(video: str) -> str:
    return f'[job]\nname = "Anna"\n[media]\ntraining_video = "{video}"\n'


@needs_git
def test_staged_media_uses_the_body_and_slot_of_a_spec_that_names_it(repo: Path) -> None:
    (repo / "avatar.toml").write_text(
        '[job]\nname = "A"\nis_flexus = true\n[media]\ncover = "art/front.png"\n',
        encoding="utf-8")
    (repo / "art").mkdir()
    (repo / "art" / "front.png").write_bytes(b"")
    (repo / "loose.png").write_bytes(b"")
    targets = hook.plan(["art/front.png", "loose.png", "notes.toml"], repo)
    assert [(t.path.name, t.slot, dict(t.job or {}).get("is_flexus")) for t in targets] == [
        ("front.png", "cover", True), ("loose.png", "cover", None)]
    # With the spec staged too, the spec is checked whole and names the image.
    targets = hook.plan(["avatar.toml", "art/front.png"], repo)
    assert [(t.kind, t.path.name) for t in targets] == [("spec", "avatar.toml")]


@needs_git
def test_native_hook_install_run_and_uninstall(repo: Path) -> None:
    runner = CliRunner()
    hooks = repo / ".git" / "hooks"
    foreign = hooks / "pre-commit"
    foreign.write_text("#!/bin/sh\necho mine\n", encoding="utf-8")
    result = runner.invoke(cli, ["hook", "install"])
    assert result.exit_code == 2 and "--force" in result.output
    assert foreign.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    result = runner.invoke(cli, ["hook", "install", "--force"])
    assert result.exit_code == 0, result.output
    assert hook.is_ours(foreign) and os.access(foreign, os.X_OK)
    assert (hooks / "pre-commit.preflight-backup").is_file()
    assert runner.invoke(cli, ["hook", "install"]).exit_code == 0  # ours: rewritten quietly

    (repo / "avatar.toml").write_text(_spec_for("take.mp4"), encoding="utf-8")
    (repo / "take.mp4").write_bytes(b"")
    refused = _commit(repo, "avatar.toml", "take.mp4")
    assert refused.returncode == 1
    assert "take.mp4: VID001 [error]" in refused.stdout
    assert re.search(r"^avatar\.toml:\d+:\d+: REQ\d{3} \[", refused.stdout, re.M), refused.stdout
    assert "details: preflight check avatar.toml" in refused.stdout

    result = runner.invoke(cli, ["hook", "uninstall"])
    assert result.exit_code == 0 and "restored" in result.output
    assert foreign.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    result = runner.invoke(cli, ["hook", "uninstall"])
    assert result.exit_code == 2 and "left alone" in result.output
    foreign.unlink()
    assert "no pre-commit hook" in runner.invoke(cli, ["hook", "uninstall"]).output


@needs_git
def test_hook_run_outside_a_repository_is_a_clean_error(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result = CliRunner().invoke(cli, ["hook", "run", "x.mp4"])
    assert result.exit_code == 2 and "git" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("name", "code"), [("v.mp4", "VID090"), ("a.wav", "AUD090"),
                                            ("c.png", "IMG090"), ("g.pdf", "IMG090")])
def test_lfs_pointer_is_an_info_and_nothing_else(tmp_path: Path, name: str, code: str) -> None:
    pointer = tmp_path / name
    pointer.write_text(LFS, encoding="utf-8")
    report = check([pointer])
    assert_codes(report, expect=[code])
    assert [f.code for f in report.findings] == [code] and report.ok
    assert report.findings[0].details["lfs"]["size"] == "734003200"
    # A real file that merely mentions LFS later on, or an empty one, is not a pointer.
    pointer.write_bytes(b"\0\0\0 ftyp" + LFS.encode())
    assert_codes(check([pointer]), absent=[code])
    pointer.write_bytes(b"")
    assert_codes(check([pointer]), absent=[code])


def test_lfs_pointer_named_by_a_spec(write_spec: Any, tmp_path: Path) -> None:
    (tmp_path / "take.mp4").write_text(LFS, encoding="utf-8")
    report = check(write_spec(_spec_for("take.mp4")))
    assert_codes(report, expect=["VID090"], absent=["VID001", "VID002"])


@needs_git
def test_framework_blocks_a_720p_video_accepts_a_good_one_and_reuses_the_cache(
        repo: Path, media_factory: Any) -> None:
    if not PREFLIGHT.exists():
        pytest.skip("preflight console script not installed next to this interpreter")
    _framework_repo(repo)
    # The generated presenter is a drawn figure without a real face: judge the media only.
    (repo / "preflight.toml").write_text('ignore = ["PRS"]\n', encoding="utf-8")
    shutil.copy(media_factory.video(width=1280, height=720, seconds=180), repo / "take.mp4")
    refused = _commit(repo, "take.mp4")
    assert refused.returncode != 0
    assert re.search(r"take\.mp4: VID006 \[error\] .*1280x720", refused.stdout), refused.stdout
    git(repo, "rm", "-q", "--cached", "take.mp4")

    shutil.copy(media_factory.video(width=1920, height=1080, seconds=180), repo / "take.mp4")
    accepted = _commit(repo, "take.mp4")
    assert accepted.returncode == 0, accepted.stdout
    again = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--verbose", "--files",
                            "take.mp4"], cwd=repo, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout
    assert "preflight: ok: 0 errors" in again.stdout
    assert "(1 from cache)" in again.stdout


TYPOS = """[job]
name = "A"
model_versoin = "V3.2"
is_background_replacement = false

[media]
traning_video = "take.mp4"
"""


@needs_git
def test_a_broken_spec_is_reported_whole_in_one_pass(repo: Path) -> None:
    """Every problem (a [media] typo and a [job] typo) at its line and column, the path once
    as typed, and counted: never 'commit refused: 0 errors'."""
    (repo / "avatar.toml").write_text(TYPOS, encoding="utf-8")
    git(repo, "add", "avatar.toml")
    result = CliRunner().invoke(cli, ["hook", "run", "avatar.toml"])
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "avatar.toml:7:1: error: unknown key media.traning_video; did you mean "
        "'training_video'?",
        "avatar.toml:3:1: REQ001 [error] job.model_versoin is not a field of the create body; "
        "did you mean 'model_version'?",
        "preflight: commit refused: 1 spec problem, 1 error in 1 file",
    ]
    assert str(repo) not in result.stdout and "0 errors" not in result.stdout
    (repo / "avatar.toml").write_text(TYPOS + "[acount]\nx = 1\n", encoding="utf-8")
    again = CliRunner().invoke(cli, ["hook", "run", "avatar.toml"])
    assert "avatar.toml:8:1: error: unknown section [acount]" in again.stdout
    assert "2 spec problems, 1 error in 1 file" in again.stdout


@needs_git
def test_hook_run_takes_the_check_options(repo: Path) -> None:
    (repo / "take.mp4").write_bytes(b"")
    (repo / "notes.txt").write_text("x", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["hook", "run", "--no-cache", "take.mp4"]).exit_code == 1
    ignored = runner.invoke(cli, ["hook", "run", "--no-cache", "--ignore", "VID", "take.mp4"])
    assert ignored.exit_code == 0 and "preflight: ok" in ignored.stdout
    excluded = runner.invoke(cli, ["hook", "run", "--no-cache", "--exclude", "*.mp4",
                                   "take.mp4"])
    assert excluded.exit_code == 0 and excluded.stdout == ""
    assert runner.invoke(cli, ["hook", "run", "notes.txt"]).exit_code == 0  # no media: ok
    selected = runner.invoke(cli, ["hook", "run", "--no-cache", "--select", "GRN",
                                   "--edition", "flexus", "take.mp4"])
    assert selected.exit_code == 0 and "VID001" not in selected.stdout
    bad = runner.invoke(cli, ["hook", "run", "--select", "VID9999", "take.mp4"])
    assert bad.exit_code == 2 and "unknown rule 'VID9999'" in bad.output
    (repo / "preflight.toml").write_text('[per-file-ignores]\n"take.mp4" = ["VID"]\n',
                                         encoding="utf-8")
    assert runner.invoke(cli, ["hook", "run", "--no-cache", "take.mp4"]).exit_code == 0
    (repo / "preflight.toml").write_text('exclude = ["take.mp4"]\n', encoding="utf-8")
    assert runner.invoke(cli, ["hook", "run", "--no-cache", "take.mp4"]).stdout == ""


@needs_git
def test_hook_strict_refuses_warnings(repo: Path) -> None:
    spec = ('[job]\nname = "A"\nis_flexus = true\nis_background_replacement = false\n'
            '[account]\nna_whitelisted = true\n')
    (repo / "avatar.toml").write_text(spec, encoding="utf-8")
    runner = CliRunner()
    plain = runner.invoke(cli, ["hook", "run", "--no-cache", "--select", "REQ028",
                                "avatar.toml"])
    assert plain.exit_code == 0 and "REQ028 [warning]" in plain.stdout
    strict = runner.invoke(cli, ["hook", "run", "--no-cache", "--select", "REQ028",
                                 "--strict", "avatar.toml"])
    assert strict.exit_code == 1 and "--strict: warnings refuse the commit" in strict.stdout
