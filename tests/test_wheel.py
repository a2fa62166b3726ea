"""A wheel built from the repo, installed (not editable) into a fresh venv, finds its packs."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_in_fresh_venv_runs_rules(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(dist), str(ROOT)],
        check=True, cwd=tmp_path,
    )
    (wheel,) = dist.glob("metastudio_preflight-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for pack in ("base", "standard", "flexus", "fast-flexus", "live-copy"):
        assert f"preflight/packs/{pack}.toml" in names
    for name in ("report.html.j2", "findings.html.j2", "report.css"):
        assert f"preflight/report/templates/{name}" in names

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    with zipfile.ZipFile(wheel) as zf:  # a plain (non-editable) install of the wheel's files
        zf.extractall(purelib)
    # Third-party dependencies come from this interpreter's site-packages, appended after the
    # fresh venv's own, so `preflight` itself resolves to the installed wheel.
    deps = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (Path(purelib) / "_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n",
                                             encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = subprocess.run(
        [str(py), "-c", "import preflight.rules.config as c; print(c._packs_dir())"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=env,
    ).stdout.strip()
    assert where.startswith(str(env_dir)), where
    out = subprocess.run(
        [str(py), "-m", "preflight.cli", "rules", "--format", "json"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=env,
    ).stdout
    rules = json.loads(out)["rules"]
    assert any(r["code"] == "REQ001" for r in rules)
    assert {r["severity"]["flexus"] for r in rules if r["code"] == "REQ023"} == {"off"}
    # The HTML report renders from the templates the wheel ships.
    code = ("import preflight.report.html as h; from preflight.model import Report; "
            "print(h.__file__); print(h.render_jobs([h.JobView(Report.build('standard', []))]))")
    out = subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True,
                         cwd=tmp_path, env=env).stdout
    where, page = out.split("\n", 1)
    assert where.startswith(str(env_dir)), where
    assert page.startswith("<!DOCTYPE html>") and "Ready to submit" in page
