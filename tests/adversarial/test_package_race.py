"""Two runs packaging into one folder: the folder is locked while a package is written and
temporary files have unpredictable names, so the second run fails with a clear message (or
runs after the first) and never leaves a corrupt package."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

from filelock import FileLock

from preflight.packager.builder import LOCK_NAME
from tests.adversarial.conftest import CLI, fingerprint, no_internal_error, run_cli


def _job(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A spec with a (not decodable, so forced) take and four audio files."""
    (tmp_path / "take.mp4").write_bytes(os.urandom(200_000))
    names = []
    for i in range(4):
        (tmp_path / f"a{i}.wav").write_bytes(b"RIFF" + os.urandom(300_000))
        names.append(f'"a{i}.wav"')
    spec = tmp_path / "avatar.toml"
    spec.write_text('[job]\nname = "x"\naudio_source_type = "AUDIO"\n[media]\n'
                    f'training_video = "take.mp4"\naudio = [{", ".join(names)}]\n',
                    encoding="utf-8")
    return spec, [spec, tmp_path / "take.mp4", *(tmp_path / f"a{i}.wav" for i in range(4))]


def _whole(out: Path) -> None:
    """The package in `out` is complete: its manifest parses and its zip is intact."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {u["slot"] for u in manifest["uploads"]} == {"training_video", "audio"}
    with zipfile.ZipFile(out / "audio.zip") as zf:
        assert zf.testzip() is None and len(zf.namelist()) == 4
    assert not [p.name for p in out.iterdir() if p.name.endswith((".tmp", ".part"))]


def test_a_held_package_folder_is_refused_clearly(tmp_path: Path) -> None:
    spec, inputs = _job(tmp_path)
    out = tmp_path / "pkg"
    out.mkdir()
    before = fingerprint(inputs)
    with FileLock(str(out / LOCK_NAME), timeout=0):
        r = run_cli("package", spec, "--out", out, "--force", cwd=tmp_path)
    no_internal_error(r)
    assert r.returncode == 2 and "another preflight run is writing the package" in r.stderr
    assert not (out / "manifest.json").exists() and not (out / "audio.zip").exists()
    assert fingerprint(inputs) == before
    r = run_cli("package", spec, "--out", out, "--force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    _whole(out)


def test_two_processes_into_one_folder(tmp_path: Path) -> None:
    spec, inputs = _job(tmp_path)
    out = tmp_path / "pkg"
    before = fingerprint(inputs)
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [subprocess.Popen([*CLI, "package", str(spec), "--out", str(out), "--force"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
             for _ in range(2)]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    for code, err in results:
        assert "Traceback" not in err and "internal error" not in err.lower()
        assert code == 0 or (code == 2 and "another preflight run is writing" in err), err
    assert any(code == 0 for code, _ in results)
    _whole(out)
    assert fingerprint(inputs) == before
