"""File names that look like options reach the hook as paths: the manifest's entry ends with
"--", and `hook run -- FILES` treats everything after it as a path."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.adversarial.conftest import no_internal_error, run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_entry_ends_the_options() -> None:
    (entry,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert entry["entry"].split()[-1] == "--"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_option_like_file_names_are_checked_as_files(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    (tmp_path / "--cache-dir=evil.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "my cover.jpg").write_bytes(b"\xff\xd8\xff not really")
    r = run_cli("hook", "run", "--no-cache", "--", "--cache-dir=evil.png", "my cover.jpg",
                cwd=tmp_path, timeout=60)
    no_internal_error(r)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "--cache-dir=evil.png" in r.stdout and "my cover.jpg" in r.stdout
    assert not (tmp_path / "evil.png").exists()  # not taken as --cache-dir
