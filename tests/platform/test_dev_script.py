"""`scripts/dev.py`, the set-up without make: the version check, the platform's venv layout,
the two-step install (a face extra that cannot be installed never stops the rest) and the
browser search."""

from __future__ import annotations

import importlib.util
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _dev_module() -> Any:
    spec = importlib.util.spec_from_file_location("preflight_dev", ROOT / "scripts" / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = _dev_module()


class Pip:
    """Records the commands it is given; fails those containing `fail`."""

    def __init__(self, fail: str | None = None, made: Path | None = None):
        self.fail, self.made = fail, made
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> int:
        self.calls.append(list(argv))
        if self.made is not None and "venv" in argv:
            self.made.parent.mkdir(parents=True)
            self.made.write_text("", encoding="utf-8")
        return 1 if self.fail is not None and self.fail in argv else 0


def test_python_older_than_3_11_is_refused_with_the_way_out() -> None:
    with pytest.raises(dev.DevError, match=r"3\.11 or newer.*this is 3\.10\.13"):
        dev.check_python((3, 10, 13))
    dev.check_python((3, 11, 0))
    dev.check_python((3, 13, 1))


def test_venv_python_in_the_platform_layout(tmp_path: Path) -> None:
    assert dev.venv_python(tmp_path, windows=True) == tmp_path / "Scripts" / "python.exe"
    assert dev.venv_python(tmp_path, windows=False) == tmp_path / "bin" / "python"


def test_a_face_extra_that_cannot_be_installed_leaves_a_note_not_a_failure() -> None:
    pip = Pip(fail=".[test,face]")
    notes = dev.install(Path("py"), pip)
    assert [c[-1] for c in pip.calls] == [".[test]", ".[test,face]"]  # two steps, base first
    assert len(notes) == 1 and "PRS000" in notes[0] and "docs/install.md" in notes[0]


def test_the_face_extra_installed_leaves_no_note() -> None:
    assert dev.install(Path("py"), Pip()) == []


def test_a_project_that_cannot_be_installed_fails_before_the_extra() -> None:
    pip = Pip(fail=".[test]")
    with pytest.raises(dev.DevError, match="installing the project"):
        dev.install(Path("py"), pip)
    assert len(pip.calls) == 1


def test_ensure_venv_creates_installs_and_stamps_once(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "venv"
    python = dev.venv_python(venv)
    pip = Pip(fail=".[test,face]", made=python)
    assert dev.ensure_venv(pip, venv) == python
    assert pip.calls[0][1:3] == ["-m", "venv"] and len(pip.calls) == 3
    assert (venv / ".installed").is_file()
    assert "PRS000" in capsys.readouterr().err
    again = Pip()
    assert dev.ensure_venv(again, venv) == python and again.calls == []  # up to date


def test_browser_from_the_environment_or_a_usual_place(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert dev.find_browser({"PREFLIGHT_CHROMIUM": "/opt/c"}, "linux") == "/opt/c"
    chrome = tmp_path / "Google" / "Chrome" / "Application" / "chrome.exe"
    chrome.parent.mkdir(parents=True)
    chrome.write_bytes(b"")
    chrome.chmod(chrome.stat().st_mode | stat.S_IXUSR)
    for var in ("ProgramFiles(x86)", "LocalAppData"):  # a real browser there stays unseen
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ProgramFiles", str(tmp_path))
    assert dev.find_browser({}, "win32") == str(chrome)
    monkeypatch.setenv("ProgramFiles", str(tmp_path / "none"))
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert dev.find_browser({}, "win32") is None


def test_unknown_command_shows_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert dev.main(["deploy"]) == 2
    assert "python -m scripts.dev test" in capsys.readouterr().err
