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
    """Forbid non-loopback connections and point $HOME at a temp dir."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the completeness checks last: they read what the other tests recorded."""
    items.sort(key=lambda item: item.get_closest_marker("completeness") is not None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "completeness: runs after every other test")


@pytest.fixture(scope="session")
def media_factory(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Build video/audio/image variants on the fly into a session temp dir (cached per session).

    ``media_factory.video(width=, height=, seconds=, fps=, rotation=, codec=, container=,
    background=, subject=, audio=)``, ``.audio(...)``, ``.image(...)``, ``.bomb_png()``, ``.pdf()``.
    """
    from tests.media.factory import MediaFactory

    return MediaFactory(tmp_path_factory.mktemp("media"))
