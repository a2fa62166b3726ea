"""Helpers for the hostile-input suite: every reproduction runs in a real process (or a
thread) with a timeout, so a hang fails the test instead of stalling the run."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from tests.submit.conftest import sandbox  # noqa: F401  (the stand-in service fixture)

CLI = [sys.executable, "-c", "import sys; from preflight.cli import main; sys.exit(main())"]
#: Generous bound for one command on hostile input (a normal run takes about a second).
TIMEOUT = 60.0

T = TypeVar("T")


def run_cli(*args: str | os.PathLike[str], cwd: Path | None = None,
            env: dict[str, str] | None = None, timeout: float = TIMEOUT
            ) -> subprocess.CompletedProcess[str]:
    """Run `preflight ARGS` as a process; a hang raises `subprocess.TimeoutExpired`."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, env=full_env, capture_output=True,
                          text=True, errors="replace", timeout=timeout,
                          stdin=subprocess.DEVNULL)


def bounded(fn: Callable[[], T], timeout: float = TIMEOUT) -> T:
    """Call `fn` in a thread and fail if it does not return within `timeout` seconds."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise AssertionError(f"still running after {timeout} s (a hang)")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def fingerprint(paths: Iterable[Path]) -> dict[str, tuple[int, str]]:
    """(mode, sha256) of each regular file, to show that inputs are untouched."""
    out = {}
    for p in paths:
        st = os.lstat(p)
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[str(p)] = (st.st_mode, digest)
    return out


def no_internal_error(result: subprocess.CompletedProcess[str]) -> None:
    """A clear message, never a traceback or an "internal error"."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
