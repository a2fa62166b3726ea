"""`preflight sandbox --background`: starts detached, answers requests, stops on --stop or
`kill PID`, and leaves no process, state file or temporary folder behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from preflight.metastudio.credentials import Credentials
from preflight.sandbox.background import alive, read_state
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.retry import NO_RETRY

CLI = [sys.executable, "-c", "import sys; from preflight.cli import main; sys.exit(main())"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "run").mkdir()
    (tmp_path / "tmp").mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("HUAWEICLOUD")}
    return {**base, "XDG_RUNTIME_DIR": str(tmp_path / "run"), "TMPDIR": str(tmp_path / "tmp"),
            "NO_COLOR": "1"}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "sandbox", *args], env=env, capture_output=True, text=True,
                          timeout=90, stdin=subprocess.DEVNULL)


def _started(out: str) -> tuple[str, int]:
    m = re.search(r"running in the background at (http://\S+) \(PID (\d+)\)", out)
    assert m, out
    return m.group(1), int(m.group(2))


def _credentials(out: str) -> Credentials:
    m = re.search(r"credentials: \. (\S+)", out)
    assert m, out
    values = dict(line.removeprefix("export ").split("=", 1)
                  for line in Path(m.group(1)).read_text(encoding="utf-8").splitlines())
    return Credentials(project_id=values["HUAWEICLOUD_SDK_PROJECT_ID"],
                       ak=values["HUAWEICLOUD_SDK_AK"], sk=values["HUAWEICLOUD_SDK_SK"])


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_background_start_request_stop(env: dict[str, str], tmp_path: Path) -> None:
    state = tmp_path / "run" / "preflight" / "sandbox.json"
    result = _cli(env, "--background")
    assert result.returncode == 0, result.stdout + result.stderr
    url, pid = _started(result.stdout)
    try:
        assert "stop it with: preflight sandbox --stop" in result.stdout
        assert f"kill {pid}" in result.stdout
        creds = _credentials(result.stdout)
        assert creds.sk not in result.stdout and creds.sk not in state.read_text("utf-8")
        saved = read_state(state)
        assert saved is not None and (saved.pid, saved.url) == (pid, url)
        with MetaStudioClient(url, creds, retry=NO_RETRY) as client:
            assert client.list().status == 200
        data_dir = Path(saved.data_dir)
        assert data_dir.parent == tmp_path / "tmp" and data_dir.is_dir()

        again = _cli(env, "--background")
        assert again.returncode == 2 and "already runs in the background" in again.stderr
        assert alive(pid)

        stopped = _cli(env, "--stop")
        assert stopped.returncode == 0 and f"stopped the sandbox at {url} (PID {pid})" in (
            stopped.stdout)
        assert _gone(pid)
        assert not state.exists() and not data_dir.exists()
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        nothing = _cli(env, "--stop")
        assert nothing.returncode == 0 and "no sandbox runs in the background" in nothing.stdout
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_kill_pid_stops_it_cleanly(env: dict[str, str], tmp_path: Path) -> None:
    result = _cli(env, "--background", "--data-dir", str(tmp_path / "sbx"))
    assert result.returncode == 0, result.stdout + result.stderr
    _, pid = _started(result.stdout)
    try:
        os.kill(pid, signal.SIGTERM)
        assert _gone(pid)
        assert not (tmp_path / "run" / "preflight" / "sandbox.json").exists()
        assert (tmp_path / "sbx" / "journal.jsonl").is_file()  # a folder you gave stays
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_start_that_fails_says_why(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _cli(env, "--background", "--port", str(port))
    assert result.returncode == 2 and "the sandbox did not start" in result.stderr
    assert "in use" in result.stderr.lower(), result.stderr
    assert _cli(env, "--stop", "--background").returncode == 2
