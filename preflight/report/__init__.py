"""Formatters: pure functions `Report -> str`, chosen by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType

from preflight.model import Report, RuleInfo


@dataclass(frozen=True)
class RenderOptions:
    """How to render: colour (TTY only), quiet (errors only in text), tool version."""

    color: bool = False
    quiet: bool = False
    version: str = ""
    #: Folder that file locations are made relative to (SARIF, GitHub annotations); None = as is.
    root: str | None = None
    #: The rules to describe (SARIF descriptors, JUnit cases), by code; empty = none known.
    rules: Mapping[str, RuleInfo] = field(default_factory=lambda: MappingProxyType({}))


Formatter = Callable[[Report, RenderOptions], str]


#: Formatter modules by format name; each has `render(report, options) -> str`.
_MODULES = {
    "text": "preflight.report.text", "json": "preflight.report.json_format",
    "sarif": "preflight.report.sarif", "junit": "preflight.report.junit",
    "github": "preflight.report.github", "html": "preflight.report.html",
}


def _formatter(name: str) -> Formatter:
    fn: Formatter = importlib.import_module(_MODULES[name]).render
    return fn


def formatters() -> dict[str, Formatter]:
    """Every formatter by name."""
    return {name: _formatter(name) for name in _MODULES}


#: What `--format` accepts: every formatter plus `auto`.
AUTO = "auto"


def format_names() -> tuple[str, ...]:
    """Formatter names plus ``auto`` (resolved by `resolve_auto`)."""
    return (*formatters(), AUTO)


def resolve_auto(environ: Mapping[str, str], tty: bool) -> tuple[str, bool]:
    """The format and colour `auto` stands for: GitHub annotations under GitHub Actions,
    coloured text on a terminal (unless NO_COLOR is set), plain text otherwise."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github", False
    return "text", tty and "NO_COLOR" not in environ


def relative_path(path: str, root: str | None) -> str | None:
    """`path` relative to `root` with forward slashes, or None when it lies outside `root`."""
    if root is None:
        return None
    try:
        return PurePath(path).relative_to(root).as_posix()
    except ValueError:
        return None


def render(report: Report, fmt: str, options: RenderOptions | None = None) -> str:
    """Render a report with the named formatter.

    :raises ValueError: unknown format name.
    """
    if fmt not in _MODULES:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(_MODULES)}")
    return _formatter(fmt)(report, options or RenderOptions())


__all__ = [
    "AUTO", "Formatter", "RenderOptions", "format_names", "formatters", "relative_path", "render",
    "resolve_auto",
]
