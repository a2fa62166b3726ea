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
_CHECKED = pytest.StashKey[int]()
REPO = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: pytest.Session) -> None:
    from tests.helpers import result_caches

    session.config.stash[_CACHES] = result_caches(REPO)


def _whole_suite(session: pytest.Session) -> bool:
    """This process collected every test module, with no -k/-m selection."""
    root = Path(__file__).resolve().parent
    collected = {Path(str(item.path)) for item in session.items}
    return (collected == set(root.rglob("test_*.py")) and not session.config.option.keyword
            and not session.config.option.markexpr)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _is_xdist_controller(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not _is_xdist_worker(config)


_SEEN = pytest.StashKey[dict[str, Any]]()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Under pytest-xdist: gather what each worker saw (its asserted codes, whether it
    collected the whole suite) into the controller."""
    out = getattr(node, "workeroutput", {}) or {}
    seen = node.config.stash.setdefault(_SEEN, {"firing": set(), "passing": set(),
                                                 "whole": True, "workers": 0})
    seen["firing"] |= set(out.get("seen_firing", ()))
    seen["passing"] |= set(out.get("seen_passing", ()))
    seen["whole"] = seen["whole"] and bool(out.get("whole", False))
    seen["workers"] += 1


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After any run: the repository gained no result cache (`.preflight_cache`); tests keep
    theirs in temp folders. After the whole suite, in whatever order (and in however many
    pytest-xdist workers) it ran: every rule was asserted both firing and not firing
    (`tests.helpers.assert_codes` records both). A gap fails the run."""
    from tests import helpers
    from tests.helpers import completeness_gaps, result_caches

    config = session.config
    if _is_xdist_worker(config):
        # The controller judges; a worker only reports what it saw.
        config.workeroutput["seen_firing"] = sorted(helpers.SEEN_FIRING)  # type: ignore[attr-defined]
        config.workeroutput["seen_passing"] = sorted(helpers.SEEN_PASSING)  # type: ignore[attr-defined]
        config.workeroutput["whole"] = _whole_suite(session)  # type: ignore[attr-defined]
        return
    gained = sorted(result_caches(REPO) - config.stash.get(_CACHES, set()))
    if gained:
        config.stash[_LITTER] = gained
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if _is_xdist_controller(config):
        seen = config.stash.get(_SEEN, None)
        if not seen or not seen["workers"] or not seen["whole"]:
            return
        helpers.SEEN_FIRING |= seen["firing"]
        helpers.SEEN_PASSING |= seen["passing"]
    elif not _whole_suite(session):
        return
    if exitstatus != 0 or session.testsfailed:
        return
    gaps = completeness_gaps()
    config.stash[_CHECKED] = len(helpers.SEEN_FIRING & helpers.SEEN_PASSING)
    if gaps:
        config.stash[_GAPS] = gaps
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _CHECKED in config.stash:
        terminalreporter.write_line(f"rule completeness: {config.stash[_CHECKED]} rules asserted "
                                    "firing and passing")
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
    from tests.media.factory import MediaFactory, shared_dir

    return MediaFactory(shared_dir(tmp_path_factory, "media"))
