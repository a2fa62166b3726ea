"""Formatters: pure functions `Report -> str`, chosen by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from preflight.model import Report


@dataclass(frozen=True)
class RenderOptions:
    """How to render: colour (TTY only), quiet (errors only in text), tool version."""

    color: bool = False
    quiet: bool = False
    version: str = ""


Formatter = Callable[[Report, RenderOptions], str]


def formatters() -> dict[str, Formatter]:
    """Every formatter by name."""
    from preflight.report import json_format, text

    return {"text": text.render, "json": json_format.render}


def render(report: Report, fmt: str, options: RenderOptions | None = None) -> str:
    """Render a report with the named formatter.

    :raises ValueError: unknown format name.
    """
    table = formatters()
    if fmt not in table:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(table)}")
    return table[fmt](report, options or RenderOptions())


__all__ = ["Formatter", "RenderOptions", "formatters", "render"]
