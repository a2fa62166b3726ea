"""`preflight watch` as a process: one line per verdict, a summary and exit 0 on SIGTERM, and
on a restart the takes already there listed from the result cache."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.watch.test_watch import CONFIG

#: A guard against a hang only (the order of the lines is what is checked).
PATIENCE = 120.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")


class Watch:
    """A running `preflight watch` and its output lines."""

    def __init__(self, folder: Path, *args: str):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "preflight.cli", "watch", str(folder), "--quiet-window",
             "0.2", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, cwd=folder.parent)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(s,), daemon=True)
                        for s in (self.proc.stdout, self.proc.stderr)]
        for t in self.readers:
            t.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> str:
        end = time.monotonic() + PATIENCE
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}; seen: {self.seen}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=PATIENCE)
        for t in self.readers:
            t.join(timeout=PATIENCE)
        for s in (self.proc.stdout, self.proc.stderr):
            if s is not None:
                s.close()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=PATIENCE)


def test_lines_summary_on_sigterm_and_listing_on_restart(media_factory: Any,
                                                         tmp_path: Path) -> None:
    (tmp_path / "preflight.toml").write_text(CONFIG, encoding="utf-8")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    w = Watch(shoot)
    try:
        w.wait_for("file-system events:")
        shutil.copy(media_factory.video(width=360, height=640), shoot / "take1.mp4")
        line = w.wait_for("take1.mp4  NOT")
        assert "NOT READY  VID006 " in line and "fix: preflight fix " in line
        assert w.stop() == 0
        assert w.wait_for("watched 1 take: 0 READY, 1 NOT READY, 0 still copying")
    finally:
        w.close()
    again = Watch(shoot)
    try:
        line = again.wait_for("take1.mp4")
        assert "NOT READY" in line and line.endswith("(cached)")
        assert again.stop() == 0
    finally:
        again.close()


def test_a_missing_folder_or_a_file_exits_2_naming_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from preflight.cli import cli

    missing = CliRunner().invoke(cli, ["watch", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    (tmp_path / "take.mp4").write_bytes(b"")
    a_file = CliRunner().invoke(cli, ["watch", str(tmp_path / "take.mp4")])
    assert a_file.exit_code == 2 and "is not a folder" in a_file.output
