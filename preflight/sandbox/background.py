"""The state file of a stand-in started with ``preflight sandbox --background``, and stopping it.

One background stand-in per user: its PID, start identity, URL, project id, data folder, journal,
log and shutdown secret are kept in ``sandbox.json`` in the state folder —
``$XDG_RUNTIME_DIR/preflight`` when that is set, else ``preflight-<user name>`` in the temp
folder (owner-only; found without ``os.getuid``, which Windows lacks). The file names the
credentials file, never the credentials. The service writes it once it listens and removes it
when it stops.

``stop`` asks the service itself to stop (``POST /_sandbox/shutdown`` with the secret from the
file). Only when it does not answer is the process signalled, and only when it is proven to be
the process that wrote the file: same PID *and* same start time (Linux ``/proc``; elsewhere the
start time cannot be read without a platform library, so nothing is signalled there and the
PID is named instead). A PID the system gave to another program is never touched, and
``os.kill(pid, 0)`` (which terminates a process on Windows) is never used.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import signal
import socket
import stat
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from preflight.errors import PreflightError
from preflight.safeio import open_fd
from preflight.sandbox.server import SHUTDOWN_HEADER, SHUTDOWN_PATH

STATE_NAME = "sandbox.json"
LOG_NAME = "sandbox.log"
#: Seconds the shutdown request may take before the process is judged not answering.
ANSWER_TIMEOUT = 3.0


@dataclass(frozen=True)
class BackgroundState:
    """What a background stand-in wrote about itself (no credentials)."""

    pid: int
    url: str
    project_id: str
    data_dir: str
    journal: str
    log: str
    credentials: str | None = None
    started: float = 0.0
    #: The process's start identity (boot id and start tick, Linux), None where unreadable.
    identity: str | None = None
    #: The secret of the shutdown request (the file is owner-only).
    shutdown_token: str | None = None


def _user() -> str:
    """The login name, reduced to characters safe in a folder name."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no name for this uid (containers)
        name = ""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "user"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user state folder (created owner-only).

    :raises PreflightError: it cannot be created, or belongs to someone else.
    """
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and Path(runtime).is_dir():
        folder = Path(runtime) / "preflight"
    else:
        folder = Path(tempfile.gettempdir()) / f"preflight-{_user()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError as exc:
        raise PreflightError(f"cannot create the sandbox state folder {folder}: "
                             f"{exc.strerror or exc}") from None
    getuid = getattr(os, "getuid", None)  # POSIX: the folder must be ours and private
    if not stat.S_ISDIR(st.st_mode) or (getuid is not None and (
            st.st_uid != getuid() or st.st_mode & 0o077)):
        raise PreflightError(f"the sandbox state folder {folder} is not a private folder of "
                             "yours")
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
    fd = open_fd(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, follow=False)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(asdict(state), fh, indent=2)
    os.replace(tmp, path)


def remove_state(path: Path, pid: int) -> None:
    """Remove the state file if it still describes process `pid`."""
    state = read_state(path)
    if state is not None and state.pid == pid:
        path.unlink(missing_ok=True)


def process_identity(pid: int) -> str | None:
    """Who process `pid` is: boot id plus start time in clock ticks (Linux ``/proc``); None
    when it does not run, is a zombie, or the system offers no ``/proc``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="utf-8").strip()
    except (OSError, IndexError):
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return f"{boot}:{fields[19]}"


def is_ours(state: BackgroundState) -> bool:
    """Whether the process `state` names still runs and is the one that wrote it."""
    return state.identity is not None and process_identity(state.pid) == state.identity


def still_running(state: BackgroundState) -> bool:
    """Whether the stand-in `state` describes still runs: proven by its start identity where
    that was recorded, else judged by its URL still taking connections."""
    return is_ours(state) if state.identity is not None else listening(state)


def listening(state: BackgroundState) -> bool:
    """Whether something accepts connections at the state's URL."""
    parts = urlsplit(state.url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80),
                                      timeout=ANSWER_TIMEOUT):
            return True
    except OSError:
        return False


