"""How a stand-in behaves: credentials it accepts, where it listens, faults, URL mode."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from preflight.errors import ConfigError
from preflight.metastudio import ID_DOCUMENT_SLOTS, REQUIRED_SLOT
from preflight.sandbox.faults import FaultPlan


@dataclass
class SandboxConfig:
    """How the sandbox behaves. Credentials are whatever the client will use."""

    ak: str
    sk: str
    project_id: str
    token: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path | None = None
    journal: Path | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    advance_seconds: float = 0.5
    url_ttl: int = 24 * 3600
    #: ``all``: upload URLs for every slot; ``requested``: only for what the body asks for
    #: (training video; action video when counted; audio for AUDIO; ID cards and letter).
    urls: str = "all"
    #: The secret a ``POST /_sandbox/shutdown`` must carry (header ``X-Sandbox-Shutdown``) to
    #: stop the service; None: no such request is accepted.
    shutdown_token: str | None = None
    #: Serve an NA-whitelisted account: its review needs no ID documents (§1.3 R10) and the
    #: NA-only commands are accepted (acknowledged).
    na_whitelisted: bool = False


URL_MODES = ("all", "requested")
#: Slots a ``requested`` stand-in always issues URLs for (the review needs them, §1.3 R10).
ALWAYS_REQUESTED = (REQUIRED_SLOT, *ID_DOCUMENT_SLOTS)


def check_loopback(host: str) -> None:
    """:raises ConfigError: the host is not a loopback address."""
    if host == "localhost":
        return
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"the sandbox listens on loopback only (127.0.0.1, ::1), not {host!r}")
