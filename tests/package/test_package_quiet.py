"""`preflight package -q` prints like `check -q`: errors and one line, no upload list."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from preflight.cli import cli


def _job(tmp_path: Path, count: int) -> Path:
    """A spec with a 1 MB "video" and a body warning (REQ013: contact is not a phone number);
    only the body and packaging rules run (synthetic bytes, not media)."""
    (tmp_path / "take.mp4").write_bytes(os.urandom(1_000_000))
    (tmp_path / "preflight.toml").write_text('select = ["REQ", "PKG"]\n', encoding="utf-8")
    spec = tmp_path / "avatar.toml"
    spec.write_text(f'[job]\nname = "quiet"\ncontact = "someone"\nvideo_multipart_count = '
                    f'{count}\nis_background_replacement = false\n'
                    '[media]\ntraining_video = "take.mp4"\n[account]\nna_whitelisted = true\n',
                    encoding="utf-8")
    return spec


def test_quiet_package_prints_one_line_and_no_warnings(tmp_path: Path) -> None:
    spec, out = _job(tmp_path, 2), tmp_path / "pkg"
    loud = CliRunner().invoke(cli, ["package", str(spec), "--out", str(out)])
    assert loud.exit_code == 0, loud.output
    assert "REQ013" in loud.output and "training_video" in loud.output
    quiet = CliRunner().invoke(cli, ["package", "-q", str(spec), "--out", str(out)])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout.splitlines() == [  # standard error: only the progress display
        f"packaged {spec} -> {out / 'manifest.json'} (edition standard)"]


def test_quiet_package_still_prints_the_errors_that_refuse_it(tmp_path: Path) -> None:
    spec = _job(tmp_path, 1000)  # 1000 parts of 1 KB: under the 100 KB part minimum
    res = CliRunner().invoke(cli, ["package", "--quiet", str(spec), "--out",
                                   str(tmp_path / "pkg")])
    assert res.exit_code == 1
    assert "PKG001" in res.output and "REQ013" not in res.output
    assert "not packaging" in res.output
