"""The command line where Windows runs it: the ``os`` attributes Windows lacks are removed
before the standard library loads them (a ``sitecustomize``) and standard output is cp1252.
Checking a spec, ``rules`` to a file, ``package``, ``submit --sandbox`` and ``hook install``
work as they do on Linux, with the same refusals (FIFO, device, link, output onto input).

The refusals use FIFOs and ``/dev/zero``, which only POSIX systems have: the module runs
where the attributes can be taken away from a system that has them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from preflight.cli import STREAM_ERRORS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="removes POSIX-only attributes "
                                "of os to reproduce Windows; Windows runs the suite itself")

#: What Windows' ``os`` lacks among what preflight and the modules it uses could touch.
MISSING = ("O_NONBLOCK", "O_NOFOLLOW", "O_CLOEXEC", "getuid", "geteuid", "fchmod", "sendfile")
#: Removes them from ``os`` before the standard library uses it. A third-party package that
#: picks its code by platform (filelock: ``msvcrt`` locks on Windows, ``fcntl`` with
#: ``O_NONBLOCK`` elsewhere) runs its Windows code on Windows; here it keeps its POSIX code and
#: the whole ``os`` that code needs, so what is tested is the standard library and preflight.
SITE = f"""\
import importlib, os, pkgutil, types
_whole = types.ModuleType("os")
_whole.__dict__.update(os.__dict__)
for _name in {MISSING!r}:
    if hasattr(os, _name):
        delattr(os, _name)
try:
    import filelock
except ImportError:
    pass
else:
    for _info in pkgutil.walk_packages(filelock.__path__, "filelock."):
        try:
            _module = importlib.import_module(_info.name)
        except ImportError:
            continue
        if getattr(_module, "os", None) is os:
            _module.os = _whole
"""
CLI = [sys.executable, "-m", "preflight.cli"]
QUICK = "quick-rules.toml"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the ``sitecustomize`` that removes the attributes."""
    folder = tmp_path_factory.mktemp("windows-site")
    (folder / "sitecustomize.py").write_text(SITE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, media_factory: Any) -> Path:
    """One spec over real media, shared by the module's tests (they never change it)."""
    folder = tmp_path_factory.mktemp("windows-job")
    video = media_factory.video(width=360, height=640, seconds=2)
    audio = media_factory.audio(seconds=3)
    # Packaging runs its check with the body and packaging rules only: the media rules run in
    # the two check tests.
    (folder / QUICK).write_text('select = ["REQ", "PKG"]\n', encoding="utf-8")
    spec = folder / "avatar.toml"
    spec.write_text(
        '[job]\nname = "demo"\nvideo_multipart_count = 3\nis_background_replacement = false\n'
        'audio_source_type = "AUDIO"\n'
        f"[media]\ntraining_video = '{video}'\naudio = ['{audio}']\n", encoding="utf-8")
    return spec


def _video(spec: Path) -> str:
    return str(tomllib.loads(spec.read_text(encoding="utf-8"))["media"]["training_video"])


