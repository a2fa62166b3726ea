"""`preflight sandbox --background`: starts detached, answers requests, stops on --stop or
`kill PID`, and leaves no process, state file or temporary folder behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from preflight.metastudio.credentials import Credentials
from preflight.sandbox import running
from preflight.sandbox.background import (
    BackgroundState,
    detach_options,
    process_identity,
    read_state,
    request_shutdown,
    state_dir,
    stop,
    write_state,
)
from preflight.submitter.client import MetaStudioClient
from preflight.submitter.retry import NO_RETRY

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="the tests watch processes through /proc (Linux)")

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


def alive(pid: int) -> bool:
    """Whether process `pid` runs (not a zombie)."""
    return process_identity(pid) is not None


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
        assert "by a signal" not in stopped.stdout  # it stopped on request
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


def test_stop_is_a_request_the_journal_records(env: dict[str, str], tmp_path: Path) -> None:
    result = _cli(env, "--background", "--data-dir", str(tmp_path / "sbx"), "--na-whitelisted",
                  "--advance-seconds", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    url, pid = _started(result.stdout)
    try:
        with MetaStudioClient(url, _credentials(result.stdout), retry=NO_RETRY) as client:
            data = client.create({"name": "na"}).data  # an NA account: no ID documents
            assert httpx.put(data["training_video_upload_url"][0], content=b"v", headers={
                "Content-Type": "application/octet-stream"}).status_code == 200
            client.command(data["job_id"], "CONFIRM_MULTIPART_UPLOADED")
            client.command(data["job_id"], "SUBMITVERIFYING")
            assert client.show(data["job_id"]).data["state"] == "JOB_SUCCESS"
        saved = read_state(tmp_path / "run" / "preflight" / "sandbox.json")
        assert saved is not None and saved.shutdown_token and saved.identity
        assert saved.identity == process_identity(pid)
        mode = (tmp_path / "run" / "preflight" / "sandbox.json").stat().st_mode
        assert mode & 0o077 == 0
        stopped = _cli(env, "--stop")
        assert stopped.returncode == 0 and "by a signal" not in stopped.stdout
        assert _gone(pid)
        journal = [json.loads(line) for line in
                   (tmp_path / "sbx" / "journal.jsonl").read_text("utf-8").splitlines()]
        assert [e["accepted"] for e in journal if e.get("kind") == "shutdown"] == [True]
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def _bystander(tmp_path: Path) -> subprocess.Popen[bytes]:
    """A process whose command line names preflight and sandbox (like `tail -f
    .../preflight/sandbox.log`)."""
    log = tmp_path / "run" / "preflight" / "sandbox.log"
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    return subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(120)",
                             "tail", "-f", str(log)])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize("identity", [None, "another-boot:12345"])
def test_a_planted_pid_is_never_killed(env: dict[str, str], tmp_path: Path,
                                       identity: str | None) -> None:
    """A state file naming another process (PID reused, or written by hand): --stop finds
    nothing answering at the URL and the process is not the one recorded, so it stays."""
    proc = _bystander(tmp_path)
    try:
        state = tmp_path / "run" / "preflight" / "sandbox.json"
        write_state(state, BackgroundState(
            pid=proc.pid, url=f"http://127.0.0.1:{_closed_port()}", project_id="p",
            data_dir=str(tmp_path), journal="j", log="l", identity=identity,
            shutdown_token="t" * 20))
        result = _cli(env, "--stop")
        assert result.returncode == 0, result.stderr
        assert "was not running; forgot it" in result.stdout
        time.sleep(0.2)
        assert proc.poll() is None and alive(proc.pid)
        assert not state.exists()
    finally:
        proc.kill()
        proc.wait()


def test_a_silent_process_proven_ours_is_signalled(tmp_path: Path) -> None:
    """No answer to the request, but PID and start time match what was recorded: SIGTERM."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        state = BackgroundState(pid=proc.pid, url=f"http://127.0.0.1:{_closed_port()}",
                                project_id="p", data_dir="d", journal="j", log="l",
                                identity=process_identity(proc.pid), shutdown_token="t" * 20)
        assert state.identity is not None
        assert stop(state, tmp_path / "sandbox.json", timeout=10) == "signalled"
        assert proc.wait(timeout=10) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_shutdown_needs_the_secret(tmp_path: Path) -> None:
    with running(data_dir=tmp_path / "sb", shutdown_token="s" * 32) as sb:
        base = BackgroundState(pid=os.getpid(), url=sb.url, project_id="p", data_dir="d",
                               journal="j", log="l")
        assert not request_shutdown(base)  # no secret: nothing sent
        assert not request_shutdown(BackgroundState(**{**base.__dict__,
                                                      "shutdown_token": "x" * 32}))
        with MetaStudioClient(sb.url, sb.credentials, retry=NO_RETRY) as client:
            assert client.list().status == 200  # still serving
        assert request_shutdown(BackgroundState(**{**base.__dict__,
                                                  "shutdown_token": "s" * 32}))
        kinds = [e["accepted"] for e in sb.journal() if e.get("kind") == "shutdown"]
        assert kinds == [False, True]
    with running(data_dir=tmp_path / "sb2") as sb:  # no secret configured: no such route
        assert not request_shutdown(BackgroundState(pid=1, url=sb.url, project_id="p",
                                                    data_dir="d", journal="j", log="l",
                                                    shutdown_token="s" * 32))


def test_state_folder_without_getuid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "getuid", raising=False)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr("getpass.getuser", lambda: "crew member/1")
    folder = state_dir({})
    assert folder == tmp_path / "preflight-crew_member_1" and folder.is_dir()


def test_detached_on_every_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    assert detach_options() == {"start_new_session": True}
    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.setattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200, raising=False)
    monkeypatch.setattr(subprocess, "DETACHED_PROCESS", 0x8, raising=False)
    assert detach_options() == {"creationflags": 0x208}
