"""A local MetaStudio stand-in: ``running()`` starts one in-process on a free loopback port.

    >>> with running() as sb:
    ...     sb.url, sb.credentials  # endpoint and throwaway AK/SK for the client
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from preflight.metastudio.credentials import Credentials
from preflight.sandbox.config import SandboxConfig, check_loopback
from preflight.sandbox.faults import FAULT_KINDS, FaultPlan
from preflight.sandbox.server import Handler, SandboxServer
from preflight.sandbox.store import SandboxState

__all__ = ["FAULT_KINDS", "FaultPlan", "Sandbox", "SandboxConfig", "config_from_env",
           "read_journal", "running", "throwaway_config", "write_credentials"]


def throwaway_config(**overrides: Any) -> SandboxConfig:
    """A config with random AK/SK and project id (for demos and tests)."""
    values: dict[str, Any] = {
        "ak": "SBX" + secrets.token_hex(8).upper(),
        "sk": secrets.token_urlsafe(30),
        "project_id": secrets.token_hex(16),
    }
    values.update(overrides)
    return SandboxConfig(**values)


def config_from_env(environ: Mapping[str, str], **settings: Any) -> tuple[SandboxConfig, bool]:
    """A config with the AK/SK (and token) of ``HUAWEICLOUD_SDK_*`` in `environ`, or throwaway
    ones when they are unset; the flag says whether they were made up. `settings` are the
    other `SandboxConfig` fields (a ``project_id`` of None means a random one)."""
    ak = environ.get("HUAWEICLOUD_SDK_AK", "").strip()
    sk = environ.get("HUAWEICLOUD_SDK_SK", "").strip()
    made_up = not (ak and sk)
    values = dict(settings)
    if not values.get("project_id"):
        values["project_id"] = secrets.token_hex(16)
    values.setdefault("token", environ.get("HUAWEICLOUD_SDK_TOKEN") or None)
    if made_up:
        return throwaway_config(**values), True
    return SandboxConfig(ak=ak, sk=sk, **values), False


def write_credentials(folder: Path, config: SandboxConfig) -> Path:
    """Write ``credentials.env`` (owner-only) exporting the config's AK/SK and project id."""
    from preflight.safeio import open_fd

    path = folder / "credentials.env"
    fd = open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, follow=False)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"export HUAWEICLOUD_SDK_AK={config.ak}\nexport HUAWEICLOUD_SDK_SK={config.sk}\n"
                 f"export HUAWEICLOUD_SDK_PROJECT_ID={config.project_id}\n")
    return path


class Sandbox:
    """The server plus its serving thread."""

    def __init__(self, config: SandboxConfig):
        check_loopback(config.host)
        self.config = config
        self._tmp: str | None = None
        if config.data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="preflight-sandbox-")
            data_dir = Path(self._tmp)
        else:
            data_dir = Path(config.data_dir)
            data_dir.mkdir(parents=True, exist_ok=True)
        self.state = SandboxState(config, data_dir)
        handler = type("BoundHandler", (Handler,), {"sandbox": self.state})
        self.server = SandboxServer((config.host, config.port), handler)
        host, port = str(self.server.server_address[0]), int(self.server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        self.state.base_url = self.url
        self._thread: threading.Thread | None = None
        self._in_loop = False  # serve_forever runs on a caller's thread

    @property
    def credentials(self) -> Credentials:
        """Client credentials this sandbox accepts (AK/SK)."""
        return Credentials(project_id=self.config.project_id, ak=self.config.ak,
                           sk=self.config.sk)

    @property
    def journal_path(self) -> Path:
        """The JSON-lines journal."""
        return self.state.journal_path

    @property
    def data_dir(self) -> Path:
        """Where uploads and the journal go."""
        return self.state.data_dir

    def journal(self) -> list[dict[str, Any]]:
        """Every journal entry so far."""
        return read_journal(self.journal_path)

    def start(self) -> Sandbox:
        """Serve on a background thread."""
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="preflight-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until ``stop()`` or KeyboardInterrupt."""
        try:
            self._in_loop = True
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self._in_loop = False

    def stop(self) -> None:
        """Stop serving and release the port (and the temp dir it created)."""
        if self._thread is not None or self._in_loop:
            # Only a loop that runs can be told to stop: shutdown() waits for it, forever if a
            # signal (Ctrl-C, SIGTERM) ended serve_forever on this thread, or before it began.
            self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.state.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running(config: SandboxConfig | None = None, **overrides: Any) -> Iterator[Sandbox]:
    """Start a sandbox in-process (port 0 = a free port) and stop it on exit."""
    sb = Sandbox(config or throwaway_config(**overrides))
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Parse a journal file (a partial last line is skipped)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