def windows_env(site: Path) -> dict[str, str]:
    """This process's environment with the attributes removed and a cp1252 stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUAWEICLOUD")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    env.update(PYTHONIOENCODING="cp1252", NO_COLOR="1")
    return env


def linux_env() -> dict[str, str]:
    """The same environment without the removals (a UTF-8 stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUAWEICLOUD")}
    env.update(PYTHONIOENCODING="utf-8", NO_COLOR="1")
    return env


def run(env: dict[str, str], *args: str, cwd: Path | None = None,
        **kw: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output="stdout" not in kw,
                          timeout=120, stdin=subprocess.DEVNULL, check=False, **kw)


def as_cp1252(utf8: bytes) -> str:
    """What a cp1252 stream shows of UTF-8 output (symbols it lacks as plain stand-ins)."""
    return utf8.decode("utf-8").encode("cp1252", STREAM_ERRORS).decode("cp1252")


def no_crash(proc: subprocess.CompletedProcess[bytes]) -> str:
    """The process's standard error (cp1252), after checking it shows no crash."""
    err = proc.stderr.decode("cp1252") if proc.stderr else ""
    assert "internal error" not in err and "Traceback" not in err, err
    return err


def test_the_attributes_are_gone_and_stdout_is_cp1252(site: Path) -> None:
    code = ("import os, shutil, sys, tempfile; "
            f"print(sys.stdout.encoding, [n for n in {MISSING!r} if hasattr(os, n)])")
    out = subprocess.run([sys.executable, "-c", code], env=windows_env(site),
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["cp1252", "[]"]


def test_check_of_a_spec_as_on_linux(site: Path, job: Path) -> None:
    args = ("check", str(job), "--no-cache", "--format", "json")
    win = run(windows_env(site), *args)
    no_crash(win)
    lin = run(linux_env(), *args)
    assert win.returncode == lin.returncode and win.returncode in (0, 1), win.stderr
    assert json.loads(win.stdout.decode("cp1252")) == json.loads(as_cp1252(lin.stdout))


def test_text_report_with_symbols_on_a_cp1252_stdout(site: Path, job: Path) -> None:
    win = run(windows_env(site), "check", str(job), "--no-cache")
    no_crash(win)
    assert win.returncode in (0, 1)
    win.stdout.decode("cp1252")


def test_rules_to_a_file(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "rules.txt"
    with out.open("wb") as fh:
        win = run(windows_env(site), "rules", stdout=fh, stderr=subprocess.PIPE)
    no_crash(win)
    assert win.returncode == 0
    lin = run(linux_env(), "rules")
    assert "≥".encode() in lin.stdout  # symbols a cp1252 stream cannot encode
    assert out.read_bytes().decode("cp1252") == as_cp1252(lin.stdout)
    assert b">=" in out.read_bytes()


def test_package_with_parts_as_files(site: Path, job: Path, tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    win = run(windows_env(site), "package", str(job), "--out", str(pkg), "--materialize",
              "--force", "--config", str(job.with_name(QUICK)))
    no_crash(win)
    assert win.returncode == 0, win.stderr
    manifest = json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))
    video = next(u for u in manifest["uploads"] if u["slot"] == "training_video")
    parts = sorted((pkg / "parts").iterdir())
    assert len(parts) == 3
    assert b"".join(p.read_bytes() for p in parts) == Path(video["source"]).read_bytes()


def _submit(env: dict[str, str], job: Path, folder: Path) -> subprocess.CompletedProcess[bytes]:
    pkg = folder / "pkg"
    assert run(env, "package", str(job), "--out", str(pkg), "--force", "--config",
               str(job.with_name(QUICK))).returncode == 0
    return run(env, "submit", str(job), "--sandbox", "--wait", "--package-dir", str(pkg),
               "--state-dir", str(folder / "state"), "--poll-interval", "0.05")


def test_submit_to_the_built_in_stand_in(site: Path, job: Path, tmp_path: Path) -> None:
    win = _submit(windows_env(site), job, tmp_path / "win")
    err = no_crash(win)
    lin = _submit(linux_env(), job, tmp_path / "linux")
    # Every part uploaded and the job run to its end: the stand-in's review rejects the
    # small take, here as on Linux.
    assert win.returncode == lin.returncode, err
    for shown in (err, lin.stderr.decode("utf-8")):
        assert "ended in AUTO_VERIFY_FAILED" in shown, shown
    state = tmp_path / "win" / "state" / "preflight-state.sqlite"
    assert state.is_file() and state.stat().st_mode & 0o077 == 0


def test_hook_install_writes_lf_only_and_uninstalls(site: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env = windows_env(site)
    win = run(env, "hook", "install", cwd=tmp_path)
    no_crash(win)
    assert win.returncode == 0, win.stderr
    hook = tmp_path / ".git" / "hooks" / "pre-commit"
    data = hook.read_bytes()
    assert data.startswith(b"#!/bin/sh\n") and b"\r" not in data
    gone = run(env, "hook", "uninstall", cwd=tmp_path)
    no_crash(gone)
    assert gone.returncode == 0 and not hook.exists()


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "avatar.toml"
    os.mkfifo(path)
    yield path


def _no_port(text: str) -> str:
    """Output without the port number the stand-in happened to get."""
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


def _refusal(site: Path, code: int | None, *args: str) -> str:
    """Run under both environments: the same exit code (`code`, or any failure when None)
    and output; the output."""
    win, lin = run(windows_env(site), *args), run(linux_env(), *args)
    err = no_crash(win)
    shown = (win.returncode, win.stdout.decode("cp1252"), _no_port(err))
    assert shown == (lin.returncode, as_cp1252(lin.stdout), _no_port(as_cp1252(lin.stderr)))
    assert win.returncode == code if code is not None else win.returncode > 0, shown
    return shown[1] + shown[2]


def test_a_fifo_spec_is_refused_not_waited_on(site: Path, fifo: Path) -> None:
    assert "FIFO" in _refusal(site, 2, "check", str(fifo))


def test_a_device_is_refused(site: Path, tmp_path: Path) -> None:
    spec = tmp_path / "avatar.toml"
    spec.symlink_to("/dev/zero")
    assert "is a device" in _refusal(site, 2, "check", str(spec))
    loose = _refusal(site, 1, "check", "/dev/zero", "--slot", "training_video")
    assert "VID001" in loose and "not a regular file" in loose


@pytest.mark.parametrize("name", ["manifest.json", "parts/training_video.part0002.tmp"])
def test_a_package_output_that_is_a_link_is_refused(site: Path, job: Path, tmp_path: Path,
                                                    name: str) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("kept\n", encoding="utf-8")
    link = tmp_path / "pkg" / name
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    out = _refusal(site, 2, "package", str(job), "--out", str(tmp_path / "pkg"), "--force",
                   "--materialize", "--config", str(job.with_name(QUICK)))
    assert "symbolic link" in out and str(link) in out
    assert target.read_text(encoding="utf-8") == "kept\n"


def test_an_output_onto_its_input_is_refused(site: Path, job: Path, tmp_path: Path) -> None:
    take = tmp_path / "take.mp4"
    take.write_bytes(before := Path(_video(job)).read_bytes())
    other_name = tmp_path / "take.fixed.mp4"
    os.link(take, other_name)  # the same file under another name
    out = _refusal(site, 2, "fix", str(take), "-o", str(other_name), "--overwrite")
    assert "input" in out and str(other_name) in out
    assert take.read_bytes() == before


def test_a_linked_state_store_is_refused(site: Path, tmp_path: Path, job: Path) -> None:
    pkg = tmp_path / "pkg"
    assert run(linux_env(), "package", str(job), "--out", str(pkg), "--force", "--config",
               str(job.with_name(QUICK))).returncode == 0
    state = tmp_path / "state"
    state.mkdir()
    elsewhere = tmp_path / "elsewhere.sqlite"
    (state / "preflight-state.sqlite").symlink_to(elsewhere)
    out = _refusal(site, None, "submit", str(job), "--sandbox", "--package-dir", str(pkg),
                   "--state-dir", str(state))
    assert "symbolic link" in out and not elsewhere.exists()
