"""Set up, try and test the project without make, the same on Windows, macOS and Linux.

    python -m scripts.dev demo     # set up .venv, then check, package and submit the samples
    python -m scripts.dev test     # set up .venv, then the test suite (extra arguments to pytest)
    python -m scripts.dev lint     # ruff and mypy
    python -m scripts.dev install  # only set up .venv

Run it from the repository folder with Python 3.11 or newer (``py -3.11 -m scripts.dev test``
on Windows). The virtual environment is ``.venv`` (``.venv\\Scripts\\python.exe`` on Windows,
``.venv/bin/python`` elsewhere) and is set up again when ``pyproject.toml`` changes. The
project and its test tools are installed first; the optional ``face`` extra (dlib) after, in
a step of its own: where no dlib wheel exists for this Python and system, that step fails
alone, the presenter checks say so (PRS000) and everything else works.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (kept out of the run, so an old Python reaches the version check)
    from collections.abc import Callable, Sequence

    Runner = Callable[[Sequence[str]], int]

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"
MIN_PYTHON = (3, 11)
WINDOWS = sys.platform == "win32"
#: The installs, in order; only the first must succeed.
BASE, FACE = ".[test]", ".[test,face]"
FACE_NOTE = ("note: the optional 'face' extra (dlib-bin) could not be installed for Python "
             "{version} on this system, so the presenter checks (PRS) are skipped and say so "
             "(PRS000); everything else works. See docs/install.md, 'The face extra'.")
#: Where Chrome, Chromium or Edge usually lives, for the browser tests and the demo's
#: screenshot when PREFLIGHT_CHROMIUM is not set.
BROWSERS = {
    "linux": ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"],
    "darwin": ["/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
               "/Applications/Chromium.app/Contents/MacOS/Chromium",
               "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge"],
    "win32": ["%ProgramFiles%/Google/Chrome/Application/chrome.exe",
              "%ProgramFiles(x86)%/Google/Chrome/Application/chrome.exe",
              "%LocalAppData%/Google/Chrome/Application/chrome.exe",
              "%ProgramFiles(x86)%/Microsoft/Edge/Application/msedge.exe",
              "%ProgramFiles%/Microsoft/Edge/Application/msedge.exe"],
}

class DevError(Exception):
    """A step failed; the message says which and what to do."""


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> None:
    """:raises DevError: this Python is older than `MIN_PYTHON`."""
    if version[:2] < MIN_PYTHON:
        want = ".".join(map(str, MIN_PYTHON))
        raise DevError(f"Python {want} or newer is needed (this is "
                       f"{'.'.join(map(str, version))}); run it with python{want} "
                       f"(Windows: py -{want} -m scripts.dev ...)")


def venv_python(venv: Path = VENV, windows: bool = WINDOWS) -> Path:
    """The interpreter of the virtual environment, in the platform's layout."""
    return venv / "Scripts" / "python.exe" if windows else venv / "bin" / "python"


def run(argv: Sequence[str], env: dict[str, str] | None = None) -> int:
    """Run a command in the repository folder (shown first); its exit code."""
    print("+", " ".join(str(a) for a in argv), flush=True)
    return subprocess.run(list(argv), cwd=ROOT, env=env, check=False).returncode


def install(python: Path, runner: Runner = run) -> list[str]:
    """Install the project with its test tools, then the ``face`` extra on its own; returns
    the notes to show (a face extra that could not be installed).

    :raises DevError: the project itself could not be installed.
    """
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    if runner([*pip, "-e", BASE]) != 0:
        raise DevError(f"installing the project ({BASE}) failed; see pip's message above")
    if runner([*pip, "-e", FACE]) != 0:
        version = ".".join(map(str, sys.version_info[:2]))
        return [FACE_NOTE.format(version=version)]
    return []


def ensure_venv(runner: Runner = run, venv: Path = VENV) -> Path:
    """`venv` with the project installed (again when pyproject.toml is newer); its python.

    :raises DevError: it cannot be created or the project cannot be installed.
    """
    python, stamp = venv_python(venv), venv / STAMP.name
    pyproject = ROOT / "pyproject.toml"
    if (python.exists() and stamp.exists()
            and stamp.stat().st_mtime >= pyproject.stat().st_mtime):
        return python
    if not python.exists() and runner([sys.executable, "-m", "venv", str(venv)]) != 0:
        raise DevError(f"cannot create the virtual environment {venv}")
    for note in install(python, runner):
        print(note, file=sys.stderr)
    stamp.write_text("installed by scripts/dev.py or make\n", encoding="utf-8")
    return python


