"""Shared fixtures. Tests never reach beyond loopback and never write to $HOME."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise AssertionError(f"test tried a non-loopback connection to {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _guard(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Forbid non-loopback connections, point $HOME at a temp dir and run in an empty temp
    folder (a check of loose files keeps its result cache in the current folder: never the
    repository's)."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    # One cache folder for the whole run (the face detector built once, then loaded by every
    # process a test starts), never the user's.
    xdg = tmp_path_factory.getbasetemp() / "xdg-cache"
    xdg.mkdir(exist_ok=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    monkeypatch.delenv("HUAWEICLOUD_SDK_AK", raising=False)
    monkeypatch.delenv("HUAWEICLOUD_SDK_SK", raising=False)
    monkeypatch.delenv("HUAWEICLOUD_SDK_PROJECT_ID", raising=False)
    yield


@pytest.fixture
def write_spec(tmp_path: Path) -> Any:
    """Write a spec (TOML text) into tmp_path and return its path."""

    def write(text: str, name: str = "avatar.toml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return write


_GAPS = pytest.StashKey[list[str]]()
_CACHES = pytest.StashKey[set[Path]]()
_LITTER = pytest.StashKey[list[Path]]()
REPO = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: pytest.Session) -> None:
    from tests.helpers import result_caches

    session.config.stash[_CACHES] = result_caches(REPO)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After any run: the repository gained no result cache (`.preflight_cache`); tests keep
    theirs in temp folders. After the whole suite, in whatever order it ran: every rule was
    asserted both firing and not firing (`tests.helpers.assert_codes` records both). A gap
    fails the run."""
    from tests.helpers import completeness_gaps, result_caches

    gained = sorted(result_caches(REPO) - session.config.stash.get(_CACHES, set()))
    if gained:
        session.config.stash[_LITTER] = gained
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    root = Path(__file__).resolve().parent
    collected = {Path(str(item.path)) for item in session.items}
    whole = (collected == set(root.rglob("test_*.py")) and not session.config.option.keyword
             and not session.config.option.markexpr)
    if not whole or exitstatus != 0 or session.testsfailed:
        return
    gaps = completeness_gaps()
    if gaps:
        session.config.stash[_GAPS] = gaps
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(_GAPS, []):
        terminalreporter.write_line(f"completeness FAILED: {line}", red=True)
    for path in config.stash.get(_LITTER, []):
        terminalreporter.write_line(f"FAILED: the tests left a result cache in the repository: "
                                    f"{path} (write caches into tmp_path)", red=True)


@pytest.fixture(scope="session")
def media_factory(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Build video/audio/image variants on the fly into a session temp dir (cached per session).

    ``media_factory.video(width=, height=, seconds=, fps=, rotation=, codec=, container=,
    background=, subject=, audio=)``, ``.audio(...)``, ``.image(...)``, ``.bomb_png()``, ``.pdf()``.
    """
    from tests.media.factory import MediaFactory

    return MediaFactory(tmp_path_factory.mktemp("media"))
