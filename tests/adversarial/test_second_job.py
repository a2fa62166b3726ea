"""The second job: two submit processes of one spec create one job; a kill -9 while holding
the lock leaves nothing that blocks the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from preflight.sandbox import Sandbox
from tests.adversarial.conftest import CLI, TIMEOUT
from tests.platform import posix_only
from tests.submit.conftest import make_manifest


def _job(tmp: Path) -> tuple[Path, Path]:
    man = make_manifest(tmp / "job", parts=4)
    pkg = tmp / "job" / "pkg"
    pkg.mkdir()
    man.save(pkg / "manifest.json")
    return Path(man.spec_path), pkg


def _cmd(sb: Sandbox, spec: Path, pkg: Path, *extra: str) -> list[str]:
    return [*CLI, "submit", str(spec), "--endpoint", sb.url, "--package-dir", str(pkg),
            "--state-dir", str(pkg.parent / "state"), *extra]


def _env(sb: Sandbox) -> dict[str, str]:
    return {**os.environ, "HUAWEICLOUD_SDK_AK": sb.config.ak,
            "HUAWEICLOUD_SDK_SK": sb.config.sk,
            "HUAWEICLOUD_SDK_PROJECT_ID": sb.config.project_id, "NO_COLOR": "1"}


def _created(sb: Sandbox) -> set[str]:
    """Jobs created and not deleted again (a rerun removes a job whose create it never saw
    answered)."""
    return {e["job_id"] for e in sb.journal()
            if e.get("op") == "create" and e.get("status") == 200} - sb.state.deleted


def _uploaded(sb: Sandbox) -> int:
    return sum(1 for e in sb.journal() if e.get("kind") == "put" and e.get("accepted"))


def test_two_concurrent_submits_create_one_job(sandbox: Sandbox, tmp_path: Path) -> None:
    spec, pkg = _job(tmp_path)
    sandbox.config.faults.slow_ms = 150  # the first run is still uploading when the second starts
    procs = [subprocess.Popen(_cmd(sandbox, spec, pkg, "--format", "json"), env=_env(sandbox),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    busy = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode == 2)
    assert "another preflight submit of this job is running" in busy
    assert len(_created(sandbox)) == 1
    # once the first has finished, a rerun continues the same job rather than making one
    sandbox.config.faults.slow_ms = 0
    again = subprocess.run(_cmd(sandbox, spec, pkg, "--format", "json"), env=_env(sandbox),
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert again.returncode == 0, again.stderr
    assert len(_created(sandbox)) == 1
    assert json.loads(again.stdout)["job_id"] in _created(sandbox)


@posix_only
def test_kill_9_while_holding_the_lock_does_not_block_the_next_run(sandbox: Sandbox,
                                                                   tmp_path: Path) -> None:
    spec, pkg = _job(tmp_path)
    sandbox.config.faults.slow_ms = 200
    proc = subprocess.Popen(_cmd(sandbox, spec, pkg), env=_env(sandbox),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT
    while not _uploaded(sandbox) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _uploaded(sandbox), "the first run never started uploading"
    locks = list((pkg.parent / "state" / "locks").glob("*.lock"))
    assert len(locks) == 1
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    sandbox.config.faults.slow_ms = 0
    rerun = subprocess.run(_cmd(sandbox, spec, pkg, "--wait", "--poll-interval", "0.05",
                                "--format", "json"),
                           env=_env(sandbox), capture_output=True, text=True, timeout=TIMEOUT)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["state"] == "JOB_SUCCESS"
    assert len(_created(sandbox)) == 1
