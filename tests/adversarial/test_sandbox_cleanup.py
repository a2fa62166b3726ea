"""The stand-in service leaves nothing behind: a refused --host writes nothing, and a SIGTERM
removes its own temporary folder with the throwaway credentials."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.adversarial.conftest import CLI, TIMEOUT
from tests.platform import posix_only


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUAWEICLOUD")}
    return {**env, "TMPDIR": str(tmp)}


def test_refused_host_leaves_no_folder(tmp_path: Path) -> None:
    r = subprocess.run([*CLI, "sandbox", "--host", "0.0.0.0"], capture_output=True, text=True,
                       env=_env(tmp_path), timeout=TIMEOUT)
    assert r.returncode == 2 and "loopback" in r.stderr
    assert list(tmp_path.iterdir()) == []


@posix_only
def test_sigterm_removes_the_temporary_folder_and_credentials(tmp_path: Path) -> None:
    proc = subprocess.Popen([*CLI, "sandbox", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "listening on" in line:
            break
    made = list(tmp_path.glob("preflight-sandbox-*"))
    assert len(made) == 1 and (made[0] / "credentials.env").is_file(), lines
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=TIMEOUT)
    assert not made[0].exists()
