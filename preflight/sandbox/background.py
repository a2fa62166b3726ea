"""The state file of a stand-in started with ``preflight sandbox --background``.

One background stand-in per user: its PID, URL, project id, data folder, journal and log are
kept in ``sandbox.json`` in the state folder — ``$XDG_RUNTIME_DIR/preflight`` when that is set,
else ``preflight-<uid>`` in the temp folder (owner-only). The file names the credentials file,
never the credentials. The service writes it once it listens and removes it when it stops;
``preflight sandbox --stop`` reads it to find the process.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from preflight.errors import PreflightError

STATE_NAME = "sandbox.json"
LOG_NAME = "sandbox.log"


@dataclass(frozen=True)
class BackgroundState:
    """What a background stand-in wrote about itself (no secrets)."""

    pid: int
    url: str
    project_id: str
    data_dir: str
    journal: str
    log: str
    credentials: str | None = None
    started: float = 0.0


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user state folder (created owner-only).

    :raises PreflightError: it cannot be created, or belongs to someone else.
    """
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and Path(runtime).is_dir():
        folder = Path(runtime) / "preflight"
    else:
        folder = Path(tempfile.gettempdir()) / f"preflight-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError as exc:
        raise PreflightError(f"cannot create the sandbox state folder {folder}: "
                             f"{exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise PreflightError(f"the sandbox state folder {folder} is not a folder of yours")
    return folder


def read_state(path: Path) -> BackgroundState | None:
    """The state in `path`, or None when there is none (or it is unreadable)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return BackgroundState(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_state(path: Path, state: BackgroundState) -> None:
    """Write the state atomically, owner-only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(state), fh, indent=2)
    os.replace(tmp, path)


def remove_state(path: Path, pid: int) -> None:
    """Remove the state file if it still describes process `pid`."""
    state = read_state(path)
    if state is not None and state.pid == pid:
        path.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1]
        return fields.split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def is_sandbox(pid: int) -> bool:
    """Whether `pid` looks like a ``preflight sandbox`` process (guards against a PID the
    system gave to another program since); True where that cannot be read."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return alive(pid)
    return b"sandbox" in cmdline and b"preflight" in cmdline


def stop(state: BackgroundState, *, timeout: float = 15.0) -> bool:
    """Send SIGTERM and wait until the process is gone (SIGKILL after `timeout`).

    Returns False when it was not running.
    """
    if not alive(state.pid) or not is_sandbox(state.pid):
        return False
    try:
        os.kill(state.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    killed = False
    deadline = time.monotonic() + timeout
    while alive(state.pid):
        if time.monotonic() > deadline:
            if killed:
                raise PreflightError(f"the sandbox (PID {state.pid}) does not stop")
            try:
                os.kill(state.pid, signal.SIGKILL)
            except ProcessLookupError:
                break
            killed, deadline = True, time.monotonic() + 5.0
        time.sleep(0.05)
    return True


__all__ = ["LOG_NAME", "STATE_NAME", "BackgroundState", "alive", "is_sandbox", "read_state",
           "remove_state", "state_dir", "stop", "write_state"]
