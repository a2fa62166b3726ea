"""JSON report, schema `preflight.report/1`."""

from __future__ import annotations

import json
from typing import Any

from preflight.model import Report
from preflight.report import RenderOptions
from preflight.report.text import unpaired

SCHEMA = "preflight.report/1"


def strict(value: Any) -> Any:
    """`value` (JSON-ready) with every string, keys included, free of surrogates: a byte of a
    name that is not UTF-8 becomes the text ``\\xff``, so the output is valid UTF-8 that any
    strict parser reads (JSON escapes control characters itself)."""
    if isinstance(value, str):
        return unpaired(value)
    if isinstance(value, dict):
        return {strict(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    return value


def as_dict(report: Report, version: str) -> dict[str, Any]:
    """The report as the documented JSON object."""
    return {
        "schema": SCHEMA,
        "tool": {"name": "metastudio-preflight", "version": version},
        "edition": report.edition,
        "findings": [strict(f.to_dict()) for f in report.findings],
        "summary": report.summary(),
    }


def render(report: Report, options: RenderOptions) -> str:
    """Indented JSON with a trailing newline."""
    return json.dumps(as_dict(report, options.version), indent=2, ensure_ascii=False,
                      default=str) + "\n"