def find_browser(environ: dict[str, str] | None = None,
                 platform: str = sys.platform) -> str | None:
    """A Chromium-family browser: $PREFLIGHT_CHROMIUM, else a usual install place, else
    chromium on PATH; None when there is none."""
    env = os.environ if environ is None else environ
    named = env.get("PREFLIGHT_CHROMIUM")
    if named:
        return named
    expand = ntpath.expandvars if platform == "win32" else posixpath.expandvars
    for place in BROWSERS.get(platform, []):
        path = expand(place)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


def browser_env() -> dict[str, str]:
    """The environment for the tests and the demo: the browser found, or a reason to skip.

    On Linux without one, Debian's chromium is installed (scripts/ensure_chromium.sh), as
    `make` does: the browser tests never skip there unless PREFLIGHT_SKIP_BROWSER=1 says so.
    """
    env = dict(os.environ)
    if env.get("PREFLIGHT_SKIP_BROWSER") == "1":
        return env
    found = find_browser(env)
    if found is None and sys.platform.startswith("linux") and shutil.which("sh"):
        if run(["sh", "scripts/ensure_chromium.sh"]) != 0:
            raise DevError("no Chromium; set PREFLIGHT_CHROMIUM=/path/to/chromium or "
                           "PREFLIGHT_SKIP_BROWSER=1")
        found = find_browser(env)
    if found is not None:
        env["PREFLIGHT_CHROMIUM"] = found
    return env


def _expect(code: int, want: int, what: str) -> None:
    if code != want:
        raise DevError(f"{what}: expected exit {want}, got {code}")


def demo(python: Path) -> None:
    """What ``make demo`` does: samples made, checked (one passes, one fails), packaged and
    submitted to the local stand-in service."""
    env = browser_env()
    out = Path("sample_media") / "out"
    cli = [str(python), "-m", "preflight.cli"]
    _expect(run([str(python), "sample_media/generate.py"], env), 0, "generating samples")
    print("== preflight check sample_media/avatar.toml (expected: passes, exit 0)")
    _expect(run([*cli, "check", "sample_media/avatar.toml", "--contact-sheet",
                 str(out / "contact-sheet.png")], env), 0, "the good sample")
    print("== preflight check sample_media/broken.toml (expected: fails, exit 1)")
    _expect(run([*cli, "check", "sample_media/broken.toml", "--contact-sheet",
                 str(out / "contact-sheet-broken.png")], env), 1, "the broken sample")
    report = out / "report.html"
    _expect(run([*cli, "check", "sample_media/broken.toml", "--format", "html", "-o",
                 str(report)], env), 1, "the HTML report of the broken sample")
    if env.get("PREFLIGHT_CHROMIUM"):
        print(f"== screenshot of the HTML report: {out / 'report.png'}")
        _expect(run([str(python), "scripts/screenshot.py", str(report),
                     str(out / "report.png"), "--max-height", "3400"], env), 0, "screenshot")
    else:
        print(f"== no Chromium found (set PREFLIGHT_CHROMIUM): open {report} in a browser")
    print("== preflight package sample_media/avatar.toml --out sample_media/out/pkg")
    _expect(run([*cli, "package", "sample_media/avatar.toml", "--out", str(out / "pkg"),
                 "--parts", "3"], env), 0, "packaging")
    print("== preflight submit sample_media/avatar.toml --sandbox --wait (local stand-in)")
    _expect(run([*cli, "submit", "sample_media/avatar.toml", "--sandbox", "--wait",
                 "--package-dir", str(out / "pkg"), "--parts", "3"], env), 0, "submitting")


def test(python: Path, args: Sequence[str]) -> int:
    """The test suite (bytecode kept under .venv, so the tree is left as it was), on every
    CPU when pytest-xdist is installed and no ``-n`` is given."""
    env = browser_env()
    env["PYTHONPYCACHEPREFIX"] = str(VENV / "pycache")
    parallel: list[str] = []
    has_xdist = subprocess.run([str(python), "-c", "import xdist"], capture_output=True,
                               check=False).returncode == 0
    if has_xdist and not any(a.startswith("-n") for a in args):
        parallel = ["-n", "auto"]
    return run([str(python), "-m", "pytest", "-q", *parallel, *args], env)


def lint(python: Path) -> int:
    """ruff, then mypy (strict on the package); no caches left behind."""
    code = run([str(python), "-m", "ruff", "check", "--no-cache", "preflight", "tests",
                "sample_media", "bench", "scripts"])
    return run([str(python), "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull]) or code


COMMANDS = ("demo", "test", "lint", "install")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (see the module's doc); its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        check_python()
        python = ensure_venv()
        if args[0] == "demo":
            demo(python)
        elif args[0] == "test":
            return test(python, args[1:])
        elif args[0] == "lint":
            return lint(python)
    except DevError as exc:
        print(f"dev: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