def request_shutdown(state: BackgroundState) -> bool:
    """Ask the service to stop; True when it accepted (HTTP 202)."""
    if not state.shutdown_token:
        return False
    req = urllib.request.Request(state.url.rstrip("/") + SHUTDOWN_PATH, data=b"",
                                 method="POST", headers={SHUTDOWN_HEADER: state.shutdown_token})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    try:
        with opener.open(req, timeout=ANSWER_TIMEOUT) as resp:
            return int(resp.status) == 202
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _wait(done: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop(state: BackgroundState, path: Path, *, timeout: float = 15.0) -> str:
    """Stop the stand-in `state` describes; how: ``requested`` (it stopped on request),
    ``signalled`` (it did not answer and was proven ours), ``gone`` (nothing runs there).

    :raises PreflightError: it does not stop, or does not answer and cannot be proven ours.
    """
    if request_shutdown(state):
        # done when the process is gone (after its clean-up), or where that cannot be seen,
        # when it has removed its state file and closed its port
        if _wait((lambda: not is_ours(state)) if state.identity is not None else
                 (lambda: read_state(path) != state and not listening(state)), timeout):
            return "requested"
        raise PreflightError(f"the sandbox at {state.url} (PID {state.pid}) accepted the stop "
                             f"request but still runs after {timeout:.0f} s")
    if not is_ours(state):
        if state.identity is None and listening(state):
            raise PreflightError(
                f"the sandbox at {state.url} does not answer the stop request, and this system "
                f"cannot prove that PID {state.pid} is still the sandbox; stop it yourself")
        return "gone"
    try:
        os.kill(state.pid, signal.SIGTERM)
        if _wait(lambda: not is_ours(state), timeout):
            return "signalled"
        kill = getattr(signal, "SIGKILL", None)
        if kill is not None and is_ours(state):
            os.kill(state.pid, kill)
            if _wait(lambda: not is_ours(state), 5.0):
                return "signalled"
    except ProcessLookupError:  # it ended between the proof and the signal
        return "signalled"
    raise PreflightError(f"the sandbox (PID {state.pid}) does not stop")


def detach_options() -> dict[str, Any]:
    """``subprocess.Popen`` options that detach a child from this console and session:
    a new session on POSIX, a new process group without a console on Windows."""
    import subprocess

    if os.name == "nt":
        flags = (getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
                 | getattr(subprocess, "DETACHED_PROCESS", 0))
        return {"creationflags": flags}
    return {"start_new_session": True}


def launch(argv: list[str], state_path: Path, *, timeout: float = 60.0) -> BackgroundState:
    """Start `argv` (a ``preflight sandbox … --state-file state_path`` command) detached, its
    output in the log beside the state file, and wait until it has written its state.

    :raises PreflightError: a stand-in already runs, or this one did not start (the log's
        last lines say why).
    """
    import subprocess

    running = read_state(state_path)
    if running is not None and still_running(running):
        raise PreflightError(f"a sandbox already runs in the background at {running.url} "
                             f"(PID {running.pid}); stop it first: preflight sandbox --stop")
    state_path.unlink(missing_ok=True)
    log = state_path.with_name(LOG_NAME)
    fd = open_fd(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, follow=False)
    with os.fdopen(fd, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, close_fds=True, **detach_options())
    deadline = time.monotonic() + timeout
    while True:
        state = read_state(state_path)
        if state is not None and state.pid == proc.pid:
            proc.returncode = 0  # it lives on by design: no "still running" warning at exit
            return state
        code = proc.poll()
        if code is not None or time.monotonic() > deadline:
            if code is None:
                proc.kill()
                proc.wait()
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            detail = "\n".join(tail) or "(no output)"
            raise PreflightError(f"the sandbox did not start (see {log}):\n{detail}")
        time.sleep(0.05)


__all__ = ["LOG_NAME", "STATE_NAME", "BackgroundState", "detach_options", "is_ours", "launch",
           "listening", "process_identity", "read_state", "remove_state", "request_shutdown",
           "state_dir", "still_running", "stop", "write_state"]
